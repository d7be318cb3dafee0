/** The example consumer stack reads the network stack's outputs through a StackReference. */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

const networkOutputs = {
  tunnels: [
    {
      id: "routerA-routerB-gre1",
      interface: "gre1",
      routers: ["routerA", "routerB"],
      addresses: { routerA: "10.10.10.2", routerB: "10.10.10.1" },
      key: 1,
      ttl: 255,
      state: "up",
      drift: [],
      health: {
        reachable: true,
        loss: 0,
        rttMs: 0.42,
        fullSize: true,
        checkedAt: "2026-11-30T12:00:00.000Z",
      },
    },
    {
      id: "routerA-routerC-gre2",
      interface: "gre2",
      // Each end named after the other router; the other tunnels' outputs predate `interfaces`.
      interfaces: { routerA: "gre-routerC", routerC: "gre-routerA" },
      routers: ["routerA", "routerC"],
      addresses: { routerA: "10.10.20.2", routerC: "10.10.20.1" },
      key: 2,
      ttl: 255,
      state: "down",
      drift: ["routerC (root@169.254.100.13:22): gre2 is missing"],
      health: {
        reachable: false,
        loss: 100,
        rttMs: null,
        fullSize: null,
        checkedAt: "2026-11-30T12:00:00.000Z",
      },
    },
    {
      id: "routerB-routerC-gre3",
      interface: "gre3",
      routers: ["routerB", "routerC"],
      addresses: { routerB: "10.10.30.2", routerC: "10.10.30.1" },
      key: 3,
      ttl: 255,
      state: "no-traffic",
      drift: [
        "routerB (root@169.254.100.12:22): gre3 does not carry traffic (100% of pings to 10.10.30.1 lost from routerB (root@169.254.100.12:22))",
      ],
      health: null,
    },
  ],
  routers: {
    routerA: {
      underlay: "198.51.100.11",
      lans: ["10.2.1.0/24"],
      reachable: ["10.1.1.0/24", "10.3.1.0/24"],
      tunnels: ["routerA-routerB-gre1", "routerA-routerC-gre2"],
    },
    routerB: {
      underlay: "198.51.100.12",
      lans: ["10.1.1.0/24"],
      reachable: ["10.2.1.0/24"],
      tunnels: ["routerA-routerB-gre1"],
    },
  },
};

describe("the consumer stack", () => {
  it("turns the network stack's outputs into probes, unhealthy tunnels and reachability", async () => {
    const references: string[] = [];
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          if (args.type === "pulumi:pulumi:StackReference") {
            references.push(args.id ?? args.inputs.name);
            return {
              id: args.id ?? "",
              state: { name: args.id, outputs: networkOutputs, secretOutputNames: [] },
            };
          }
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: () => ({}),
      },
      "gre-consumer",
      "dev",
    );
    pulumi.runtime.setConfig("gre-consumer:networkStack", "acme/pulumi-gre/prod");
    const consumer = require(path.resolve(__dirname, "../../stacks/consumer/index.ts"));
    const value = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));
    expect(await value(consumer.probes)).toEqual([
      { from: "routerA", interface: "gre1", target: "10.10.10.1" },
      { from: "routerB", interface: "gre1", target: "10.10.10.2" },
      { from: "routerA", interface: "gre-routerC", target: "10.10.20.1" },
      { from: "routerC", interface: "gre-routerA", target: "10.10.20.2" },
      { from: "routerB", interface: "gre3", target: "10.10.30.1" },
      { from: "routerC", interface: "gre3", target: "10.10.30.2" },
    ]);
    expect(await value(consumer.unhealthyTunnels)).toEqual(["routerA-routerC-gre2", "routerB-routerC-gre3"]);
    expect(await value(consumer.tunnelHealth)).toEqual({
      "routerA-routerB-gre1": {
        carriesTraffic: true,
        lossPercent: 0,
        rttMs: 0.42,
        checkedAt: "2026-11-30T12:00:00.000Z",
      },
      "routerA-routerC-gre2": {
        carriesTraffic: false,
        lossPercent: 100,
        rttMs: null,
        checkedAt: "2026-11-30T12:00:00.000Z",
      },
      "routerB-routerC-gre3": null,
    });
    expect(await value(consumer.reachability)).toEqual({
      routerA: ["10.1.1.0/24", "10.3.1.0/24"],
      routerB: ["10.2.1.0/24"],
    });
    expect(references).toEqual(["acme/pulumi-gre/prod"]);
  });
});
