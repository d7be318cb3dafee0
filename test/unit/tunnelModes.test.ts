/**
 * The GRE modes beyond the field note's (gretap, ip6gre, ip6gretap): their commands, how recorded
 * router output reads back, and how an end is planned and compared. Output recorded on lab routers
 * by test/fixtures/record.sh.
 */
import { readFileSync } from "fs";
import * as path from "path";
import { parseIpAddr, parseIpLink } from "../../commands/iproute2/parseIp";
import { endDifferences, observeEnd, planEnd } from "../../commands/iproute2/planTunnel";
import { preflightProblems } from "../../commands/iproute2/greSupport";
import { parseIpRoute, routeReplace } from "../../commands/iproute2/route";
import { netdevContent } from "../../commands/networkd/networkd";
import { healthPings } from "../../commands/health/tunnelHealth";
import { tunnelCreate, tunnelRemove, type TunnelEndSpec } from "../../commands/iproute2/tunnelCommands";
import { defaultMtu } from "../../providers/greTunnel/spec";
import type { TunnelMode } from "../../model/tunnel";

function fixture(name: string): string {
  return readFileSync(path.join(__dirname, "../fixtures/ip", name), "utf8");
}

function observation(name: string, gre6Available = true) {
  const text = fixture(name);
  return { links: parseIpLink(text), addresses: parseIpAddr(text), greAvailable: true, gre6Available };
}

const argv = (commands: Array<{ argv: string[] }>) => commands.map((c) => c.argv.join(" "));

/** routerA's ip6gre end as recorded: g6, key 5, hop limit 255, 2001:db8:ffff::1 peer ::2. */
const ip6gre: TunnelEndSpec = {
  name: "g6",
  mode: "ip6gre",
  local: "2001:db8:100::11",
  remote: "2001:db8:100::12",
  ikey: 5,
  okey: 5,
  ttl: 255,
  up: true,
  addresses: [{ local: "2001:db8:ffff::1", peer: "2001:db8:ffff::2", prefixLength: 128 }],
};

/** routerA's gretap end as recorded: tap1, key 7, a port of br-l2, no address. */
const gretap: TunnelEndSpec = {
  name: "tap1",
  mode: "gretap",
  bridge: "br-l2",
  local: "198.51.100.11",
  remote: "198.51.100.12",
  ikey: 7,
  okey: 7,
  ttl: 255,
  up: true,
  addresses: [],
};

describe("commands of the other modes", () => {
  it("makes an ip6gre end with `ip link add … type ip6gre` and its hop limit, and an IPv6 point-to-point address", () => {
    expect(argv(tunnelCreate(ip6gre))).toEqual([
      "ip link add name g6 type ip6gre remote 2001:db8:100::12 local 2001:db8:100::11 ikey 5 okey 5 hoplimit 255",
      // Up first: an IPv6 address added while the link is down gets no route to its peer.
      "ip link set dev g6 up",
      "ip -6 addr del 2001:db8:ffff::1 dev g6",
      "ip -6 addr add 2001:db8:ffff::1 dev g6 peer 2001:db8:ffff::2",
    ]);
    expect(argv(tunnelRemove("g6", "ip6gre"))).toEqual(["ip link set dev g6 down", "ip link del dev g6"]);
  });

  it("makes a gretap end a port of its bridge before it comes up", () => {
    expect(argv(tunnelCreate(gretap))).toEqual([
      "ip link add name tap1 type gretap remote 198.51.100.12 local 198.51.100.11 ikey 7 okey 7 ttl 255",
      "ip link set dev tap1 master br-l2",
      "ip link set dev tap1 up",
    ]);
  });

  it.each<[TunnelMode, boolean, number]>([
    ["gre", false, 1476],
    ["gre", true, 1472],
    ["gretap", true, 1458],
    ["ip6gre", false, 1448],
    ["ip6gre", true, 1444],
  ])("knows the kernel's MTU of %s (key %s) over a 1500-byte underlay: %d", (mode, keyed, mtu) => {
    expect(defaultMtu(mode, keyed)).toBe(mtu);
  });

  it("sizes full-size health pings for IPv6 headers (40 + 8) across an IPv6 tunnel address", () => {
    expect(healthPings("2001:db8:ffff::1", "2001:db8:ffff::2", 1444)[1].argv).toContain("1396");
    expect(healthPings("10.10.10.2", "10.10.10.1", 1472)[1].argv).toContain("1444");
  });

  it("writes the mode into the boot file as systemd-networkd's Kind", () => {
    expect(netdevContent(ip6gre)).toContain("Kind=ip6gre\n");
  });
});

