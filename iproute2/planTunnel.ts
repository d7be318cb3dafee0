/**
 * The planner of one tunnel end: given the end as it should be and what the router reported
 * (`ip -j -d link show`, `ip -j addr show`), which commands bring the router to the goal? Pure: no
 * SSH here, tested with tables and recorded router output.
 *
 * @packageDocumentation
 */
import type { AddressState, LinkState } from "./parseIp";
import {
  addressAdd,
  addressFlush,
  linkSet,
  tunnelChange,
  tunnelCreate,
  tunnelRemove,
  type TunnelAddress,
  type TunnelEndSpec,
} from "./tunnelCommands";
import type { RemoteCommand } from "../transport/script";

/** What one router reported, as far as tunnels are concerned. */
export interface RouterObservation {
  links: LinkState[];
  addresses: AddressState[];
  /** Whether the kernel can do GRE now (ip_gre loaded or built in). */
  greAvailable: boolean;
}

/** The device an end is named after, as the router has it. */
export interface ObservedEnd {
  link?: LinkState;
  /** Its IPv4 addresses. */
  addresses: TunnelAddress[];
}

/** What to do on one router. */
export type EndPlan =
  | { action: "none" }
  | { action: "create"; commands: RemoteCommand[] }
  | { action: "adopt"; commands: RemoteCommand[] }
  | { action: "repair"; commands: RemoteCommand[]; differences: string[] }
  | { action: "remove"; commands: RemoteCommand[] }
  | { action: "conflict"; reason: string };

/** The device called `name` and its IPv4 addresses. */
export function observeEnd(name: string, router: RouterObservation): ObservedEnd {
  return {
    link: router.links.find((l) => l.name === name),
    addresses: router.addresses
      .filter((a) => a.device === name && a.family === "inet")
      .map((a) =>
        a.peer === undefined
          ? { local: a.local, prefixLength: a.prefixLength }
          : { local: a.local, peer: a.peer, prefixLength: a.prefixLength },
      ),
  };
}

function describeKey(key: number | undefined): string {
  return key === undefined ? "none" : String(key);
}

function describeAddress(a: TunnelAddress): string {
  return a.peer === undefined
    ? `${a.local}/${a.prefixLength}`
    : `${a.local} peer ${a.peer}${a.prefixLength === 32 ? "" : `/${a.prefixLength}`}`;
}

function describeAddresses(list: TunnelAddress[]): string {
  return list.length === 0 ? "none" : list.map(describeAddress).join(", ");
}

function sameAddresses(a: TunnelAddress[], b: TunnelAddress[]): boolean {
  const key = (x: TunnelAddress) => describeAddress(x);
  const left = a.map(key).sort();
  const right = b.map(key).sort();
  return left.length === right.length && left.every((v, i) => v === right[i]);
}

/** How the tunnel parameters (what `ip tunnel` sets) differ, as "remote is X, wanted Y" phrases. */
export function tunnelParameterDifferences(spec: TunnelEndSpec, link: LinkState): string[] {
  const differences: string[] = [];
  if (link.local !== spec.local) differences.push(`local is ${link.local}, wanted ${spec.local}`);
  if (link.remote !== spec.remote) differences.push(`remote is ${link.remote}, wanted ${spec.remote}`);
  if (link.ikey !== spec.ikey)
    differences.push(`ikey is ${describeKey(link.ikey)}, wanted ${describeKey(spec.ikey)}`);
  if (link.okey !== spec.okey)
    differences.push(`okey is ${describeKey(link.okey)}, wanted ${describeKey(spec.okey)}`);
  if (link.ttl !== spec.ttl) differences.push(`ttl is ${link.ttl}, wanted ${spec.ttl}`);
  return differences;
}

/**
 * Every way the end differs from the spec, each a short phrase naming the device, e.g.
 * `gre1 is missing`, `gre1 is down`, `gre1 ikey is 7, wanted 1`. Empty when the end matches.
 */
export function endDifferences(spec: TunnelEndSpec, end: ObservedEnd): string[] {
  const { link } = end;
  if (!link) return [`${spec.name} is missing`];
  if (link.kind !== "gre") return [`${spec.name} is a ${link.kind ?? "plain"} device, not a GRE tunnel`];
  const differences = tunnelParameterDifferences(spec, link).map((d) => `${spec.name} ${d}`);
  if (!sameAddresses(spec.addresses, end.addresses)) {
    differences.push(
      `${spec.name} addresses are ${describeAddresses(end.addresses)}, wanted ${describeAddresses(spec.addresses)}`,
    );
  }
  if (spec.mtu !== undefined && link.mtu !== spec.mtu)
    differences.push(`${spec.name} mtu is ${link.mtu}, wanted ${spec.mtu}`);
  if (link.up !== spec.up)
    differences.push(`${spec.name} is ${link.up ? "up" : "down"}, wanted ${spec.up ? "up" : "down"}`);
  return differences;
}

/** Commands that turn an existing GRE device into `spec` (the kernel keeps its ifindex if it can). */
function convergeCommands(spec: TunnelEndSpec, link: LinkState, addresses: TunnelAddress[]): RemoteCommand[] {
  // `ip tunnel change` cannot take a key away; only a new device can lose it.
  const keyRemoved =
    (link.ikey !== undefined && spec.ikey === undefined) ||
    (link.okey !== undefined && spec.okey === undefined);
  if (keyRemoved) {
    return [...tunnelRemove(spec.name), ...tunnelCreate(spec)];
  }
  const commands: RemoteCommand[] = [];
  if (tunnelParameterDifferences(spec, link).length > 0) commands.push(tunnelChange(spec));
  if (!sameAddresses(spec.addresses, addresses)) {
    commands.push(addressFlush(spec.name), ...spec.addresses.map((a) => addressAdd(spec.name, a)));
  }
  const mtuChange = spec.mtu !== undefined && link.mtu !== spec.mtu ? spec.mtu : undefined;
  if (mtuChange !== undefined || link.up !== spec.up) commands.push(linkSet(spec.name, spec.up, mtuChange));
  return commands;
}

