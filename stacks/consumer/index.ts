/**
 * An example of another stack consuming the network stack's outputs through a StackReference:
 * a monitoring stack that wants, for each tunnel, what each router should probe across it, which
 * tunnels are not healthy, and which prefixes each router reaches through tunnels.
 *
 *   pulumi -C stacks/consumer config set networkStack organization/pulumi-gre/dev
 *   pulumi -C stacks/consumer up
 */
import * as pulumi from "@pulumi/pulumi";
import type { RouterSummary, TunnelSummary } from "../program";

const config = new pulumi.Config();
const network = new pulumi.StackReference(config.get("networkStack") ?? "organization/pulumi-gre/dev");
const tunnels = network.requireOutput("tunnels") as pulumi.Output<TunnelSummary[]>;
const routers = network.requireOutput("routers") as pulumi.Output<Record<string, RouterSummary>>;

/** From each end of each tunnel: ping the peer's tunnel address through the interface. */
export const probes = tunnels.apply((list) =>
  list.flatMap((t) =>
    t.routers.map((router, i) => ({
      from: router,
      // Each router's own interface (outputs from before `interfaces` have only `interface`).
      interface: t.interfaces?.[router] ?? t.interface,
      target: t.addresses[t.routers[1 - i]],
    })),
  ),
);

/** Tunnels whose last refresh found an end missing, down or changed, or no traffic crossing. */
export const unhealthyTunnels = tunnels.apply((list) =>
  list.filter((t) => t.state !== "up").map((t) => t.id),
);

/** Per tunnel, what its last pings across measured: for a dashboard or an alert on loss and latency. */
export const tunnelHealth = tunnels.apply((list) =>
  Object.fromEntries(
    list.map((t) => [
      t.id,
      t.health
        ? {
            carriesTraffic: t.health.reachable,
            lossPercent: t.health.loss,
            rttMs: t.health.rttMs,
            checkedAt: t.health.checkedAt,
          }
        : null,
    ]),
  ),
);

/** Per router, the prefixes it reaches through tunnels. */
export const reachability = routers.apply((all) =>
  Object.fromEntries(Object.entries(all).map(([name, r]) => [name, r.reachable])),
);
