/**
 * The benchmark's stacks: a full mesh (every pair of lab routers, N(N-1)/2 tunnels) or hub and
 * spokes (routerA to each other router, N-1 tunnels), each tunnel with its routes both ways, as a
 * stack configuration the stack program takes. Pure.
 *
 * @packageDocumentation
 */
import { planLab, type LabIdentity, type RouterPlan } from "../lab/topology";
import { addressOf } from "../lab/topology";

/** Full mesh, or hub (routerA) and spokes. */
export type Topology = "mesh" | "hub";

/** One tunnel of the benchmark topology. */
export interface BenchTunnel {
  name: string;
  routers: [string, string];
  /** Index of the pair, for keys and addresses. */
  index: number;
}

/** The router pairs of a topology over `count` lab routers. */
export function topologyPairs(topology: Topology, count: number): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      if (topology === "mesh" || i === 0) pairs.push([i, j]);
    }
  }
  return pairs;
}

/** The stack configuration (as `Pulumi.STACK.yaml`'s config section) of a topology. */
export function topologyConfig(
  identity: LabIdentity,
  topology: Topology,
  count: number,
): { config: Record<string, unknown>; tunnels: BenchTunnel[] } {
  const plans = planLab(identity, count);
  const letter = (p: RouterPlan) => p.name.slice(-1).toLowerCase();
  const tunnels = topologyPairs(topology, count).map(([i, j], index): BenchTunnel => ({
    name: `gre-${letter(plans[i])}-${letter(plans[j])}`,
    routers: [plans[i].name, plans[j].name],
    index,
  }));
  const routers = Object.fromEntries(
    plans.map((p) => [p.name, { lab: p.name, underlay: addressOf(p.underlay), lans: [p.lanPrefix] }]),
  );
  return {
    tunnels,
    config: {
      "pulumi-gre:routers": routers,
      "pulumi-gre:tunnels": tunnels.map((t) => ({
        name: t.name,
        // Each pair of routers has its own underlay addresses, so one key would do; distinct keys
        // keep the tunnels apart even on a shared underlay address.
        key: t.index + 1,
        ends: [
          { router: t.routers[0], address: `10.255.${t.index}.1` },
          { router: t.routers[1], address: `10.255.${t.index}.2` },
        ],
      })),
      "pulumi-gre:settings": { unloadModulesOnDestroy: true },
    },
  };
}
