import { readFileSync } from "fs";
import * as path from "path";
import { parseIpAddr, parseIpLink } from "../../commands/iproute2/parseIp";
import {
  endDifferences,
  observeEnd,
  planEnd,
  planRemove,
  planRestore,
  type EndPlan,
  type RouterObservation,
} from "../../commands/iproute2/planTunnel";
import { preflightProblems } from "../../commands/iproute2/greSupport";
import type { TunnelEndSpec } from "../../commands/iproute2/tunnelCommands";
import { commandLine } from "../../transport/script";
import { fieldNoteEndA } from "./fieldNoteEnds";

function fixture(name: string): string {
  return readFileSync(path.join(__dirname, "../fixtures/ip", name), "utf8");
}

/** routerA as recorded: freshly booted (plus ip_gre), or holding gre1, gre2, gre3 and dummy7. */
const fresh: RouterObservation = {
  links: parseIpLink(fixture("link-fresh.json")),
  addresses: parseIpAddr(fixture("addr-fresh.json")),
  greAvailable: true,
};
const withTunnels: RouterObservation = {
  links: parseIpLink(fixture("link-tunnels.json")),
  addresses: parseIpAddr(fixture("addr-tunnels.json")),
  greAvailable: true,
};

/** The field note's end on routerA: gre1, key 1, ttl 255, 10.10.10.2 peer 10.10.10.1. */
function spec(overrides: Partial<TunnelEndSpec> = {}): TunnelEndSpec {
  return fieldNoteEndA(overrides);
}

/** A plan with its commands as shell lines, for readable expectations. */
function shown(plan: EndPlan): unknown {
  return "commands" in plan ? { ...plan, commands: plan.commands.map((c) => commandLine(c.argv)) } : plan;
}

const FIELD_NOTE_COMMANDS = [
  "ip tunnel add name gre1 mode gre remote 198.51.100.12 local 198.51.100.11 ikey 1 okey 1 ttl 255",
  "ip addr replace 10.10.10.2 dev gre1 peer 10.10.10.1",
  "ip link set dev gre1 up",
];

describe("planEnd", () => {
  it.each<[string, TunnelEndSpec, RouterObservation, "create" | "converge", unknown]>([
    [
      "creates the field note's end on a fresh router",
      spec(),
      fresh,
      "create",
      { action: "create", commands: FIELD_NOTE_COMMANDS },
    ],
    [
      "repairs a missing end the same way",
      spec(),
      fresh,
      "converge",
      { action: "create", commands: FIELD_NOTE_COMMANDS },
    ],
    [
      "creates an unkeyed end with an MTU",
      spec({ name: "gre5", ikey: undefined, okey: undefined, remote: "198.51.100.13", mtu: 1400 }),
      withTunnels,
      "create",
      {
        action: "create",
        commands: [
          "ip tunnel add name gre5 mode gre remote 198.51.100.13 local 198.51.100.11 ttl 255",
          "ip addr replace 10.10.10.2 dev gre5 peer 10.10.10.1",
          "ip link set dev gre5 mtu 1400 up",
        ],
      },
    ],
    [
      "adopts an identical tunnel made by hand",
      spec(),
      withTunnels,
      "create",
      { action: "adopt", commands: [] },
    ],
    [
      "adopts a tunnel a create left half way, and finishes it",
      spec({ name: "gre2", ikey: 5, okey: 6, ttl: 64 }),
      withTunnels,
      "create",
      {
        action: "adopt",
        commands: [
          "ip -4 addr flush dev gre2",
          "ip -6 addr flush dev gre2 scope global",
          "ip addr replace 10.10.10.2 dev gre2 peer 10.10.10.1",
          "ip link set dev gre2 up",
        ],
      },
    ],
    [
      "refuses a different tunnel with the name, showing the difference",
      spec({ ikey: 2, okey: 2, ttl: 64 }),
      withTunnels,
      "create",
      {
        action: "conflict",
        reason:
          "a different GRE tunnel named gre1 already exists: ikey is 1, wanted 2; okey is 1, wanted 2; ttl is 255, wanted 64",
      },
    ],
    [
      "refuses a device of another kind",
      spec({ name: "dummy7", ikey: 3, okey: 3 }),
      withTunnels,
      "converge",
      {
        action: "conflict",
        reason:
          "a device named dummy7 already exists and is a dummy device, not a GRE tunnel; choose another name or remove it",
      },
    ],
    [
      "refuses a second tunnel the kernel could not tell apart from gre1",
      spec({ name: "gre9" }),
      withTunnels,
      "create",
      {
        action: "conflict",
        reason:
          "gre1 already carries GRE from 198.51.100.12 to 198.51.100.11 with key 1; the kernel matches incoming GRE packets on local address, remote address and key, so gre9 needs a different key",
      },
    ],
    [
      "refuses a change of key onto another tunnel's key",
      spec({ name: "gre2", ikey: 1, okey: 1 }),
      withTunnels,
      "converge",
      {
        action: "conflict",
        reason:
          "gre1 already carries GRE from 198.51.100.12 to 198.51.100.11 with key 1; the kernel matches incoming GRE packets on local address, remote address and key, so gre2 needs a different key",
      },
    ],
    ["leaves a matching end alone", spec(), withTunnels, "converge", { action: "none" }],
    [
      "changes keys and ttl in place",
      spec({ ikey: 7, okey: 8, ttl: 64 }),
      withTunnels,
      "converge",
      {
        action: "repair",
        commands: [
          "ip tunnel change name gre1 mode gre remote 198.51.100.12 local 198.51.100.11 ikey 7 okey 8 ttl 64",
        ],
        differences: ["gre1 ikey is 1, wanted 7", "gre1 okey is 1, wanted 8", "gre1 ttl is 255, wanted 64"],
      },
    ],
    [
      "recreates an end whose key goes away (ip tunnel change cannot remove a key)",
      spec({
        name: "gre2",
        remote: "198.51.100.13",
        ikey: undefined,
        okey: undefined,
        ttl: 64,
        up: false,
        addresses: [],
      }),
      withTunnels,
      "converge",
      {
        action: "repair",
        commands: [
          "ip link set dev gre2 down",
          "ip tunnel del name gre2",
          "ip tunnel add name gre2 mode gre remote 198.51.100.13 local 198.51.100.11 ttl 64",
          "ip link set dev gre2 down",
        ],
        differences: [
          "gre2 remote is 198.51.100.12, wanted 198.51.100.13",
          "gre2 ikey is 5, wanted none",
          "gre2 okey is 6, wanted none",
        ],
      },
    ],
    [
      "moves the tunnel addresses and sets the MTU",
      spec({ addresses: [{ local: "10.10.99.2", peer: "10.10.99.1", prefixLength: 32 }], mtu: 1400 }),
      withTunnels,
      "converge",
      {
        action: "repair",
        commands: [
          "ip -4 addr flush dev gre1",
          "ip -6 addr flush dev gre1 scope global",
          "ip addr replace 10.10.99.2 dev gre1 peer 10.10.99.1",
          "ip link set dev gre1 mtu 1400 up",
        ],
        differences: [
          "gre1 addresses are 10.10.10.2 peer 10.10.10.1, wanted 10.10.99.2 peer 10.10.99.1",
          "gre1 mtu is 1472, wanted 1400",
        ],
      },
    ],
    [
      "brings a down end up",
      spec({ name: "gre3", ikey: undefined, okey: undefined, ttl: 0, addresses: [] }),
      withTunnels,
      "converge",
      { action: "repair", commands: ["ip link set dev gre3 up"], differences: ["gre3 is down, wanted up"] },
    ],
  ])("%s", (_title, end, router, mode, expected) => {
    expect(shown(planEnd(end, router, mode))).toEqual(expected);
  });
});

