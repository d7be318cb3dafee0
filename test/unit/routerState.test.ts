/** Routes, kernel modules and sysctls: parsers on recorded router output, builders and planners. */
import { readFileSync } from "fs";
import * as path from "path";
import {
  moduleName,
  modulesLoadContent,
  parseModinfo,
  parseProcModules,
  successorOf,
  unloadOrder,
  dependencyClosure,
  devicesOfModule,
} from "../../commands/modprobe/kernelModule";
import { parseIpLink } from "../../commands/iproute2/parseIp";
import {
  normalizePrefix,
  parseIpRoute,
  planRoute,
  planRouteRemoval,
  prefixContains,
  routeReplace,
  type RouteSpec,
} from "../../commands/iproute2/route";
import {
  legacySysctlFile,
  sameSysctlValue,
  setsKey,
  sysctlFile,
  sysctlFileContent,
  sysctlWrite,
} from "../../commands/sysctl/sysctl";
import { sysctlMarker } from "../../commands/files/ownership";
import { commandLine } from "../../transport/script";

function fixture(name: string): string {
  return readFileSync(path.join(__dirname, "../fixtures/ip", name), "utf8");
}

describe("parseIpRoute on recorded output", () => {
  it("reads the booted main table and leaves local and broadcast routes out", () => {
    expect(parseIpRoute(fixture("route-fresh.json"))).toEqual([
      {
        destination: "10.2.1.0/24",
        device: "lan0",
        protocol: 2,
        metric: 0,
        table: 254,
        source: "10.2.1.1",
        type: "unicast",
      },
      {
        destination: "169.254.100.0/24",
        device: "eth0",
        protocol: 2,
        metric: 0,
        table: 254,
        source: "169.254.100.11",
        type: "unicast",
      },
      {
        destination: "198.51.100.0/24",
        device: "eth1",
        protocol: 2,
        metric: 0,
        table: 254,
        source: "198.51.100.11",
        type: "unicast",
      },
    ]);
  });

  it("reads ours (176), hand-made ones (boot, 3), other tables and the default route", () => {
    const routes = parseIpRoute(fixture("route-mixed.json"));
    expect(routes.filter((r) => r.protocol !== 2)).toEqual([
      { destination: "10.9.0.0/16", device: "eth1", protocol: 3, metric: 7, table: 100, type: "unicast" },
      {
        destination: "0.0.0.0/0",
        gateway: "198.51.100.1",
        device: "eth1",
        protocol: 3,
        metric: 100,
        table: 254,
        type: "unicast",
      },
      {
        destination: "10.1.1.0/24",
        gateway: "198.51.100.12",
        device: "eth1",
        protocol: 176,
        metric: 0,
        table: 254,
        type: "unicast",
      },
      {
        destination: "10.3.1.0/24",
        gateway: "198.51.100.12",
        device: "eth1",
        protocol: 3,
        metric: 0,
        table: 254,
        type: "unicast",
      },
    ]);
  });
});

describe("normalizePrefix and prefixContains", () => {
  it.each([
    ["10.2.1.0/24", "10.2.1.0/24"],
    ["10.2.1.7/24", "10.2.1.0/24"],
    ["10.2.1.7", "10.2.1.7/32"],
    ["default", "0.0.0.0/0"],
  ])("%s is %s", (input, expected) => {
    expect(normalizePrefix(input)).toBe(expected);
  });
  it.each<[string, string, boolean]>([
    ["198.51.100.0/24", "198.51.100.12", true],
    ["0.0.0.0/0", "198.51.100.12", true],
    ["10.2.1.0/24", "198.51.100.12", false],
  ])("%s contains %s: %s", (prefix, address, expected) => {
    expect(prefixContains(prefix, address)).toBe(expected);
  });
});

