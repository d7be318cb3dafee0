/**
 * The checks of what a stack declares once: each router (not the same lab router or host twice, no
 * underlay address shared, LANs disjoint) and each tunnel's resource name. Pure.
 *
 * @packageDocumentation
 */
import { propertyPath, type Problem } from "../schemas/issues";
import { hostAndPort, prefixesOverlap } from "../schemas/addresses";
import type { StackConfig, TunnelConfig } from "./configSchema";

const at = (...path: Array<string | number>) => propertyPath(path);

/** The tunnel's resource name: both routers and the interface. */
export function tunnelId(tunnel: TunnelConfig): string {
  return `${tunnel.ends[0].router}-${tunnel.ends[1].router}-${tunnel.name}`;
}

/** Tunnels whose resource names would be one (router and tunnel names may hold the `-` that joins them). */
export function resourceNames(config: StackConfig): Problem[] {
  const seen = new Map<string, number>();
  return config.tunnels.flatMap((tunnel, t): Problem[] => {
    const id = tunnelId(tunnel);
    const first = seen.get(id);
    if (first === undefined) {
      seen.set(id, t);
      return [];
    }
    return [
      {
        path: at("tunnels", t, "name"),
        reason: `gives the resource name ${id}, as tunnels[${first}] does (its routers' and its own names joined by -): rename one`,
      },
    ];
  });
}

/** Routers declared twice under two names (the same lab router, or the same host and port), and overlapping LANs. */
export function routers(config: StackConfig): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, string>();
  const underlays = new Map<string, string>();
  for (const [name, router] of Object.entries(config.routers)) {
    const identity =
      "lab" in router
        ? `lab router ${router.lab}`
        : hostAndPort(router.connection.host, router.connection.port ?? 22);
    const first = seen.get(identity);
    if (first)
      problems.push({
        path: at("routers", name),
        reason: `is ${identity}, which is declared already as ${first}; one router must be declared once`,
      });
    else seen.set(identity, name);
    // Addresses are canonical here (the schema's doing): one address, however spelt, is one.
    for (const field of ["underlay", "underlay6"] as const) {
      const address = router[field];
      const owner = address === undefined ? undefined : underlays.get(address);
      if (owner)
        problems.push({
          path: at("routers", name, field),
          reason: `${address} is the underlay address of ${owner} already; two routers cannot have one address`,
        });
      else if (address !== undefined) underlays.set(address, name);
    }
    router.lans.forEach((lan, i) => {
      const other = router.lans.slice(0, i).find((l) => prefixesOverlap(l, lan));
      if (other)
        problems.push({
          path: at("routers", name, "lans", i),
          reason: `overlaps ${other}, another LAN of ${name}`,
        });
    });
  }
  return problems;
}