describe("endDifferences", () => {
  it.each<[string, TunnelEndSpec, RouterObservation, string[]]>([
    ["nothing when it matches", spec(), withTunnels, []],
    ["a missing end", spec(), fresh, ["gre1 is missing"]],
    [
      "a device of another kind",
      spec({ name: "dummy7" }),
      withTunnels,
      ["dummy7 is a dummy device, not a GRE tunnel"],
    ],
    [
      "a changed remote",
      spec({ remote: "198.51.100.13" }),
      withTunnels,
      ["gre1 remote is 198.51.100.12, wanted 198.51.100.13"],
    ],
  ])("reports %s", (_title, end, router, expected) => {
    expect(endDifferences(end, observeEnd(end.name, router))).toEqual(expected);
  });
});

describe("planRestore", () => {
  it("removes an end that did not exist before", () => {
    expect(planRestore("gre1", { addresses: [] }, withTunnels).map((c) => commandLine(c.argv))).toEqual([
      "ip link set dev gre1 down",
      "ip tunnel del name gre1",
    ]);
  });
  it("rebuilds an end that was there before, exactly as it was", () => {
    const before = observeEnd("gre2", withTunnels);
    expect(planRestore("gre2", before, fresh).map((c) => commandLine(c.argv))).toEqual([
      "ip tunnel add name gre2 mode gre remote 198.51.100.12 local 198.51.100.11 ikey 5 okey 6 ttl 64",
      "ip link set dev gre2 mtu 1400 down",
    ]);
  });
  it("does nothing when nothing changed", () => {
    expect(planRestore("gre1", observeEnd("gre1", withTunnels), withTunnels)).toEqual([]);
    expect(planRestore("gre1", { addresses: [] }, fresh)).toEqual([]);
  });
});

describe("planRemove", () => {
  it.each<[string, string, RouterObservation, unknown]>([
    [
      "removes our tunnel with the field note's commands",
      "gre1",
      withTunnels,
      { action: "remove", commands: ["ip link set dev gre1 down", "ip tunnel del name gre1"] },
    ],
    ["is done when the end is already gone", "gre1", fresh, { action: "none" }],
    [
      "leaves a device that is no longer the tunnel",
      "dummy7",
      withTunnels,
      { action: "conflict", reason: "dummy7 is no longer this tunnel (it is a dummy device); left alone" },
    ],
  ])("%s", (_title, name, router, expected) => {
    expect(shown(planRemove({ name, local: "198.51.100.11" }, router))).toEqual(expected);
  });
});

describe("preflightProblems", () => {
  it("accepts a router with GRE and the local address", () => {
    expect(preflightProblems(spec(), withTunnels)).toEqual([]);
  });
  it("points at KernelModule when GRE is unavailable", () => {
    expect(preflightProblems(spec(), { ...fresh, greAvailable: false })).toEqual([
      "GRE is not available: the ip_gre module is not loaded. Declare a KernelModule for ip_gre on this router (or run `modprobe ip_gre`); if modprobe fails, check that the kernel has GRE: grep GRE /boot/config-$(uname -r)",
    ]);
  });
  it("hints at NAT when the local address is not the router's", () => {
    expect(preflightProblems(spec({ local: "203.0.113.7" }), fresh)).toEqual([
      "local 203.0.113.7 is not an address of this router (it has 169.254.100.11 on eth0, 198.51.100.11 on eth1, 10.2.1.1 on lan0). If this router is behind NAT, set local to its own address and the peer's remote to the NAT's public address (and the NAT must pass GRE, IP protocol 47, which many cannot)",
    ]);
  });
});
