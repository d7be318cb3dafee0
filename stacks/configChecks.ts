/**
 * The checks of a stack configuration that zod cannot express, each a rule of its own: tunnels
 * name declared routers, names and receive slots are unique per router, tunnel addresses collide
 * with nothing, routes do not loop, do not capture a router's management path or another router's
 * underlay, and do not take a router's own LAN; no router is declared twice; and the config has no
 * key the program would silently ignore. Each problem names the config path. Pure.
 *
 * @packageDocumentation
 */
import { distinctProblems, propertyPath, type Problem } from "../schemas/issues";
import { familyOf, prefixContains, prefixContainsPrefix, prefixesOverlap } from "../schemas/addresses";
import { carriesEthernet, underlayFamily, type TunnelMode } from "../model/tunnel";
import { mirroredKeys } from "../schemas/tunnel";
import { persistRules } from "../schemas/tunnelRules";
import type { RouterConfig, StackConfig, TunnelConfig } from "./configSchema";
import { resourceNames, routers } from "./declarationChecks";

const at = (...path: Array<string | number>) => propertyPath(path);

/** Whether the config declares a router called `name` (its own property, whatever the name). */
function declared(config: StackConfig, name: string): boolean {
  return Object.hasOwn(config.routers, name);
}

/**
 * A router's underlay address for a tunnel of `mode`: `underlay6` for ip6gre and ip6gretap (empty
 * when the router has none: {@link crossCheck} says so), `underlay` otherwise.
 */
export function routerUnderlay(router: RouterConfig, mode: TunnelMode | undefined): string {
  return underlayFamily(mode ?? "gre") === "ipv6" ? (router.underlay6 ?? "") : router.underlay;
}

/** The underlay addresses of an end: where its tunnel starts and where it sends to. */
export function underlayOf(config: StackConfig, tunnel: TunnelConfig, e: number) {
  const end = tunnel.ends[e];
  const peer = tunnel.ends[1 - e];
  const local = end.local ?? routerUnderlay(config.routers[end.router], tunnel.mode);
  const remote = end.remote ?? peer.local ?? routerUnderlay(config.routers[peer.router], tunnel.mode);
  return { local, remote };
}

/** Ends of an ip6gre or ip6gretap tunnel on a router without an IPv6 underlay address. */
function ipv6Underlay(config: StackConfig, tunnel: TunnelConfig, t: number): Problem[] {
  if (underlayFamily(tunnel.mode ?? "gre") !== "ipv6") return [];
  return tunnel.ends.flatMap((end, e): Problem[] =>
    end.local === undefined && config.routers[end.router].underlay6 === undefined
      ? [
          {
            path: at("routers", end.router, "underlay6"),
            reason: `is needed by tunnel ${tunnel.name} (mode ${tunnel.mode}, over IPv6), or give tunnels[${t}].ends[${e}].local`,
          },
        ]
      : [],
  );
}

/** The addresses a router is reached at over SSH (itself, and its jump host), when given as IP addresses. */
function managementAddresses(router: RouterConfig): Array<{ address: string; what: string }> {
  if (!("connection" in router)) return [];
  const found = [{ address: router.connection.host, what: "the address this router is reached at over SSH" }];
  if (router.connection.proxy)
    found.push({
      address: router.connection.proxy.host,
      what: "the jump host this router is reached through",
    });
  return found.filter((f) => familyOf(f.address) !== undefined);
}

/** Ends that name routers not declared, and tunnels with both ends on one router. */
function peers(config: StackConfig, tunnel: TunnelConfig, t: number): Problem[] {
  const problems: Problem[] = [];
  tunnel.ends.forEach((end, e) => {
    if (!declared(config, end.router))
      problems.push({
        path: at("tunnels", t, "ends", e, "router"),
        reason: `no router "${end.router}" is declared under routers: the tunnel's peer is missing (declared: ${Object.keys(config.routers).join(", ") || "none"})`,
      });
  });
  if (tunnel.ends[0].router === tunnel.ends[1].router)
    problems.push({
      path: at("tunnels", t, "ends", 1, "router"),
      reason: "both ends are on the same router; a tunnel joins two routers",
    });
  return problems;
}