describe("planRoute", () => {
  const mixed = parseIpRoute(fixture("route-mixed.json"));
  const spec = (overrides: Partial<RouteSpec> = {}): RouteSpec => ({
    destination: "10.1.1.0/24",
    gateway: "198.51.100.12",
    metric: 0,
    table: 254,
    ...overrides,
  });
  const show = (plan: ReturnType<typeof planRoute>) =>
    "commands" in plan ? { ...plan, commands: plan.commands.map((c) => commandLine(c.argv)) } : plan;

  it.each<[string, RouteSpec, boolean, unknown]>([
    ["leaves our matching route alone", spec(), false, { action: "none" }],
    [
      "repairs our route with another next hop",
      spec({ gateway: "10.10.10.1" }),
      false,
      {
        action: "repair",
        commands: ["ip route replace 10.1.1.0/24 via 10.10.10.1 proto 176 metric 0 table 254"],
        differences: ["route to 10.1.1.0/24 goes via 198.51.100.12, wanted 10.10.10.1"],
      },
    ],
    [
      "creates a missing route (the field note's, via the peer's tunnel address)",
      spec({ destination: "10.5.1.0/24", gateway: "10.10.10.2" }),
      false,
      {
        action: "create",
        commands: ["ip route replace 10.5.1.0/24 via 10.10.10.2 proto 176 metric 0 table 254"],
        differences: ["route to 10.5.1.0/24 is missing"],
      },
    ],
    [
      "does not clobber a hand-made route to the same destination",
      spec({ destination: "10.3.1.0/24", gateway: "10.10.10.1" }),
      false,
      {
        action: "conflict",
        reason:
          "a route to 10.3.1.0/24 via 198.51.100.12 (protocol 3, metric 0) already exists and was not made by pulumi-gre; it is left alone. Set takeOver: true to replace it, or use another metric or table",
      },
    ],
    [
      "takes a hand-made route over when asked",
      spec({ destination: "10.3.1.0/24", gateway: "10.10.10.1", device: "gre1" }),
      true,
      {
        action: "take-over",
        commands: ["ip route replace 10.3.1.0/24 via 10.10.10.1 dev gre1 proto 176 metric 0 table 254"],
        differences: [
          "route to 10.3.1.0/24 belongs to protocol 3, not to pulumi-gre (176)",
          "route to 10.3.1.0/24 goes via 198.51.100.12, wanted 10.10.10.1",
          "route to 10.3.1.0/24 leaves through eth1, wanted gre1",
        ],
      },
    ],
    [
      "puts a route in another table beside one in main",
      spec({ destination: "10.3.1.0/24", gateway: "10.10.10.1", table: 100, source: "10.10.10.2" }),
      false,
      {
        action: "create",
        commands: ["ip route replace 10.3.1.0/24 via 10.10.10.1 proto 176 metric 0 table 100 src 10.10.10.2"],
        differences: ["route to 10.3.1.0/24 in table 100 is missing"],
      },
    ],
  ])("%s", (_title, routeSpec, takeOver, expected) => {
    expect(show(planRoute(routeSpec, mixed, takeOver))).toEqual(expected);
  });

  it("removes only our own route", () => {
    expect(planRouteRemoval(spec(), mixed).map((c) => commandLine(c.argv))).toEqual([
      "ip route del 10.1.1.0/24 proto 176 metric 0 table 254",
    ]);
    expect(planRouteRemoval(spec({ destination: "10.3.1.0/24" }), mixed)).toEqual([]);
    expect(planRouteRemoval(spec({ destination: "10.7.0.0/16" }), mixed)).toEqual([]);
  });

  it("builds the field note's route by device", () => {
    expect(
      commandLine(routeReplace({ destination: "10.2.1.0/24", device: "gre1", metric: 10, table: 254 }).argv),
    ).toBe("ip route replace 10.2.1.0/24 dev gre1 proto 176 metric 10 table 254");
  });
});

