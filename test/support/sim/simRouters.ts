/**
 * A few simulated routers for tests: real SSH servers on loopback (no root, no lab), each with its
 * own host key, answering from the in-memory model in `simRouter.ts`, with no delay. Connections to
 * them are the ones a program would write: host, port, key, pinned host key, a name.
 */
import { closeAllConnections } from "../../../transport";
import type { Connection } from "../../../model/connection";
import { SimulatedFleet } from "./simServer";
import type { SimRouter, SimRouterPlan } from "./simRouter";

/** Routers r1, r2, … on 198.18.0.N, each with a LAN 10.100.N.0/24 behind it. */
export function simPlan(n: number): SimRouterPlan {
  return {
    name: `r${n}`,
    underlay: `198.18.0.${n}`,
    lanPrefix: `10.100.${n}.0/24`,
    lanGateway: `10.100.${n}.1`,
  };
}

/** Started routers, by name. */
export interface SimRouters {
  router(name: string): SimRouter;
  connection(name: string): Connection;
  close(): Promise<void>;
}

/** Starts `count` simulated routers (r1 … rN). */
export async function startSimRouters(count: number): Promise<SimRouters> {
  const plans = Array.from({ length: count }, (_, i) => simPlan(i + 1));
  const fleet = await SimulatedFleet.start(plans, { rttMs: 0, connectionMs: 0, processMs: 0 });
  return {
    router: (name) => fleet.router(name),
    connection: (name) => {
      const endpoint = fleet.endpoints.get(name);
      if (!endpoint) throw new Error(`no simulated router ${name}`);
      return {
        host: "127.0.0.1",
        port: endpoint.port,
        user: "root",
        privateKey: fleet.clientKey.private,
        hostKey: endpoint.hostKey,
        name,
      };
    },
    close: async () => {
      closeAllConnections();
      await fleet.close();
      if (fleet.unknown.length > 0)
        throw new Error(`commands the simulated routers do not model:\n${fleet.unknown.join("\n")}`);
    },
  };
}