/** A tunnel end's address: unique, outside every LAN, no underlay address of any router. */
function tunnelAddress(
  config: StackConfig,
  tunnel: TunnelConfig,
  t: number,
  e: number,
  owners: Map<string, string>,
): Problem[] {
  const end = tunnel.ends[e];
  const path = at("tunnels", t, "ends", e, "address");
  const { local, remote } = underlayOf(config, tunnel, e);
  const problems: Problem[] = [];
  // A bridged end has no address of its own.
  if (end.address === undefined) return problems;
  const owner = owners.get(end.address);
  if (owner)
    problems.push({
      path,
      reason: `${end.address} is already used by ${owner}; tunnel addresses must not overlap`,
    });
  else owners.set(end.address, path);
  for (const [name, r] of Object.entries(config.routers)) {
    // A default route as a "LAN" (an internet uplink behind the router) contains everything.
    const lan = r.lans.find((p) => !p.endsWith("/0") && prefixContains(p, end.address!));
    if (lan)
      problems.push({
        path,
        reason: `${end.address} lies in ${lan}, a LAN of ${name}; tunnel addresses must not overlap LANs`,
      });
    if (
      (r.underlay === end.address || r.underlay6 === end.address) &&
      end.address !== local &&
      end.address !== remote
    )
      problems.push({
        path,
        reason: `${end.address} is the underlay address of ${name}; a tunnel address must be its own`,
      });
  }
  if (end.address === local || end.address === remote)
    problems.push({ path, reason: "a tunnel address must differ from the underlay addresses" });
  return problems;
}

/**
 * The prefixes an end routes through its tunnel: not the tunnel's own underlay peer (recursive),
 * not the router's own LANs, and — unless the end says `allowCapture` — not a router's management
 * path or another router's underlay address.
 */
function routes(config: StackConfig, tunnel: TunnelConfig, t: number, e: number): Problem[] {
  const end = tunnel.ends[e];
  const peer = tunnel.ends[1 - e];
  const router = config.routers[end.router];
  const { remote } = underlayOf(config, tunnel, e);
  const problems: Problem[] = [];
  routesOf(config, tunnel)[e].forEach((prefix, r, all) => {
    const path = end.routes ? at("tunnels", t, "ends", e, "routes", r) : at("routers", peer.router, "lans");
    // Prefixes are canonical here (the schema's doing): one prefix however spelt is one text.
    if (all.indexOf(prefix) < r)
      problems.push({ path, reason: `is listed already (as ${prefix}); list each prefix once` });
    if (prefixContains(prefix, remote))
      problems.push({
        path,
        reason: `${prefix} contains ${remote}, the tunnel's underlay peer: routing it through ${tunnel.name} would route the tunnel's own GRE packets into the tunnel (recursive routing)`,
      });
    // A route wider than a LAN leaves the LAN to its connected route; one inside it takes part of it.
    // A default route as a "LAN" (an internet uplink behind the router) is left out.
    const own = router.lans.find((lan) => !lan.endsWith("/0") && prefixContainsPrefix(lan, prefix));
    if (own)
      problems.push({
        path,
        reason:
          own === prefix
            ? `${prefix} is a LAN of ${end.router} itself; it cannot be routed to the other side`
            : `${prefix} lies in ${own}, a LAN of ${end.router} itself; it would be routed away from its own LAN`,
      });
    if (end.allowCapture) return;
    for (const { address, what } of managementAddresses(router)) {
      if (prefixContains(prefix, address))
        problems.push({
          path,
          reason: `${prefix} contains ${address}, ${what}: routing it through ${tunnel.name} would capture the management path and lock Pulumi out of ${end.router}; set allowCapture: true on this end if that is meant`,
        });
    }
    for (const [name, other] of Object.entries(config.routers)) {
      if (name === end.router) continue;
      for (const underlay of [other.underlay, other.underlay6]) {
        if (underlay === undefined || underlay === remote || !prefixContains(prefix, underlay)) continue;
        problems.push({
          path,
          reason: `${prefix} contains ${underlay}, the underlay address of ${name}: tunnels from ${end.router} to ${name} would be routed into ${tunnel.name}; set allowCapture: true on this end if that is meant`,
        });
      }
    }
  });
  return problems;
}

/** The prefixes each end routes through the tunnel (default: the LANs behind the other router). */
export function routesOf(config: StackConfig, tunnel: TunnelConfig): [string[], string[]] {
  const [a, b] = tunnel.ends;
  // A bridged tunnel routes nothing: the LAN itself spans it.
  if (a.bridge !== undefined || b.bridge !== undefined) return [[], []];
  return [a.routes ?? config.routers[b.router].lans, b.routes ?? config.routers[a.router].lans];
}

