import * as path from "path";
import { parseStackConfig, type StackConfigError } from "../../stacks/config";
import { loadProject } from "../../tools/engine/engine";

const ROOT = path.resolve(__dirname, "../..");

/** The dev stack's config as Pulumi hands it to the program. */
function devConfig(): { routers: unknown; tunnels: unknown; settings: unknown } {
  const { config } = loadProject(ROOT, "dev");
  return {
    routers: JSON.parse(config["pulumi-gre:routers"]),
    tunnels: JSON.parse(config["pulumi-gre:tunnels"]),
    settings: JSON.parse(config["pulumi-gre:settings"]),
  };
}

function problems(raw: {
  routers?: unknown;
  tunnels?: unknown;
  settings?: unknown;
}): Array<{ path: string; reason: string }> {
  try {
    parseStackConfig(raw);
  } catch (e) {
    return (e as StackConfigError).problems;
  }
  throw new Error("the config was accepted");
}

const routers = {
  routerA: { lab: "routerA", underlay: "198.51.100.11", lans: ["10.2.1.0/24"] },
  routerB: { lab: "routerB", underlay: "198.51.100.12", lans: ["10.1.1.0/24"] },
  routerC: {
    connection: { host: "203.0.113.30", user: "netops", sudo: true, privateKeySecret: "routerCKey" },
    underlay: "198.51.100.13",
    lans: ["10.3.1.0/24"],
  },
};
const gre1 = {
  name: "gre1",
  key: 1,
  ends: [
    { router: "routerA", address: "10.10.10.2" },
    { router: "routerB", address: "10.10.10.1" },
  ],
};

