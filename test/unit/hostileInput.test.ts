/**
 * Hostile and careless input, as an attacker or a tired operator would type it: every one is
 * refused before anything runs on a router, with the path and the reason — by the stack config
 * and by every provider's `check`.
 */
import { greTunnelProvider } from "../../providers/greTunnel/lifecycle";
import { kernelModuleProvider } from "../../providers/oneRouter/kernelModule";
import { sysctlProvider } from "../../providers/oneRouter/sysctl";
import { tunnelRouteProvider } from "../../providers/oneRouter/tunnelRoute";
import { parseStackConfig, readStackConfig, type StackConfigError } from "../../stacks/config";
import { checkRaw, type AnyProvider } from "../support/rawCalls";

type Problem = { path: string; reason: string };

function configProblems(run: () => unknown): Problem[] {
  try {
    run();
  } catch (e) {
    if (!(e as StackConfigError).problems) throw e;
    return (e as StackConfigError).problems;
  }
  throw new Error("the config was accepted");
}

const routers = {
  routerA: { lab: "routerA", underlay: "198.51.100.11", lans: ["10.2.1.0/24"] },
  routerB: { lab: "routerB", underlay: "198.51.100.12", lans: ["10.1.1.0/24"] },
  edge: {
    connection: { host: "203.0.113.30", privateKeySecret: "edgeKey", proxy: { host: "192.0.2.99" } },
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
const toEdge = {
  name: "gre-edge",
  key: 3,
  ends: [
    { router: "edge", address: "10.10.30.1", routes: ["10.2.1.0/24"] },
    { router: "routerA", address: "10.10.30.2", routes: ["10.3.1.0/24"] },
  ],
};
const KEYWORD =
  "must not be a word iproute2 reads as a keyword (such as csum, seq, key, remote, help); choose another name";

describe("the stack config refuses", () => {
  it.each<[string, unknown, Problem[]]>([
    [
      "a tunnel named like an iproute2 keyword",
      { ...gre1, name: "csum" },
      [{ path: "tunnels[0].name", reason: KEYWORD }],
    ],
    ["a tunnel named help", { ...gre1, name: "help" }, [{ path: "tunnels[0].name", reason: KEYWORD }]],
    [
      "a tunnel named `.`",
      { ...gre1, name: "." },
      [{ path: "tunnels[0].name", reason: "must not be `.` or `..`" }],
    ],
    [
      "a tunnel named `..`",
      { ...gre1, name: ".." },
      [{ path: "tunnels[0].name", reason: "must not be `.` or `..`" }],
    ],
    [
      "a tunnel named like an option",
      { ...gre1, name: "-x" },
      [{ path: "tunnels[0].name", reason: "must not start with `-` (commands would read it as an option)" }],
    ],
    [
      "a key that is not a number",
      { ...gre1, key: "x" },
      [{ path: "tunnels[0].key", reason: "must be a number or {input, output}" }],
    ],
    [
      "ttl 0, which ip reads as inherit",
      { ...gre1, ttl: 0 },
      [
        {
          path: "tunnels[0].ttl",
          reason:
            'must be 1 or more: `ip` reads ttl 0 as "inherit" (each packet keeps its own TTL), which is not a fixed TTL',
        },
      ],
    ],
    [
      "an MSS clamp written as a command",
      { ...gre1, tcpMss: "clamp; reboot" },
      [{ path: "tunnels[0].tcpMss", reason: 'must be "clamp" (to the path MTU) or a number of bytes' }],
    ],
    [
      "an MSS clamp the tunnel's MTU cannot carry",
      { ...gre1, mtu: 1400, tcpMss: 1436 },
      [
        {
          path: "tunnels[0].tcpMss",
          reason:
            "is more than mtu 1400 allows (1400 − 40 bytes of IPv4 and TCP headers = 1360): segments would still not fit the tunnel",
        },
      ],
    ],
    [
      "a field that does not exist, with the name meant",
      { ...gre1, keepalive: 10, tll: 64 },
      [
        {
          path: "tunnels[0].keepalive",
          reason: "is not a known property (known: name, mode, key, ttl, mtu, tcpMss, verify, ipsec, ends)",
        },
        {
          path: "tunnels[0].tll",
          reason:
            "is not a known property; did you mean ttl? (known: name, mode, key, ttl, mtu, tcpMss, verify, ipsec, ends)",
        },
      ],
    ],
    [
      "a tunnel address that is unspecified",
      { ...gre1, ends: [{ router: "routerA", address: "0.0.0.0" }, gre1.ends[1]] },
      [
        {
          path: "tunnels[0].ends[0].address",
          reason: 'must not be unspecified (0.0.0.0/8): `ip` reads it as "any"',
        },
      ],
    ],
    [
      "a tunnel address that is loopback",
      { ...gre1, ends: [{ router: "routerA", address: "127.0.0.2" }, gre1.ends[1]] },
      [
        {
          path: "tunnels[0].ends[0].address",
          reason: "must not be a loopback address (127.0.0.0/8): it never leaves the router",
        },
      ],
    ],
    [
      "a remote that is multicast",
      { ...gre1, ends: [{ ...gre1.ends[0], remote: "224.0.0.5" }, gre1.ends[1]] },
      [
        {
          path: "tunnels[0].ends[0].remote",
          reason: "must not be a multicast address (224.0.0.0/4): it is not one router's",
        },
      ],
    ],
    [
      "a local address that is broadcast",
      { ...gre1, ends: [{ ...gre1.ends[0], local: "255.255.255.255" }, gre1.ends[1]] },
      [
        {
          path: "tunnels[0].ends[0].local",
          reason: "must not be the broadcast address (255.255.255.255/32): it reaches every host on a link",
        },
      ],
    ],
    [
      "an end naming __proto__ as its router",
      { ...gre1, ends: [{ router: "__proto__", address: "10.10.10.2" }, gre1.ends[1]] },
      [
        {
          path: "tunnels[0].ends[0].router",
          reason:
            'no router "__proto__" is declared under routers: the tunnel\'s peer is missing (declared: routerA, routerB, edge)',
        },
      ],
    ],
    [
      "an end naming constructor as its router",
      { ...gre1, ends: [gre1.ends[0], { router: "constructor", address: "10.10.10.1" }] },
      [
        {
          path: "tunnels[0].ends[1].router",
          reason:
            'no router "constructor" is declared under routers: the tunnel\'s peer is missing (declared: routerA, routerB, edge)',
        },
      ],
    ],
    [
      "an end naming toString as its router",
      { ...gre1, ends: [gre1.ends[0], { router: "toString", address: "10.10.10.1" }] },
      [
        {
          path: "tunnels[0].ends[1].router",
          reason:
            'no router "toString" is declared under routers: the tunnel\'s peer is missing (declared: routerA, routerB, edge)',
        },
      ],
    ],
    [
      "a tunnel address that is another router's underlay",
      { ...gre1, ends: [{ router: "routerA", address: "198.51.100.13" }, gre1.ends[1]] },
      [
        {
          path: "tunnels[0].ends[0].address",
          reason: "198.51.100.13 is the underlay address of edge; a tunnel address must be its own",
        },
      ],
    ],
    [
      "a route that captures the router's own management address",
      { ...toEdge, ends: [{ ...toEdge.ends[0], routes: ["203.0.113.0/24"] }, toEdge.ends[1]] },
      [
        {
          path: "tunnels[0].ends[0].routes[0]",
          reason:
            "203.0.113.0/24 contains 203.0.113.30, the address this router is reached at over SSH: routing it through gre-edge would capture the management path and lock Pulumi out of edge; set allowCapture: true on this end if that is meant",
        },
      ],
    ],
    [
      "a route that captures the router's jump host",
      { ...toEdge, ends: [{ ...toEdge.ends[0], routes: ["192.0.2.0/24"] }, toEdge.ends[1]] },
      [
        {
          path: "tunnels[0].ends[0].routes[0]",
          reason:
            "192.0.2.0/24 contains 192.0.2.99, the jump host this router is reached through: routing it through gre-edge would capture the management path and lock Pulumi out of edge; set allowCapture: true on this end if that is meant",
        },
      ],
    ],
    [
      "a route that captures another router's underlay",
      { ...gre1, ends: [{ ...gre1.ends[0], routes: ["198.51.100.13/32"] }, gre1.ends[1]] },
      [
        {
          path: "tunnels[0].ends[0].routes[0]",
          reason:
            "198.51.100.13/32 contains 198.51.100.13, the underlay address of edge: tunnels from routerA to edge would be routed into gre1; set allowCapture: true on this end if that is meant",
        },
      ],
    ],
    [
      "a route inside the router's own LAN",
      { ...gre1, ends: [{ ...gre1.ends[0], routes: ["10.2.1.128/25"] }, gre1.ends[1]] },
      [
        {
          path: "tunnels[0].ends[0].routes[0]",
          reason:
            "10.2.1.128/25 lies in 10.2.1.0/24, a LAN of routerA itself; it would be routed away from its own LAN",
        },
      ],
    ],
    [
      "an ip6gre tunnel between routers without IPv6 underlay addresses",
      { ...gre1, mode: "ip6gre" },
      [
        {
          path: "routers.routerA.underlay6",
          reason: "is needed by tunnel gre1 (mode ip6gre, over IPv6), or give tunnels[0].ends[0].local",
        },
        {
          path: "routers.routerB.underlay6",
          reason: "is needed by tunnel gre1 (mode ip6gre, over IPv6), or give tunnels[0].ends[1].local",
        },
      ],
    ],
    [
      "tunnel addresses equal, spelt two ways",
      {
        ...gre1,
        ends: [
          { ...gre1.ends[0], address: "2001:db8:10::1" },
          { ...gre1.ends[1], address: "2001:DB8:10:0::1" },
        ],
      },
      [{ path: "tunnels[0].ends[1].address", reason: "the two tunnel addresses are equal" }],
    ],
    ...(
      [
        ["10.1.1.0/24", "10.1.1.0/24"],
        ["2001:db8:1::/64", "2001:DB8:1:0::/64"],
      ] as const
    ).map(([first, again]): [string, unknown, Problem[]] => [
      `a route listed twice: ${first}, ${again}`,
      { ...gre1, ends: [{ ...gre1.ends[0], routes: [first, again] }, gre1.ends[1]] },
      [
        {
          path: "tunnels[0].ends[0].routes[1]",
          reason: `is listed already (as ${first}); list each prefix once`,
        },
      ],
    ]),
  ])("%s", (_title, tunnel, expected) => {
    expect(configProblems(() => parseStackConfig({ routers, tunnels: [tunnel] }))).toEqual(expected);
  });

  /** A value nested `levels` deep, in objects or arrays. */
  const nested = (levels: number, inArrays: boolean) => {
    let value: unknown = 1;
    for (let i = 0; i < levels; i++) value = inArrays ? [value] : { x: value };
    return value;
  };

  it.each([false, true])(
    "refuses a config nested 5,000 levels deep with a message, not a crash (arrays: %s)",
    (inArrays) => {
      const routersDeep = configProblems(() =>
        parseStackConfig({ routers: { a: nested(5000, inArrays) }, tunnels: [] }),
      );
      expect(routersDeep).toEqual([
        {
          path: expect.stringMatching(inArrays ? /^routers\.a(\[0\])+$/ : /^routers\.a(\.x)+$/),
          reason: "is nested more than 32 levels deep: no input is",
        },
      ]);
      const tunnelsDeep = configProblems(() =>
        parseStackConfig({ routers, tunnels: nested(5000, inArrays) }),
      );
      expect(tunnelsDeep.map((p) => p.reason)).toEqual(["is nested more than 32 levels deep: no input is"]);
    },
  );

  it("refuses two tunnels whose resource names would be one (a-b + c and a + b-c, both gre1)", () => {
    const at = (n: number) => ({ lab: "routerA", underlay: `198.51.100.${n}`, lans: [`10.${n}.1.0/24`] });
    const declared = { "a-b": at(21), c: at(22), a: at(23), "b-c": { ...at(24), lab: "routerB" } };
    const tunnel = (x: string, y: string, n: number) => ({
      name: "gre1",
      key: n,
      ends: [
        { router: x, address: `10.20.${n}.1` },
        { router: y, address: `10.20.${n}.2` },
      ],
    });
    const problems = configProblems(() =>
      parseStackConfig({ routers: declared, tunnels: [tunnel("a-b", "c", 1), tunnel("a", "b-c", 2)] }),
    );
    expect(problems).toContainEqual({
      path: "tunnels[1].name",
      reason:
        "gives the resource name a-b-c-gre1, as tunnels[0] does (its routers' and its own names joined by -): rename one",
    });
  });

  it.each<[string, Record<string, unknown>, unknown, Problem[]]>([
    [
      "::/0 through a tunnel that captures a router's IPv6 management address",
      {
        ...routers,
        edge: { ...routers.edge, connection: { host: "2001:db8:ff::30", privateKeySecret: "edgeKey" } },
      },
      { ...toEdge, ends: [{ ...toEdge.ends[0], routes: ["::/0"] }, toEdge.ends[1]] },
      [
        {
          path: "tunnels[0].ends[0].routes[0]",
          reason:
            "::/0 contains 2001:db8:ff::30, the address this router is reached at over SSH: routing it through gre-edge would capture the management path and lock Pulumi out of edge; set allowCapture: true on this end if that is meant",
        },
      ],
    ],
    [
      "an IPv6 route that captures another router's underlay6",
      { ...routers, routerB: { ...routers.routerB, underlay6: "2001:db8:1::12" } },
      { ...toEdge, ends: [{ ...toEdge.ends[0], routes: ["2001:db8::/32"] }, toEdge.ends[1]] },
      [
        {
          path: "tunnels[0].ends[0].routes[0]",
          reason:
            "2001:db8::/32 contains 2001:db8:1::12, the underlay address of routerB: tunnels from edge to routerB would be routed into gre-edge; set allowCapture: true on this end if that is meant",
        },
      ],
    ],
  ])("%s", (_title, declared, tunnel, expected) => {
    expect(configProblems(() => parseStackConfig({ routers: declared, tunnels: [tunnel] }))).toEqual(
      expected,
    );
  });

  const tap = {
    name: "tap1",
    mode: "gretap",
    key: 4,
    ends: [
      { router: "routerA", bridge: "br0" },
      { router: "routerB", bridge: "br0" },
    ],
  };
  it.each<[string, unknown, boolean, Problem[]]>([
    [
      "a bridge on one end only",
      { ...tap, ends: [tap.ends[0], { router: "routerB", address: "10.10.40.1" }] },
      false,
      [
        {
          path: "tunnels[0].ends[1].bridge",
          reason:
            "is needed on both ends or neither: a bridged end and an addressed end do not talk to each other",
        },
      ],
    ],
    [
      "a bridge port persisted",
      tap,
      true,
      [
        {
          path: "settings.persist",
          reason:
            "cannot bring back a bridge port at boot: systemd-networkd joins a link only to a bridge it creates itself; set persist: false and let the bridge's own configuration take the port (tunnel tap1, tunnels[0])",
        },
      ],
    ],
    [
      "key 0 persisted",
      { ...gre1, key: 0 },
      true,
      [
        {
          path: "tunnels[0].key",
          reason:
            "0 cannot be persisted: systemd-networkd reads key 0 as no key; choose another key or persist: false",
        },
      ],
    ],
    [
      "an IPv4 tunnel address with an IPv6 peer",
      { ...gre1, ends: [gre1.ends[0], { ...gre1.ends[1], address: "fd00:10::1" }] },
      false,
      [
        {
          path: "tunnels[0].ends[1].address",
          reason: "is IPv6 but the other end's address is IPv4: a tunnel's addresses are one family",
        },
      ],
    ],
    [
      "the field note's MSS 1436 on a keyed tunnel without mtu (the kernel gives it 1472)",
      { ...gre1, tcpMss: 1436 },
      false,
      [
        {
          path: "tunnels[0].tcpMss",
          reason:
            "is more than the tunnel carries: without mtu, the kernel gives a gre tunnel with a key MTU 1472 over a 1500-byte underlay (1472 − 40 bytes of IPv4 and TCP headers = 1432); set mtu to what the underlay path carries, or a smaller tcpMss",
        },
      ],
    ],
    [
      "an MSS on an IPv6 tunnel counted with IPv4's 40 bytes",
      {
        ...gre1,
        mtu: 1400,
        tcpMss: 1360,
        ends: [
          { ...gre1.ends[0], address: "fd00:10::2" },
          { ...gre1.ends[1], address: "fd00:10::1" },
        ],
      },
      false,
      [
        {
          path: "tunnels[0].tcpMss",
          reason:
            "is more than mtu 1400 allows (1400 − 60 bytes of IPv6 and TCP headers = 1340): segments would still not fit the tunnel",
        },
      ],
    ],
    [
      "an MTU below IPv6's least on a tunnel with IPv6 addresses",
      {
        ...gre1,
        mtu: 1200,
        ends: [
          { ...gre1.ends[0], address: "fd00:10::2" },
          { ...gre1.ends[1], address: "fd00:10::1" },
        ],
      },
      false,
      [
        {
          path: "tunnels[0].mtu",
          reason:
            "is below 1280, the least a link carrying IPv6 may have: the kernel would turn IPv6 off on the tunnel, and its IPv6 addresses with it",
        },
      ],
    ],
  ])("what GreTunnel refuses too: %s", (_title, tunnel, persist, expected) => {
    expect(
      configProblems(() => parseStackConfig({ routers, tunnels: [tunnel], settings: { persist } })),
    ).toEqual(expected);
  });

  it("refuses a list with a hole in it (a program's sparse array) with a message, not a crash", () => {
    const problems = configProblems(() => parseStackConfig({ routers, tunnels: [, gre1] }));
    expect(problems.map((p) => p.path)).toContain("tunnels[0]");
  });

  it("accepts a capturing route when the end says so", () => {
    const allowed = {
      ...toEdge,
      ends: [{ ...toEdge.ends[0], routes: ["203.0.113.0/24"], allowCapture: true }, toEdge.ends[1]],
    };
    expect(() => parseStackConfig({ routers, tunnels: [allowed] })).not.toThrow();
  });

  it.each<[string, Record<string, unknown>, Problem[]]>([
    [
      "one lab router declared under two names",
      { ...routers, routerA2: { lab: "routerA", underlay: "198.51.100.21", lans: [] } },
      [
        {
          path: "routers.routerA2",
          reason:
            "is lab router routerA, which is declared already as routerA; one router must be declared once",
        },
      ],
    ],
    [
      "one host and port declared under two names",
      {
        ...routers,
        edge2: { connection: { host: "203.0.113.30", port: 22 }, underlay: "198.51.100.22", lans: [] },
      },
      [
        {
          path: "routers.edge2",
          reason: "is 203.0.113.30:22, which is declared already as edge; one router must be declared once",
        },
      ],
    ],
    [
      "one router under two names, its host spelt two ways",
      {
        ...routers,
        edge: { ...routers.edge, connection: { host: "2001:DB8:0::30", privateKeySecret: "edgeKey" } },
        edge2: { connection: { host: "2001:db8::30" }, underlay: "198.51.100.22", lans: [] },
      },
      [
        {
          path: "routers.edge2",
          reason: "is [2001:db8::30]:22, which is declared already as edge; one router must be declared once",
        },
      ],
    ],
    [
      "overlapping LANs on one router",
      { ...routers, routerA: { ...routers.routerA, lans: ["10.2.0.0/16", "10.2.1.0/24"] } },
      [{ path: "routers.routerA.lans[1]", reason: "overlaps 10.2.0.0/16, another LAN of routerA" }],
    ],
    [
      "two routers with one underlay address",
      { ...routers, routerB: { ...routers.routerB, underlay: "198.51.100.11" } },
      [
        {
          path: "routers.routerB.underlay",
          reason:
            "198.51.100.11 is the underlay address of routerA already; two routers cannot have one address",
        },
      ],
    ],
    [
      "two routers with one IPv6 underlay address, spelt two ways",
      {
        ...routers,
        routerA: { ...routers.routerA, underlay6: "2001:db8:100::11" },
        routerB: { ...routers.routerB, underlay6: "2001:DB8:100:0::11" },
      },
      [
        {
          path: "routers.routerB.underlay6",
          reason:
            "2001:db8:100::11 is the underlay address of routerA already; two routers cannot have one address",
        },
      ],
    ],
    [
      "an IPv6 underlay written as IPv4-mapped",
      { ...routers, routerA: { ...routers.routerA, underlay6: "::ffff:198.51.100.11" } },
      [
        {
          path: "routers.routerA.underlay6",
          reason:
            "must not be an IPv4-mapped IPv6 address (::ffff:0:0/96): write the IPv4 address, 198.51.100.11",
        },
      ],
    ],
    [
      "a multicast range as a LAN",
      { ...routers, routerA: { ...routers.routerA, lans: ["ff02::/16"] } },
      [
        {
          path: "routers.routerA.lans[0]",
          reason:
            "must not lie in ff00::/8, where every address is a multicast address: it is not one router's",
        },
      ],
    ],
    [
      "an underlay address that is unspecified",
      { ...routers, routerA: { ...routers.routerA, underlay: "0.0.0.0" } },
      [
        {
          path: "routers.routerA.underlay",
          reason: 'must not be unspecified (0.0.0.0/8): `ip` reads it as "any"',
        },
      ],
    ],
    [
      "a jump host's password in plain text",
      {
        ...routers,
        edge: {
          ...routers.edge,
          connection: { ...routers.edge.connection, proxy: { host: "192.0.2.99", password: "hunter2" } },
        },
      },
      [
        {
          path: "routers.edge.connection.proxy.password",
          reason:
            "must not be written in the config: store it with `pulumi config set --secret NAME` and give NAME as passwordSecret",
        },
      ],
    ],
    [
      "a router name with a property the config does not have",
      { ...routers, routerB: { ...routers.routerB, lan: ["10.1.1.0/24"] } },
      [
        {
          path: "routers.routerB.lan",
          reason:
            "is not a known property; did you mean lans? (known: lab, connection, underlay, underlay6, lans, decommissioned)",
        },
      ],
    ],
  ])("%s", (_title, declared, expected) => {
    expect(configProblems(() => parseStackConfig({ routers: declared, tunnels: [gre1] }))).toEqual(expected);
  });

  const all = (extra: Record<string, string>) => ({
    "pulumi-gre:routers": JSON.stringify(routers),
    "pulumi-gre:tunnels": JSON.stringify([gre1]),
    "pulumi-gre:edgeKey": "-----BEGIN OPENSSH PRIVATE KEY-----",
    "aws:region": "eu-west-1",
    ...extra,
  });

  it.each<[string, Record<string, string>, Problem[]]>([
    [
      "a misspelt key of the project (its tunnels would be ignored)",
      { "pulumi-gre:tunels": "[]" },
      [
        {
          path: "tunels",
          reason:
            "is not a key this stack reads; did you mean pulumi-gre:tunnels? (it reads routers, tunnels, settings, sshPrivateKey and the secrets routers name)",
        },
      ],
    ],
    [
      "a key in a misspelt namespace",
      { "pulumi-gr:settings": "{}" },
      [
        {
          path: "settings",
          reason:
            "is set as pulumi-gr:settings, in namespace pulumi-gr, which this stack does not read; did you mean pulumi-gre:settings?",
        },
      ],
    ],
  ])("%s", (_title, extra, expected) => {
    expect(configProblems(() => readStackConfig(all(extra)))).toEqual(expected);
  });

  it("refuses a config that declares no tunnel, unless the settings say so", () => {
    const { ["pulumi-gre:tunnels"]: _dropped, ...noTunnels } = all({});
    expect(configProblems(() => readStackConfig({ ...noTunnels, "pulumi-gr:tunnels": "[]" }))).toEqual([
      {
        path: "tunnels",
        reason:
          "is set as pulumi-gr:tunnels, in namespace pulumi-gr, which this stack does not read; did you mean pulumi-gre:tunnels?",
      },
      {
        path: "tunnels",
        reason:
          "declares no tunnel: `up` would remove every tunnel this stack made. Set pulumi-gre:settings.allowNoTunnels: true if that is meant",
      },
    ]);
    expect(() =>
      readStackConfig({ ...noTunnels, "pulumi-gre:settings": JSON.stringify({ allowNoTunnels: true }) }),
    ).not.toThrow();
  });

  it("accepts a config whose every key is read", () => {
    expect(() =>
      readStackConfig(all({ "pulumi-gre:settings": JSON.stringify({ persist: true }) })),
    ).not.toThrow();
  });
});

const connection = { host: "169.254.100.12", privateKey: "key", name: "routerB" };

async function failures(provider: AnyProvider, news: Record<string, unknown>) {
  return (await checkRaw(provider, { ...news, __provider: "serialized" })).failures ?? [];
}

describe("every provider's check refuses", () => {
  const tunnel = {
    name: "gre1",
    endpoints: [
      {
        connection: { ...connection, host: "169.254.100.11", name: "routerA" },
        local: "198.51.100.11",
        address: "10.10.10.2",
      },
      { connection, local: "198.51.100.12", address: "10.10.10.1" },
    ],
  };
  const endpoint = (i: number, change: Record<string, unknown>) => ({
    ...tunnel,
    endpoints: tunnel.endpoints.map((e, j) => (j === i ? { ...e, ...change } : e)),
  });
  type HostileRow = [
    string,
    AnyProvider,
    Record<string, unknown>,
    Array<{ property: string; reason: string }>,
  ];
  it.each<HostileRow>([
    [
      "GreTunnel named csum",
      greTunnelProvider,
      { ...tunnel, name: "csum" },
      [{ property: "name", reason: KEYWORD }],
    ],
    [
      "GreTunnel named seq",
      greTunnelProvider,
      { ...tunnel, name: "seq" },
      [{ property: "name", reason: KEYWORD }],
    ],
    [
      "GreTunnel with an unspecified local address",
      greTunnelProvider,
      endpoint(0, { local: "0.0.0.0" }),
      [
        {
          property: "endpoints[0].local",
          reason: 'must not be unspecified (0.0.0.0/8): `ip` reads it as "any"',
        },
      ],
    ],
    [
      "GreTunnel with a link-local tunnel address",
      greTunnelProvider,
      endpoint(1, { address: "169.254.7.7" }),
      [
        {
          property: "endpoints[1].address",
          reason: "must not be a link-local address (169.254.0.0/16): it is valid on one link only",
        },
      ],
    ],
    [
      "GreTunnel with a class E peer address",
      greTunnelProvider,
      endpoint(1, { peerAddress: "250.1.1.1" }),
      [
        {
          property: "endpoints[1].peerAddress",
          reason: "must not be a reserved (class E) address (240.0.0.0/4): routers do not forward it",
        },
      ],
    ],
    [
      "GreTunnel with an IPv4 tunnel address and an IPv6 peer",
      greTunnelProvider,
      endpoint(1, { address: "fd00:10::1" }),
      [
        {
          property: "endpoints[1].address",
          reason: "is IPv6 but the other end's address is IPv4: a tunnel's addresses are one family",
        },
      ],
    ],
    [
      "GreTunnel whose ends share one underlay address, spelt two ways",
      greTunnelProvider,
      {
        ...tunnel,
        mode: "ip6gre",
        endpoints: [
          { ...tunnel.endpoints[0], local: "2001:db8:1::11" },
          { ...tunnel.endpoints[1], local: "2001:DB8:1:0::11" },
        ],
      },
      [
        { property: "endpoints[1].local", reason: "both endpoints have the same underlay address" },
        { property: "endpoints[0].local", reason: "local and remote are the same address" },
        { property: "endpoints[1].local", reason: "local and remote are the same address" },
      ],
    ],
    [
      "GreTunnel with both ends on one router, its host spelt two ways",
      greTunnelProvider,
      {
        ...tunnel,
        endpoints: [
          { ...tunnel.endpoints[0], connection: { ...connection, host: "router.EXAMPLE.net" } },
          { ...tunnel.endpoints[1], connection: { ...connection, host: "Router.example.NET" } },
        ],
      },
      [
        {
          property: "endpoints[1].connection.host",
          reason: "both endpoints are on the same router (router.EXAMPLE.net); a tunnel joins two routers",
        },
      ],
    ],
    [
      "GreTunnel with the field note's MSS 1436, a key and no mtu",
      greTunnelProvider,
      { ...tunnel, key: 1, tcpMss: 1436 },
      [
        {
          property: "tcpMss",
          reason:
            "is more than the tunnel carries: without mtu, the kernel gives a gre tunnel with a key MTU 1472 over a 1500-byte underlay (1472 − 40 bytes of IPv4 and TCP headers = 1432); set mtu to what the underlay path carries, or a smaller tcpMss",
        },
      ],
    ],
    [
      "KernelModule named like an option",
      kernelModuleProvider,
      { connection, name: "-r" },
      [
        {
          property: "name",
          reason:
            "must be a kernel module name: letters, digits, `_` or `-`, starting with a letter or digit",
        },
      ],
    ],
    [
      "KernelModule named --help",
      kernelModuleProvider,
      { connection, name: "--help" },
      [
        {
          property: "name",
          reason:
            "must be a kernel module name: letters, digits, `_` or `-`, starting with a letter or digit",
        },
      ],
    ],
    [
      "Sysctl whose key is a path",
      sysctlProvider,
      { connection, key: "net.//.//.//.etc.shadow", value: 1 },
      [{ property: "key", reason: "must be a sysctl name such as net.ipv4.ip_forward" }],
    ],
    [
      "Sysctl whose key is an option",
      sysctlProvider,
      { connection, key: "-a", value: 1 },
      [{ property: "key", reason: "must be a sysctl name such as net.ipv4.ip_forward" }],
    ],
    [
      "Sysctl whose key word starts with a dash",
      sysctlProvider,
      { connection, key: "net.-p.x", value: 1 },
      [{ property: "key", reason: "must be a sysctl name such as net.ipv4.ip_forward" }],
    ],
    [
      "Sysctl outside net.* (the kernel's core pattern runs a program as root)",
      sysctlProvider,
      { connection, key: "kernel.core_pattern", value: "|/tmp/x" },
      [
        {
          property: "key",
          reason:
            "is outside net.*, which is all a router's tunnels and routing need; a key such as kernel.core_pattern or kernel.modprobe changes what the kernel runs as root: set allowAnyKey: true to set it anyway",
        },
      ],
    ],
    [
      "Sysctl with a value longer than one write",
      sysctlProvider,
      { connection, key: "net.ipv4.ip_forward", value: "1".repeat(5000) },
      [{ property: "value", reason: "must be at most 4096 characters (what the kernel takes in one write)" }],
    ],
    ...["-oProxyCommand=sh", "-p2222"].map((host): HostileRow => [
      `a connection whose host ${host} is an option`,
      kernelModuleProvider,
      { connection: { ...connection, host }, name: "ip_gre" },
      [
        {
          property: "connection.host",
          reason: "must not start with `-`: ssh, and a ProxyCommand's %h, would read it as an option",
        },
      ],
    ]),
    ...["0", "0.0.0.0", "::", "0:0::0", "0.0"].map((host): HostileRow => [
      `a connection to ${host}, this machine`,
      kernelModuleProvider,
      { connection: { ...connection, host }, name: "ip_gre" },
      [
        {
          property: "connection.host",
          reason:
            "is the unspecified address (0.0.0.0 or ::, however spelt): it reaches this machine, not a router",
        },
      ],
    ]),
    [
      "a connection whose host is longer than a DNS name",
      kernelModuleProvider,
      { connection: { ...connection, host: "a".repeat(1_000_000) }, name: "ip_gre" },
      [{ property: "connection.host", reason: "must be at most 253 characters (a DNS name's limit)" }],
    ],
    ...["routerB\nrouterB: gre1 is missing", "router\u001b[31mB", "router\u202eB"].map((name): HostileRow => [
      `a connection name that could forge a line of output: ${JSON.stringify(name)}`,
      sysctlProvider,
      { connection: { ...connection, name }, key: "net.ipv4.ip_forward", value: 1 },
      [
        {
          property: "connection.name",
          reason: "must be printable text on one line: no control characters, line breaks or escapes",
        },
      ],
    ]),
    [
      "a private key of a megabyte",
      kernelModuleProvider,
      { connection: { ...connection, privateKey: "k".repeat(1_000_000) }, name: "ip_gre" },
      [{ property: "connection.privateKey", reason: "must be at most 65536 characters long" }],
    ],
    ...(
      [
        [
          "::ffff:127.0.0.1",
          "must not be an IPv4-mapped IPv6 address (::ffff:0:0/96): write the IPv4 address, 127.0.0.1",
        ],
        [
          "::ffff:0.0.0.0",
          "must not be an IPv4-mapped IPv6 address (::ffff:0:0/96): write the IPv4 address, 0.0.0.0",
        ],
        [
          "::FFFF:224.0.0.1",
          "must not be an IPv4-mapped IPv6 address (::ffff:0:0/96): write the IPv4 address, 224.0.0.1",
        ],
        [
          "2002:c000:204::1",
          "must not be a 6to4 address (2002::/16): it is an IPv4 address carried through public relays (deprecated, RFC 7526); use the router's native IPv6 address, or its IPv4 address",
        ],
        [
          "2001:0:4136:e378::1",
          "must not be a Teredo address (2001::/32): it belongs to a NAT mapping that changes, not to the router; use the router's native IPv6 address",
        ],
      ] as const
    ).map(([address, reason]): HostileRow => [
      `GreTunnel with a tunnel address that stands for something else: ${address}`,
      greTunnelProvider,
      endpoint(1, { address }),
      [{ property: "endpoints[1].address", reason }],
    ]),
    ...(
      [
        [
          "224.0.0.0/4",
          "must not lie in 224.0.0.0/4, where every address is a multicast address: it is not one router's",
        ],
        [
          "ff00::/8",
          "must not lie in ff00::/8, where every address is a multicast address: it is not one router's",
        ],
        [
          "fe80::/10",
          "must not lie in fe80::/10, where every address is a link-local address: it is valid on one link only",
        ],
        [
          "127.0.0.0/8",
          "must not lie in 127.0.0.0/8, where every address is a loopback address: it never leaves the router",
        ],
        [
          "::1/128",
          "must not lie in ::1/128, where every address is a loopback address: it never leaves the router",
        ],
      ] as const
    ).map(([destination, reason]): HostileRow => [
      `TunnelRoute to ${destination}, which no router routes`,
      tunnelRouteProvider,
      { connection, destination, device: "gre1" },
      [{ property: "destination", reason }],
    ]),
    [
      "TunnelRoute that captures the router's management address",
      tunnelRouteProvider,
      { connection, destination: "169.254.0.0/15", device: "gre1" },
      [
        {
          property: "destination",
          reason:
            "contains 169.254.100.12, the address this router is reached at over SSH: the route would capture the management path and lock Pulumi out of the router; set allowCapture: true if that is meant",
        },
      ],
    ],
    [
      "TunnelRoute ::/0 that captures the router's IPv6 management address",
      tunnelRouteProvider,
      { connection: { ...connection, host: "2001:db8:ff::12" }, destination: "::/0", device: "gre1" },
      [
        {
          property: "destination",
          reason:
            "contains 2001:db8:ff::12, the address this router is reached at over SSH: the route would capture the management path and lock Pulumi out of the router; set allowCapture: true if that is meant",
        },
      ],
    ],
    [
      "TunnelRoute that captures the IPv6 jump host",
      tunnelRouteProvider,
      {
        connection: { ...connection, proxy: { host: "2001:DB8:fe::1", privateKey: "key" } },
        destination: "2001:db8:fe::/48",
        device: "gre1",
      },
      [
        {
          property: "destination",
          reason:
            "contains 2001:DB8:fe::1, the jump host this router is reached through: the route would capture the management path and lock Pulumi out of the router; set allowCapture: true if that is meant",
        },
      ],
    ],
    [
      "TunnelRoute ::/0 through an ip6gre tunnel whose remote lies in it (recursive)",
      tunnelRouteProvider,
      {
        connection,
        destination: "::/0",
        tunnel: {
          name: "gre6",
          local: "2001:db8:1::11",
          remote: "2001:db8:1::12",
          address: "fd00:10::2",
          peerAddress: "fd00:10::1",
        },
      },
      [
        {
          property: "destination",
          reason:
            "contains 2001:db8:1::12, the tunnel's underlay peer: the tunnel's own GRE packets would be routed into the tunnel (recursive routing); route the LAN behind the peer, not its underlay address",
        },
      ],
    ],
    [
      "TunnelRoute through a device named help",
      tunnelRouteProvider,
      { connection, destination: "10.2.1.0/24", device: "help" },
      [{ property: "device", reason: KEYWORD }],
    ],
    [
      "TunnelRoute via an unspecified next hop",
      tunnelRouteProvider,
      { connection, destination: "10.2.1.0/24", via: "0.0.0.0" },
      [{ property: "via", reason: 'must not be unspecified (0.0.0.0/8): `ip` reads it as "any"' }],
    ],
    [
      "TunnelRoute persisted without the link it goes through",
      tunnelRouteProvider,
      { connection, destination: "10.2.1.0/24", via: "10.10.10.2", persist: true },
      [
        {
          property: "persist",
          reason:
            "needs the route's device or tunnel: systemd-networkd brings a route back with the link it goes through",
        },
      ],
    ],
    [
      "a property nobody declared, with the name meant",
      tunnelRouteProvider,
      { connection, destination: "10.2.1.0/24", via: "10.10.10.2", metirc: 5 },
      [
        {
          property: "metirc",
          reason:
            "is not a known property; did you mean metric? (known: connection, destination, via, device, metric, table, source, takeOver, allowCapture, persist, tunnel)",
        },
      ],
    ],
  ])("%s", async (_title, provider, news, expected) => {
    expect(await failures(provider, news)).toEqual(expected);
  });

  it("refuses inputs nested 5,000 levels deep with a message, not a crash", async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 5000; i++) deep = { x: deep };
    for (const provider of [
      greTunnelProvider,
      kernelModuleProvider,
      sysctlProvider,
      tunnelRouteProvider,
    ] as AnyProvider[])
      expect(await failures(provider, { connection: { ...connection, proxy: deep } })).toEqual([
        {
          property: expect.stringMatching(/^connection\.proxy(\.x)+$/),
          reason: "is nested more than 32 levels deep: no input is",
        },
      ]);
  });

  it("accepts a capturing route when it says so", async () => {
    expect(
      await failures(tunnelRouteProvider, {
        connection,
        destination: "169.254.0.0/15",
        device: "gre1",
        allowCapture: true,
      }),
    ).toEqual([]);
  });
});
