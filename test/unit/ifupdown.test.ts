/**
 * The ifupdown stanzas that bring a tunnel and its routes back at boot on a Debian router: their
 * exact content (what `ifup -a` on the lab's routers booted with `--boot ifupdown` turns back into
 * the field note's tunnel), and their names.
 */
import {
  routeStanza,
  routeStanzaFile,
  tunnelStanza,
  tunnelStanzaFile,
} from "../../commands/ifupdown/ifupdown";
import { fieldNoteEndA, ip6greEndA } from "./fieldNoteEnds";

const HEADER =
  "# Written by pulumi-gre: pulumi up rewrites this file and pulumi destroy removes it; edits show as drift.";

describe("an ifupdown stanza of a tunnel end", () => {
  it("is a file of ours in interfaces.d, named after the tunnel (no dot: run-parts would skip it)", () => {
    expect(tunnelStanzaFile("gre1")).toBe("/etc/network/interfaces.d/pulumi-gre-gre1");
  });

  it.each([
    [
      "the field note's tunnel, with an MTU",
      fieldNoteEndA({ mtu: 1400 }),
      [
        "auto gre1",
        "iface gre1 inet manual",
        "    pre-up ip tunnel add name gre1 mode gre remote 198.51.100.12 local 198.51.100.11 ikey 1 okey 1 ttl 255",
        "    up ip addr replace 10.10.10.2 dev gre1 peer 10.10.10.1",
        "    up ip link set dev gre1 mtu 1400 up",
        "    post-down ip link set dev gre1 down",
        "    post-down ip tunnel del name gre1",
      ],
    ],
    [
      "ip6gre with IPv6 addresses: up first, and the del that may find nothing allowed to fail",
      ip6greEndA(),
      [
        "auto g6",
        "iface g6 inet manual",
        "    pre-up ip link add name g6 type ip6gre remote 2001:db8:100::12 local 2001:db8:100::11 hoplimit 255",
        "    up ip link set dev g6 up",
        "    up ip -6 addr del fd00::2 dev g6 || true",
        "    up ip -6 addr add fd00::2 dev g6 peer fd00::1",
        "    post-down ip link set dev g6 down",
        "    post-down ip link del dev g6",
      ],
    ],
    [
      "gretap joining a bridge before it comes up",
      fieldNoteEndA({ name: "tap1", mode: "gretap", bridge: "br-l2", addresses: [] }),
      [
        "auto tap1",
        "iface tap1 inet manual",
        "    pre-up ip link add name tap1 type gretap remote 198.51.100.12 local 198.51.100.11 ikey 1 okey 1 ttl 255",
        "    pre-up ip link set dev tap1 master br-l2",
        "    up ip link set dev tap1 up",
        "    post-down ip link set dev tap1 down",
        "    post-down ip link del dev tap1",
      ],
    ],
  ])("%s", (_what, spec, lines) => {
    expect(tunnelStanza(spec)).toBe([HEADER, ...lines].join("\n") + "\n");
  });
});

describe("an ifupdown stanza of a route", () => {
  const route = { device: "gre1", destination: "10.1.1.0/24", gateway: "10.10.10.1", metric: 0, table: 254 };

  it("sorts after its tunnel's file, in a name of its own per slot", () => {
    const file = routeStanzaFile(route);
    expect(file).toBe("/etc/network/interfaces.d/pulumi-gre-gre1-route-10.1.1.0_24-t254-m0");
    expect([file, tunnelStanzaFile("gre1")].sort()[0]).toBe(tunnelStanzaFile("gre1"));
    expect(routeStanzaFile({ ...route, destination: "2001:db8:1:1::/64" })).toBe(
      "/etc/network/interfaces.d/pulumi-gre-gre1-route-2001_db8_1_1___64-t254-m0",
    );
  });

  it("is one more stanza of its device, with pulumi-gre's route as an up hook", () => {
    expect(routeStanza(route)).toBe(
      [
        HEADER,
        "iface gre1 inet manual",
        "    up ip route replace 10.1.1.0/24 via 10.10.10.1 dev gre1 proto 176 metric 0 table 254",
      ].join("\n") + "\n",
    );
  });
});