/**
 * Plans one end. In `create` mode an existing device is adopted only when it is a GRE tunnel with
 * the same parameters (made by hand with the field note's commands, or by a create that died half
 * way); anything else with that name is a conflict that shows the difference. In `converge` mode
 * (update, repair) the device is ours and is changed to match.
 */
export function planEnd(
  spec: TunnelEndSpec,
  router: RouterObservation,
  mode: "create" | "converge",
): EndPlan {
  const end = observeEnd(spec.name, router);
  const collisions = findCollisions(spec, router);
  if (collisions.length > 0) {
    const other = collisions[0];
    return {
      action: "conflict",
      reason:
        `${other.name} already carries GRE from ${spec.remote} to ${spec.local} with ${spec.ikey === undefined ? "no key" : `key ${spec.ikey}`}; ` +
        `the kernel matches incoming GRE packets on local address, remote address and key, so ${spec.name} needs a different key`,
    };
  }
  const { link } = end;
  if (!link) return { action: "create", commands: tunnelCreate(spec) };
  if (link.kind !== "gre") {
    return {
      action: "conflict",
      reason: `a device named ${spec.name} already exists and is a ${link.kind ?? "plain"} device, not a GRE tunnel; choose another name or remove it`,
    };
  }
  const parameters = tunnelParameterDifferences(spec, link);
  if (mode === "create") {
    if (parameters.length > 0) {
      return {
        action: "conflict",
        reason: `a different GRE tunnel named ${spec.name} already exists: ${parameters.join("; ")}`,
      };
    }
    return { action: "adopt", commands: convergeCommands(spec, link, end.addresses) };
  }
  const differences = endDifferences(spec, end);
  if (differences.length === 0) return { action: "none" };
  return { action: "repair", commands: convergeCommands(spec, link, end.addresses), differences };
}

/** Other GRE devices that would receive this end's packets: same local, remote and input key. */
export function findCollisions(spec: TunnelEndSpec, router: RouterObservation): LinkState[] {
  return router.links.filter(
    (l) =>
      l.kind === "gre" &&
      l.name !== spec.name &&
      l.local === spec.local &&
      l.remote === spec.remote &&
      l.ikey === spec.ikey,
  );
}

/** The spec that reproduces an observed GRE device (to restore it after a failed change). */
export function specFromObserved(name: string, end: ObservedEnd): TunnelEndSpec | undefined {
  const { link } = end;
  if (!link || link.kind !== "gre" || !link.local || !link.remote) return undefined;
  return {
    name,
    local: link.local,
    remote: link.remote,
    ikey: link.ikey,
    okey: link.okey,
    ttl: link.ttl ?? 0,
    mtu: link.mtu,
    up: link.up,
    addresses: end.addresses,
  };
}

/** Commands that take an end back to how it was (`before`), from how it is now. */
export function planRestore(name: string, before: ObservedEnd, now: RouterObservation): RemoteCommand[] {
  const target = specFromObserved(name, before);
  const current = observeEnd(name, now);
  if (!target) {
    return current.link?.kind === "gre" ? tunnelRemove(name) : [];
  }
  if (!current.link) return tunnelCreate(target);
  if (current.link.kind !== "gre") return [];
  return convergeCommands(target, current.link, current.addresses);
}

/** Commands that remove an end, if the router has it as a GRE tunnel from `local`. */
export function planRemove(spec: Pick<TunnelEndSpec, "name" | "local">, router: RouterObservation): EndPlan {
  const link = router.links.find((l) => l.name === spec.name);
  if (!link) return { action: "none" };
  if (link.kind !== "gre" || link.local !== spec.local) {
    return {
      action: "conflict",
      reason: `${spec.name} is no longer this tunnel (it is ${link.kind === "gre" ? `a GRE tunnel from ${link.local}` : `a ${link.kind ?? "plain"} device`}); left alone`,
    };
  }
  return { action: "remove", commands: tunnelRemove(spec.name) };
}

/** What a router without GRE is told. */
export const GRE_UNAVAILABLE = "GRE is not available: the ip_gre module is not loaded";

/** Why the router cannot hold this end, for preflight: GRE unavailable, local address not on it. */
export function preflightProblems(spec: TunnelEndSpec, router: RouterObservation): string[] {
  const problems: string[] = [];
  if (!router.greAvailable) {
    problems.push(
      `${GRE_UNAVAILABLE}. Declare a KernelModule for ip_gre on this router ` +
        "(or run `modprobe ip_gre`); if modprobe fails, check that the kernel has GRE: grep GRE /boot/config-$(uname -r)",
    );
  }
  if (!router.addresses.some((a) => a.family === "inet" && a.local === spec.local)) {
    const own = router.addresses
      .filter((a) => a.family === "inet" && !a.local.startsWith("127."))
      .map((a) => `${a.local} on ${a.device}`);
    problems.push(
      `local ${spec.local} is not an address of this router (it has ${own.join(", ") || "no IPv4 address"}). ` +
        "If this router is behind NAT, set local to its own address and the peer's remote to the NAT's public address " +
        "(and the NAT must pass GRE, IP protocol 47, which many cannot)",
    );
  }
  return problems;
}