describe("the stack configuration", () => {
  it("reads Pulumi.dev.yaml: the field note on the lab", () => {
    expect(parseStackConfig(devConfig())).toEqual({
      routers: {
        routerA: { lab: "routerA", underlay: "198.51.100.11", lans: ["10.2.1.0/24"] },
        routerB: { lab: "routerB", underlay: "198.51.100.12", lans: ["10.1.1.0/24"] },
      },
      tunnels: [
        {
          name: "gre1",
          key: 1,
          ttl: 255,
          ends: [
            { router: "routerA", address: "10.10.10.2", routes: ["10.1.1.0/24"] },
            { router: "routerB", address: "10.10.10.1", routes: ["10.2.1.0/24"] },
          ],
        },
      ],
      settings: { persist: false, unloadModulesOnDestroy: true, allowNoTunnels: false },
    });
  });

  it("accepts a real router reached with a secret key and sudo, and several tunnels with distinct keys", () => {
    // A second tunnel between the same pair needs its own key; it routes nothing of its own here
    // (the LANs go through gre1: one route per destination).
    const gre2 = {
      name: "gre2",
      key: 2,
      ends: [
        { router: "routerA", address: "10.10.20.2", routes: [] },
        { router: "routerB", address: "10.10.20.1", routes: [] },
      ],
    };
    const toC = {
      name: "gre3",
      ends: [
        { router: "routerC", address: "10.10.30.1" },
        { router: "routerA", address: "10.10.30.2" },
      ],
    };
    expect(() => parseStackConfig({ routers, tunnels: [gre1, gre2, toC] })).not.toThrow();
    // A hub's own names per spoke: the same tunnel name elsewhere, each end named on its router.
    const spokes = ["routerB", "routerC"].map((spoke, i) => ({
      name: `hub-${spoke}`,
      key: 10 + i,
      ends: [
        { router: "routerA", name: `gre-${spoke}`, address: `10.10.${40 + i}.1` },
        { router: spoke, name: "gre-hub", address: `10.10.${40 + i}.2` },
      ],
    }));
    expect(
      parseStackConfig({ routers, tunnels: spokes }).tunnels.map((t) => t.ends.map((e) => e.name)),
    ).toEqual([
      ["gre-routerB", "gre-hub"],
      ["gre-routerC", "gre-hub"],
    ]);
  });

  it.each<[string, { routers?: unknown; tunnels?: unknown }, Array<{ path: string; reason: string }>]>([
    [
      "a tunnel to a router that is not declared (a missing peer)",
      { routers, tunnels: [{ ...gre1, ends: [gre1.ends[0], { router: "routerD", address: "10.10.10.1" }] }] },
      [
        {
          path: "tunnels[0].ends[1].router",
          reason:
            'no router "routerD" is declared under routers: the tunnel\'s peer is missing (declared: routerA, routerB, routerC)',
        },
      ],
    ],
    [
      "two tunnels with one interface name on a router",
      {
        routers,
        tunnels: [
          gre1,
          {
            ...gre1,
            key: 2,
            ends: [
              { router: "routerA", address: "10.10.20.2" },
              { router: "routerC", address: "10.10.20.1" },
            ],
          },
        ],
      },
      [{ path: "tunnels[1].name", reason: "routerA already has a tunnel named gre1 (tunnels[0])" }],
    ],
    [
      "an end's own interface name already used on its router",
      {
        routers,
        tunnels: [
          gre1,
          {
            name: "to-c",
            key: 2,
            ends: [
              { router: "routerA", name: "gre1", address: "10.10.20.2" },
              { router: "routerC", address: "10.10.20.1" },
            ],
          },
        ],
      },
      [{ path: "tunnels[1].ends[0].name", reason: "routerA already has a tunnel named gre1 (tunnels[0])" }],
    ],
    [
      "an IPsec tunnel whose name has a dot",
      { routers, tunnels: [{ ...gre1, name: "gre.1", ipsec: { pskSecret: "psk" } }] },
      [
        {
          path: "tunnels[0].name",
          reason:
            "with ipsec, letters, digits, `_` and `-` only: strongSwan reads `.` in a connection name as a separator",
        },
      ],
    ],
    [
      "an IPsec end whose own name has a dot",
      {
        routers,
        tunnels: [
          { ...gre1, ipsec: { pskSecret: "psk" }, ends: [{ ...gre1.ends[0], name: "gre.b" }, gre1.ends[1]] },
        ],
      },
      [
        {
          path: "tunnels[0].ends[0].name",
          reason:
            "with ipsec, letters, digits, `_` and `-` only: strongSwan reads `.` in a connection name as a separator",
        },
      ],
    ],
    [
      "two tunnels between one pair with the same key",
      {
        routers,
        tunnels: [
          gre1,
          {
            ...gre1,
            name: "gre2",
            ends: [
              { router: "routerB", address: "10.10.20.1", routes: [] },
              { router: "routerA", address: "10.10.20.2", routes: [] },
            ],
          },
        ],
      },
      [
        {
          path: "tunnels[1].key",
          reason:
            "tunnels[0] already joins routerB and routerA with key 1; tunnels between the same routers need distinct keys (the kernel matches incoming GRE on local, remote and key)",
        },
      ],
    ],
    [
      "two keyless tunnels between one pair",
      {
        routers,
        tunnels: [
          { ...gre1, key: undefined },
          {
            name: "gre2",
            ends: [
              { router: "routerA", address: "10.10.20.2", routes: [] },
              { router: "routerB", address: "10.10.20.1", routes: [] },
            ],
          },
        ],
      },
      [
        {
          path: "tunnels[1].key",
          reason:
            "tunnels[0] already joins routerA and routerB with no key; tunnels between the same routers need distinct keys (the kernel matches incoming GRE on local, remote and key)",
        },
      ],
    ],
    [
      "overlapping tunnel addresses",
      {
        routers,
        tunnels: [
          gre1,
          {
            name: "gre2",
            ends: [
              { router: "routerA", address: "10.10.10.2" },
              { router: "routerC", address: "10.10.20.1" },
            ],
          },
        ],
      },
      [
        {
          path: "tunnels[1].ends[0].address",
          reason:
            "10.10.10.2 is already used by tunnels[0].ends[0].address; tunnel addresses must not overlap",
        },
      ],
    ],
    [
      "a tunnel address inside a LAN",
      { routers, tunnels: [{ ...gre1, ends: [{ router: "routerA", address: "10.1.1.9" }, gre1.ends[1]] }] },
      [
        {
          path: "tunnels[0].ends[0].address",
          reason: "10.1.1.9 lies in 10.1.1.0/24, a LAN of routerB; tunnel addresses must not overlap LANs",
        },
      ],
    ],
    [
      "a route that would be recursive",
      {
        routers,
        tunnels: [{ ...gre1, ends: [{ ...gre1.ends[0], routes: ["198.51.100.0/24"] }, gre1.ends[1]] }],
      },
      [
        {
          path: "tunnels[0].ends[0].routes[0]",
          reason:
            "198.51.100.0/24 contains 198.51.100.12, the tunnel's underlay peer: routing it through gre1 would route the tunnel's own GRE packets into the tunnel (recursive routing)",
        },
        {
          path: "tunnels[0].ends[0].routes[0]",
          reason:
            "198.51.100.0/24 contains 198.51.100.13, the underlay address of routerC: tunnels from routerA to routerC would be routed into gre1; set allowCapture: true on this end if that is meant",
        },
      ],
    ],
    [
      "a default route through the tunnel taken from the peer's LANs",
      { routers: { ...routers, routerB: { ...routers.routerB, lans: ["0.0.0.0/0"] } }, tunnels: [gre1] },
      [
        {
          path: "routers.routerB.lans",
          reason:
            "0.0.0.0/0 contains 198.51.100.12, the tunnel's underlay peer: routing it through gre1 would route the tunnel's own GRE packets into the tunnel (recursive routing)",
        },
        {
          path: "routers.routerB.lans",
          reason:
            "0.0.0.0/0 contains 198.51.100.13, the underlay address of routerC: tunnels from routerA to routerC would be routed into gre1; set allowCapture: true on this end if that is meant",
        },
      ],
    ],
    [
      "both ends on one router",
      { routers, tunnels: [{ ...gre1, ends: [gre1.ends[0], { router: "routerA", address: "10.10.10.1" }] }] },
      [
        {
          path: "tunnels[0].ends[1].router",
          reason: "both ends are on the same router; a tunnel joins two routers",
        },
      ],
    ],
    [
      "an invalid address and a prefix with host bits",
      {
        routers: {
          ...routers,
          routerA: { ...routers.routerA, underlay: "198.51.100.300", lans: ["10.2.1.7/24"] },
        },
        tunnels: [],
      },
      [
        {
          path: "routers.routerA.underlay",
          reason: "must be an IPv4 address such as 198.51.100.11, without prefix length",
        },
        { path: "routers.routerA.lans[0]", reason: "is not a network address; did you mean 10.2.1.0/24?" },
      ],
    ],
    [
      "a router with neither lab nor connection",
      { routers: { routerA: { underlay: "198.51.100.11" } }, tunnels: [] },
      [{ path: "routers.routerA", reason: "give either lab (a lab router's name) or connection" }],
    ],
    [
      "a private key written into the config in plain text",
      {
        routers: {
          routerA: {
            connection: { host: "203.0.113.10", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" },
            underlay: "198.51.100.11",
          },
        },
        tunnels: [],
      },
      [
        {
          path: "routers.routerA.connection.privateKey",
          reason:
            "must not be written in the config: store it with `pulumi config set --secret NAME` and give NAME as privateKeySecret",
        },
      ],
    ],
  ])("refuses %s, naming the config path", (_title, raw, expected) => {
    expect(problems(raw)).toEqual(expected);
  });

  it("says all of it in the error message", () => {
    expect(() =>
      parseStackConfig({
        routers,
        tunnels: [{ ...gre1, ends: [gre1.ends[0], { router: "routerD", address: "10.10.10.1" }] }],
      }),
    ).toThrow(
      'the stack configuration cannot be deployed:\n  pulumi-gre:tunnels[0].ends[1].router: no router "routerD" is declared under routers',
    );
  });
});
