/**
 * The fleet benchmark's stacks: N simulated routers in hub and spokes (the first router to every
 * other) or a partial mesh (each router to the next two around a ring: 2N tunnels, every router
 * with four), each tunnel with its routes both ways, and the stack configuration that reaches the
 * routers by SSH connection. Addresses stay in documentation and benchmarking ranges. Pure.
 *
 * @packageDocumentation
 */
import type { SimRouterPlan } from "../../test/support/sim/simRouter";

/** Hub and spokes, or a partial mesh. */
export type FleetTopology = "hub" | "mesh";

/** One tunnel of the fleet. */
export interface FleetTunnel {
  name: string;
  routers: [string, string];
  index: number;
}

/** Router `i` (from 1) of a fleet. */
export function fleetRouter(i: number): SimRouterPlan {
  const hi = i >> 8;
  const lo = i & 255;
  return {
    name: `edge${String(i).padStart(3, "0")}`,
    underlay: `198.${18 + (hi >> 8)}.${hi & 255}.${lo}`,
    lanPrefix: `10.${100 + hi}.${lo}.0/24`,
    lanGateway: `10.${100 + hi}.${lo}.1`,
  };
}

/** The router pairs (indices from 1) of a topology over `count` routers. */
export function fleetPairs(topology: FleetTopology, count: number): Array<[number, number]> {
  if (topology === "hub") return Array.from({ length: count - 1 }, (_, k) => [1, k + 2] as [number, number]);
  const pairs = new Map<string, [number, number]>();
  for (let i = 1; i <= count; i++) {
    for (const step of [1, 2]) {
      const j = ((i - 1 + step) % count) + 1;
      if (i === j) continue;
      const pair: [number, number] = i < j ? [i, j] : [j, i];
      pairs.set(pair.join("-"), pair);
    }
  }
  return [...pairs.values()];
}

/** The two tunnel addresses of tunnel `t` (a /30 of 172.16.0.0/12 each). */
export function tunnelAddresses(t: number): [string, string] {
  const base = `172.${16 + (t >> 14)}.${(t >> 6) & 255}.`;
  return [`${base}${(t & 63) * 4 + 1}`, `${base}${(t & 63) * 4 + 2}`];
}

/** How the stack reaches a simulated router. */
export interface FleetAccess {
  port: number;
  hostKey: string;
}

/** Where a region starts: its first router (from 1) and its first tunnel's index. */
export interface RegionStart {
  router: number;
  tunnel: number;
}

/**
 * The stack configuration (a `Pulumi.STACK.yaml`'s config section) of a fleet, or of one region of
 * it (`count` routers from `start.router`, tunnels numbered from `start.tunnel`).
 */
export function fleetConfig(
  topology: FleetTopology,
  count: number,
  access: (name: string) => FleetAccess,
  privateKey: string,
  start: RegionStart = { router: 1, tunnel: 0 },
): { config: Record<string, unknown>; tunnels: FleetTunnel[]; plans: SimRouterPlan[] } {
  const plans = Array.from({ length: count }, (_, k) => fleetRouter(start.router + k));
  const tunnels = fleetPairs(topology, count).map(([i, j], k): FleetTunnel => ({
    name: `g${start.tunnel + k}`,
    routers: [plans[i - 1].name, plans[j - 1].name],
    index: start.tunnel + k,
  }));
  const routers = Object.fromEntries(
    plans.map((p) => [
      p.name,
      {
        connection: {
          host: "127.0.0.1",
          port: access(p.name).port,
          user: "root",
          hostKey: access(p.name).hostKey,
          privateKeySecret: "fleetKey",
        },
        underlay: p.underlay,
        lans: [p.lanPrefix],
      },
    ]),
  );
  return {
    plans,
    tunnels,
    config: {
      // In plain text only because the stand-in engine cannot decrypt secrets; a throwaway key.
      "pulumi-gre:fleetKey": privateKey,
      "pulumi-gre:routers": routers,
      "pulumi-gre:tunnels": tunnels.map((t) => {
        const [a, b] = tunnelAddresses(t.index);
        return {
          name: t.name,
          key: t.index + 1,
          ends: [
            { router: t.routers[0], address: a },
            { router: t.routers[1], address: b },
          ],
        };
      }),
      "pulumi-gre:settings": { unloadModulesOnDestroy: true },
    },
  };
}