/** Per router: interface names unique, receive slots (local, remote, key) unique, routes not through two tunnels. */
function perRouter(config: StackConfig): Problem[] {
  const problems: Problem[] = [];
  const names = new Map<string, string>();
  const slots = new Map<string, string>();
  const routed = new Map<string, { prefix: string; tunnel: string }[]>();
  config.tunnels.forEach((tunnel, t) => {
    if (
      tunnel.ends.some((end) => !declared(config, end.router)) ||
      tunnel.ends[0].router === tunnel.ends[1].router
    )
      return;
    const keys = mirroredKeys(tunnel.key);
    const [a, b] = tunnel.ends;
    tunnel.ends.forEach((end, e) => {
      const { local, remote } = underlayOf(config, tunnel, e);
      // Its interface on this router: the end's own name, else the tunnel's.
      const name = end.name ?? tunnel.name;
      const previous = names.get(`${end.router}/${name}`);
      if (previous)
        problems.push({
          path: end.name !== undefined ? at("tunnels", t, "ends", e, "name") : at("tunnels", t, "name"),
          reason: `${end.router} already has a tunnel named ${name} (${previous})`,
        });
      else names.set(`${end.router}/${name}`, at("tunnels", t));
      // The kernel delivers an incoming GRE packet by local address, remote address and key — among
      // the tunnels of its payload's kind (IP packets, or Ethernet frames for gretap modes).
      const { ikey } = keys[e];
      const payload = carriesEthernet(tunnel.mode ?? "gre") ? "ethernet" : "ip";
      const slot = `${end.router}|${payload}|${local}|${remote}|${ikey ?? "none"}`;
      const taken = slots.get(slot);
      if (taken && !previous)
        problems.push({
          path: at("tunnels", t, "key"),
          reason: `${taken} already joins ${a.router} and ${b.router} with ${ikey === undefined ? "no key" : `key ${ikey}`}; tunnels between the same routers need distinct keys (the kernel matches incoming GRE on local, remote and key)`,
        });
      else if (!taken) slots.set(slot, at("tunnels", t));
      const mine = routed.get(end.router) ?? [];
      routesOf(config, tunnel)[e].forEach((prefix) => {
        const other = mine.find((m) => m.tunnel !== tunnel.name && prefixesOverlap(m.prefix, prefix));
        if (other)
          problems.push({
            path: end.routes
              ? at("tunnels", t, "ends", e, "routes")
              : at("routers", tunnel.ends[1 - e].router, "lans"),
            reason:
              other.prefix === prefix
                ? `${end.router} would route ${prefix} through both ${other.tunnel} and ${tunnel.name}: one destination, two tunnels (each route would replace the other)`
                : `${end.router} would route ${prefix} through ${tunnel.name} and ${other.prefix} through ${other.tunnel}: they overlap`,
          });
        mine.push({ prefix, tunnel: tunnel.name });
      });
      routed.set(end.router, mine);
    });
  });
  return problems;
}

/** Every problem of a config that zod accepted; one collision seen from both routers is one problem. */
export function crossCheck(config: StackConfig): Problem[] {
  const problems: Problem[] = [...routers(config)];
  const owners = new Map<string, string>();
  config.tunnels.forEach((tunnel, t) => {
    const found = peers(config, tunnel, t);
    problems.push(...found);
    if (found.length > 0) return;
    const noUnderlay = ipv6Underlay(config, tunnel, t);
    problems.push(...noUnderlay);
    // Without an underlay address there is nothing to check the tunnel's addresses and routes against.
    if (noUnderlay.length > 0) return;
    for (const e of [0, 1])
      problems.push(...tunnelAddress(config, tunnel, t, e, owners), ...routes(config, tunnel, t, e));
    // What persist cannot bring back (the tunnel rules' other part ran in the schema).
    for (const { path, message } of persistRules({ ...tunnel, persist: config.settings.persist }))
      problems.push(
        path[0] === "persist"
          ? { path: "settings.persist", reason: `${message} (tunnel ${tunnel.name}, tunnels[${t}])` }
          : { path: at("tunnels", t, ...path), reason: message },
      );
  });
  problems.push(...perRouter(config), ...resourceNames(config));
  if (config.tunnels.length === 0 && !config.settings.allowNoTunnels)
    problems.push({
      path: "tunnels",
      reason:
        "declares no tunnel: `up` would remove every tunnel this stack made. Set pulumi-gre:settings.allowNoTunnels: true if that is meant",
    });
  return distinctProblems(problems);
}