describe("recorded output of the other modes", () => {
  it("reads an ip6gre end: its IPv6 underlay, hop limit and keys, and its global address but not its link-local one", () => {
    const router = observation("addr-ip6gre.json");
    expect(router.links[0]).toMatchObject({
      name: "g6",
      kind: "ip6gre",
      local: "2001:db8:100::11",
      remote: "2001:db8:100::12",
      ttl: 255,
      ikey: 5,
      okey: 5,
      mtu: 1444,
    });
    expect(observeEnd("g6", router).addresses).toEqual(ip6gre.addresses);
    expect(endDifferences(ip6gre, observeEnd("g6", router))).toEqual([]);
    expect(planEnd(ip6gre, router, "converge")).toEqual({ action: "none" });
  });

  it("reads a gretap end and its bridge; another bridge or a plain GRE wish is a difference", () => {
    const router = observation("addr-gretap-bridged.json");
    expect(router.links[0]).toMatchObject({ name: "tap1", kind: "gretap", master: "br-l2", mtu: 1458 });
    const end = observeEnd("tap1", router);
    expect(endDifferences(gretap, end)).toEqual([]);
    expect(endDifferences({ ...gretap, bridge: "br0" }, end)).toEqual([
      "tap1 is a port of br-l2, wanted br0",
    ]);
    expect(planEnd({ ...gretap, bridge: "br0" }, router, "converge")).toMatchObject({
      action: "repair",
      commands: [{ argv: ["ip", "link", "set", "dev", "tap1", "master", "br0"] }],
    });
    expect(endDifferences({ ...gretap, mode: "gre" }, end)).toEqual([
      "tap1 is a gretap tunnel, not a GRE tunnel",
    ]);
  });

  it("says what a router lacks for an ip6gre end: ip6_gre, and its IPv6 underlay address", () => {
    const router = observation("addr-fresh.json", false);
    expect(preflightProblems(ip6gre, router)).toEqual([
      expect.stringContaining(
        "GRE over IPv6 is not available: the ip6_gre module is not loaded. Declare a KernelModule for ip6_gre",
      ),
      expect.stringContaining(
        "local 2001:db8:100::11 is not an address of this router (it has no IPv6 address)",
      ),
    ]);
  });

  it("says a bridge a gretap end names is missing", () => {
    expect(preflightProblems(gretap, observation("addr-ip6gre.json"))).toEqual([
      "bridge br-l2 does not exist on this router: create it (ip link add name br-l2 type bridge) or name another",
      expect.stringContaining("local 198.51.100.11 is not an address of this router"),
    ]);
  });

  it("reads IPv6 routes, ours among the kernel's, with the metric the kernel gave them", () => {
    const routes = parseIpRoute(fixture("route6-ours.json"), "ipv6");
    expect(routes.find((r) => r.destination === "2001:db8:1:1::/64")).toEqual({
      destination: "2001:db8:1:1::/64",
      device: "eth1",
      protocol: 176,
      metric: 1024,
      table: 254,
      type: "unicast",
    });
    // The local table's routes (type local) are not unicast routes of anyone's.
    expect(routes.every((r) => r.table === 254)).toBe(true);
    expect(
      routeReplace({ destination: "2001:db8:1:1::/64", device: "g6", metric: 1024, table: 254 }).argv.join(
        " ",
      ),
    ).toBe("ip route replace 2001:db8:1:1::/64 dev g6 proto 176 metric 1024 table 254");
  });
});