describe("kernel modules", () => {
  it("reads /proc/modules as recorded before and after modprobe ip_gre", () => {
    expect(parseProcModules(fixture("proc-modules-fresh.txt")).map((m) => m.name)).toEqual([
      "ipv6",
      "crc_ccitt",
      "veth",
    ]);
    const loaded = parseProcModules(fixture("proc-modules-ip_gre.txt"));
    expect(loaded.find((m) => m.name === "ip_gre")).toEqual({
      name: "ip_gre",
      refcount: 0,
      usedBy: [],
      permanent: false,
    });
    expect(loaded.find((m) => m.name === "gre")).toEqual({
      name: "gre",
      refcount: 1,
      usedBy: ["ip_gre"],
      permanent: false,
    });
    expect(loaded.find((m) => m.name === "ipv6")).toMatchObject({ usedBy: ["ip_gre"], permanent: true });
  });

  it("reads what modinfo said on the router", () => {
    const said = fixture("modinfo.txt").split(/status \d+\n/);
    const statuses = [...fixture("modinfo.txt").matchAll(/status (\d+)/g)].map((m) => Number(m[1]));
    expect(parseModinfo(statuses[0], said[0], "")).toEqual({
      kind: "loadable",
      file: "/lib/modules/6.1.176/kernel/net/ipv4/ip_gre.ko",
    });
    expect(parseModinfo(statuses[1], said[1], "")).toEqual({ kind: "builtin" });
    expect(parseModinfo(statuses[2], "", said[2])).toEqual({
      kind: "missing",
      said: "modinfo: ERROR: Module nf_conntrack_proto_gre not found.",
    });
  });

  it("knows which modules newer kernels folded into others", () => {
    expect(successorOf("nf_conntrack_proto_gre")).toBe("nf_conntrack");
    expect(successorOf("nf-nat-proto-gre")).toBe("nf_nat");
    expect(successorOf("ip_gre")).toBeUndefined();
    expect(moduleName("ip-gre")).toBe("ip_gre");
  });

  it("unloads a module before the modules it uses", () => {
    const loaded = parseProcModules(fixture("proc-modules-ip_gre.txt"));
    expect(unloadOrder(["gre", "ip_tunnel", "ip_gre"], loaded)).toEqual(["ip_gre", "gre", "ip_tunnel"]);
  });

  it("tells the modules one modprobe needs from those another loaded at the same time", () => {
    const loaded = parseProcModules(fixture("proc-modules-ip_gre-ip6_gre.txt"));
    // gre and ipv6 (with crc_ccitt) serve both; ip6_tunnel and tunnel6 are ip6_gre's alone, ip_tunnel ip_gre's.
    expect([...dependencyClosure("ip_gre", loaded)].sort()).toEqual([
      "crc_ccitt",
      "gre",
      "ip_gre",
      "ip_tunnel",
      "ipv6",
    ]);
    expect([...dependencyClosure("ip6_gre", loaded)].sort()).toEqual([
      "crc_ccitt",
      "gre",
      "ip6_gre",
      "ip6_tunnel",
      "ipv6",
      "tunnel6",
    ]);
  });

  it.each([
    // Recorded with gre1..gre3 made: the kernel's gre0, gretap0 and erspan0 are not anyone's devices.
    ["link-tunnels.json", "ip_gre", ["gre1", "gre2", "gre3"]],
    ["link-tunnels.json", "ip-gre", ["gre1", "gre2", "gre3"]],
    ["link-tunnels.json", "ip6_gre", []],
    ["link-tunnels.json", "gre", []],
    ["link-fresh.json", "ip_gre", []],
  ])("in %s, the devices unloading %s would delete: %j", (file, module, names) => {
    expect(devicesOfModule(module, parseIpLink(fixture(file))).map((l) => l.name)).toEqual(names);
  });

  it("writes a modules-load.d file naming the module", () => {
    expect(modulesLoadContent("ip_gre")).toBe(
      "# Managed by pulumi-gre (KernelModule); removed when the resource is deleted.\nip_gre\n",
    );
  });
});

describe("sysctl", () => {
  it("gives two keys two files and two markers: eth0/100 (eth0.100) is not eth0_100", () => {
    const [dotted, underscored] = ["net.ipv4.conf.eth0/100.rp_filter", "net.ipv4.conf.eth0_100.rp_filter"];
    expect(sysctlFile(dotted)).not.toBe(sysctlFile(underscored));
    expect(sysctlMarker(dotted)).not.toBe(sysctlMarker(underscored));
    // Where 0.3 wrote the first (the second's name): moved only when it holds the first key.
    expect(legacySysctlFile(dotted)).toBe(sysctlFile(underscored));
    expect(legacySysctlFile(underscored)).toBeUndefined();
    expect(setsKey(sysctlFileContent(dotted, "2"), dotted)).toBe(true);
    expect(setsKey(sysctlFileContent(underscored, "2"), dotted)).toBe(false);
  });

  it("compares values with whitespace folded", () => {
    expect(sameSysctlValue("4096\t87380\t6291456\n", "4096 87380 6291456")).toBe(true);
    expect(sameSysctlValue("1", "0")).toBe(false);
  });
  it("builds the write command and the persistence file", () => {
    expect(commandLine(sysctlWrite("net.ipv4.ip_forward", "1").argv)).toBe(
      "sysctl -w -- net.ipv4.ip_forward=1",
    );
    expect(commandLine(sysctlWrite("net.ipv4.tcp_rmem", "4096 87380 6291456").argv)).toBe(
      "sysctl -w -- 'net.ipv4.tcp_rmem=4096 87380 6291456'",
    );
    expect(sysctlFile("net.ipv4.conf.eth0/100.rp_filter")).toBe(
      "/etc/sysctl.d/90-pulumi-gre-net.ipv4.conf.eth0%100.rp_filter.conf",
    );
    expect(sysctlFileContent("net.ipv4.ip_forward", "1")).toBe(
      "# Managed by pulumi-gre (Sysctl); removed when the resource is deleted.\nnet.ipv4.ip_forward = 1\n",
    );
  });
});
