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
  hostPrefixLength,
  linkMaster,
  linkSet,
  modeOf,
  tunnelChange,
  tunnelCreate,
  tunnelRemove,
  upBeforeAddresses,
  type TunnelAddress,
  type TunnelEndSpec,
} from "./tunnelCommands";
import type { RemoteCommand } from "../../model/command";
import { carriesEthernet, TUNNEL_MODES, type TunnelMode } from "../../model/tunnel";

/** What one router reported, as far as tunnels are concerned. */
export interface RouterObservation {
  links: LinkState[];
  addresses: AddressState[];
  /** Whether the kernel can do GRE now (ip_gre loaded or built in). */
  greAvailable: boolean;
  /** Whether it can do GRE over IPv6 (ip6_gre); undefined when not asked. */
  gre6Available?: boolean;
}

/** The device an end is named after, as the router has it. */
export interface ObservedEnd {
  link?: LinkState;
  /** Its addresses (IPv4, and IPv6 but the link-local one the kernel gives it). */
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

/** The device called `name` and its addresses (not the IPv6 link-local one). */
export function observeEnd(name: string, router: RouterObservation): ObservedEnd {
  return {
    link: router.links.find((l) => l.name === name),
    addresses: router.addresses
      .filter((a) => a.device === name && (a.family === "inet" || a.scope !== "link"))
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
    : `${a.local} peer ${a.peer}${a.prefixLength === hostPrefixLength(a.local) ? "" : `/${a.prefixLength}`}`;
}

/** What a device of this kind is called in messages: "a GRE tunnel", "an ip6gretap tunnel", "a bridge". */
export function kindWords(kind: string | undefined): string {
  if (kind === "gre") return "a GRE tunnel";
  if (kind && (TUNNEL_MODES as readonly string[]).includes(kind))
    return `${kind.startsWith("ip") ? "an" : "a"} ${kind} tunnel`;
  return `a ${kind ?? "plain"} device`;
}

/** The mode of an observed device, when it is one of ours. */
function modeOfKind(kind: string | undefined): TunnelMode | undefined {
  return (TUNNEL_MODES as readonly string[]).includes(kind ?? "") ? (kind as TunnelMode) : undefined;
}

/** How the end's bridge differs, for Ethernet tunnels: "is a port of br0, wanted none". */
function bridgeDifference(spec: TunnelEndSpec, link: LinkState): string | undefined {
  if (!carriesEthernet(modeOf(spec)) || (link.master ?? undefined) === spec.bridge) return undefined;
  return `is ${link.master ? `a port of ${link.master}` : "in no bridge"}, wanted ${spec.bridge ?? "no bridge"}`;
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
  if (link.kind !== modeOf(spec))
    return [`${spec.name} is ${kindWords(link.kind)}, not ${kindWords(modeOf(spec))}`];
  const differences = tunnelParameterDifferences(spec, link).map((d) => `${spec.name} ${d}`);
  const bridge = bridgeDifference(spec, link);
  if (bridge) differences.push(`${spec.name} ${bridge}`);
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
    return [...tunnelRemove(spec.name, modeOf(spec)), ...tunnelCreate(spec)];
  }
  const commands: RemoteCommand[] = [];
  if (tunnelParameterDifferences(spec, link).length > 0) commands.push(tunnelChange(spec));
  if (bridgeDifference(spec, link)) {
    commands.push(
      spec.bridge === undefined
        ? { argv: ["ip", "link", "set", "dev", spec.name, "nomaster"] }
        : linkMaster(spec.name, spec.bridge),
    );
  }
  const mtuChange = spec.mtu !== undefined && link.mtu !== spec.mtu ? spec.mtu : undefined;
  const linkChange =
    mtuChange !== undefined || link.up !== spec.up ? [linkSet(spec.name, spec.up, mtuChange)] : [];
  const addressChange = sameAddresses(spec.addresses, addresses)
    ? []
    : [...addressFlush(spec.name), ...spec.addresses.flatMap((a) => addressAdd(spec.name, a))];
  // IPv6 addresses go on a link that is up (see upBeforeAddresses).
  commands.push(
    ...(upBeforeAddresses(spec) ? [...linkChange, ...addressChange] : [...addressChange, ...linkChange]),
  );
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
  if (collisions.length > 0)
    return {
      action: "conflict",
      reason: `${collisionWords(spec, collisions[0])}, so ${spec.name} needs a different key`,
    };
  const { link } = end;
  if (!link) return { action: "create", commands: tunnelCreate(spec) };
  if (link.kind !== modeOf(spec)) {
    return {
      action: "conflict",
      reason: `a device named ${spec.name} already exists and is ${kindWords(link.kind)}, not ${kindWords(modeOf(spec))}; choose another name or remove it`,
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
      l.kind === modeOf(spec) &&
      l.name !== spec.name &&
      l.local === spec.local &&
      l.remote === spec.remote &&
      l.ikey === spec.ikey,
  );
}

/**
 * Why another device with this end's local, remote and input key is a conflict: the kernel cannot
 * tell their incoming packets apart (whatever device each is bound to).
 */
export function collisionWords(spec: TunnelEndSpec, other: LinkState): string {
  return (
    `${other.name} already carries GRE from ${spec.remote} to ${spec.local} with ${spec.ikey === undefined ? "no key" : `key ${spec.ikey}`}; ` +
    `the kernel matches incoming GRE packets on local address, remote address and key`
  );
}

/** The spec that reproduces an observed GRE device (to restore it after a failed change). */
export function specFromObserved(name: string, end: ObservedEnd): TunnelEndSpec | undefined {
  const { link } = end;
  const mode = modeOfKind(link?.kind);
  if (!link || !mode || !link.local || !link.remote) return undefined;
  return {
    name,
    ...(mode === "gre" ? {} : { mode }),
    ...(link.master ? { bridge: link.master } : {}),
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
  const currentMode = modeOfKind(current.link?.kind);
  if (!target) {
    return currentMode ? tunnelRemove(name, currentMode) : [];
  }
  if (!current.link) return tunnelCreate(target);
  if (currentMode !== modeOf(target)) return [];
  return convergeCommands(target, current.link, current.addresses);
}

/** Commands that remove an end, if the router has it as a tunnel of its mode from `local`. */
export function planRemove(
  spec: Pick<TunnelEndSpec, "name" | "local" | "mode">,
  router: RouterObservation,
): EndPlan {
  const link = router.links.find((l) => l.name === spec.name);
  if (!link) return { action: "none" };
  if (link.kind !== modeOf(spec) || link.local !== spec.local) {
    return {
      action: "conflict",
      reason: `${spec.name} is no longer this tunnel (it is ${link.kind === modeOf(spec) ? `${kindWords(link.kind)} from ${link.local}` : kindWords(link.kind)}); left alone`,
    };
  }
  return { action: "remove", commands: tunnelRemove(spec.name, modeOf(spec)) };
}
