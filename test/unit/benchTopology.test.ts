import { topologyConfig, topologyPairs } from "../../bench/topology";
import { labIdentity } from "../../lab/topology";
import { parseStackConfig } from "../../stacks/config";

describe("benchmark topologies", () => {
  it.each<["mesh" | "hub", number, number]>([
    ["mesh", 2, 1],
    ["mesh", 4, 6],
    ["mesh", 6, 15],
    ["hub", 4, 3],
    ["hub", 6, 5],
  ])("%s of %i routers has %i tunnels", (topology, routers, tunnels) => {
    expect(topologyPairs(topology, routers)).toHaveLength(tunnels);
  });

  it("yields a stack configuration the stack program accepts, with distinct names, keys and addresses", () => {
    const { config, tunnels } = topologyConfig(labIdentity("/bench"), "mesh", 4);
    expect(tunnels.map((t) => `${t.name}:${t.routers.join("-")}`)).toEqual([
      "gre-a-b:routerA-routerB",
      "gre-a-c:routerA-routerC",
      "gre-a-d:routerA-routerD",
      "gre-b-c:routerB-routerC",
      "gre-b-d:routerB-routerD",
      "gre-c-d:routerC-routerD",
    ]);
    const parsed = parseStackConfig({
      routers: config["pulumi-gre:routers"],
      tunnels: config["pulumi-gre:tunnels"],
      settings: config["pulumi-gre:settings"],
    });
    expect(parsed.tunnels[5]).toEqual({
      name: "gre-c-d",
      key: 6,
      ends: [
        { router: "routerC", address: "10.255.5.1" },
        { router: "routerD", address: "10.255.5.2" },
      ],
    });
    expect(parsed.routers.routerD).toEqual({
      lab: "routerD",
      underlay: "198.51.100.14",
      lans: ["10.4.1.0/24"],
    });
  });
});
