/**
 * The fleet benchmark's simulated routers answer as the lab's real ones do: what they print parses
 * with the providers' own parsers into the state the commands made, the transport's framing comes
 * back intact through them, and the fleet topologies are stack configurations the program accepts.
 */
import { fleetConfig, fleetPairs, fleetRouter, tunnelAddresses } from "../../bench/fleet/fleetTopology";
import { SimRouter, type SimFleet } from "../support/sim/simRouter";
import { framedRun, parseScript, shellWords } from "../support/sim/simScript";
import { dependencyClosure, parseProcModules } from "../../commands/modprobe/kernelModule";
import { parseIpAddr, parseIpLink } from "../../commands/iproute2/parseIp";
import { parseIpRoute } from "../../commands/iproute2/route";
import { healthPings, parsePing } from "../../commands/health/tunnelHealth";
import { parseStackConfig } from "../../stacks/config";
import { batchScript, parseBatchOutput, shellQuote } from "../../transport/script";
import { type RemoteCommand } from "../../model/command";

/** Two routers of a fleet, A and B, that reach each other. */
function pair(): [SimRouter, SimRouter] {
  const routers = new Map<string, SimRouter>();
  const fleet: SimFleet = { byUnderlay: (a) => routers.get(a) };
  const a = new SimRouter(fleetRouter(1), fleet, 1);
  const b = new SimRouter(fleetRouter(2), fleet, 2);
  routers.set(a.plan.underlay, a).set(b.plan.underlay, b);
  return [a, b];
}

function tunnelUp(router: SimRouter, local: string, remote: string, address: string, peer: string): void {
  const batch = [
    `tunnel add name g0 mode gre remote ${remote} local ${local} ikey 7 okey 7 ttl 255`,
    `addr replace ${address} dev g0 peer ${peer}`,
    "link set dev g0 up",
    `route replace ${remote === "198.18.0.2" ? "10.100.2.0/24" : "10.100.1.0/24"} via ${peer} dev g0 proto 176 metric 0 table 254`,
  ].join("\n");
  expect(router.run(["modprobe", "--", "ip_gre"], undefined).exitCode).toBe(0);
  expect(router.run(["ip", "-batch", "-"], `${batch}\n`)).toMatchObject({ exitCode: 0 });
}

describe("simulated router", () => {
  it("takes the transport's framed script apart and frames its answers as the shell would", () => {
    const commands: RemoteCommand[] = [
      { argv: ["ip", "-d", "-j", "addr", "show"] },
      { argv: ["test", "-d", "/sys/module/ip_gre"], mayFail: true },
      { argv: ["tee", "--", "/run/pulumi-gre/it's here"], stdin: "line one\nline two\n" },
      { argv: ["sysctl", "-n", "--", "net.ipv4.nonexistent"] },
      { argv: ["ip", "link", "show"] },
    ];
    const script = parseScript(batchScript(commands, "abcdef123456", true));
    expect(script.commands.map((c) => c.argv)).toEqual(commands.map((c) => c.argv));
    expect(script.commands[2].stdin).toBe("line one\nline two\n");
    expect(script.commands.map((c) => c.stopsOnError)).toEqual([true, false, true, true, true]);
    const [router] = pair();
    const result = framedRun(script, (c) => router.run(c.argv, c.stdin), 4242);
    const parsed = parseBatchOutput(commands, "abcdef123456", result.stdout, result.stderr);
    expect(parsed.outcomes.map((o) => [o.ran, o.exitCode])).toEqual([
      [true, 0],
      [true, 1],
      [true, 0],
      [true, 255],
      [false, null],
    ]);
    expect(result.exitCode).toBe(255);
    expect(router.files.get("/run/pulumi-gre/it's here")).toBe("line one\nline two\n");
  });

  it("reads the concurrent probes at the end of a script as the background jobs they are", () => {
    const ping = (to: string): RemoteCommand => ({
      argv: ["ping", "-n", "-q", "-c", "3", "-I", "172.16.0.1", to],
      mayFail: true,
      concurrent: true,
    });
    const commands: RemoteCommand[] = [
      { argv: ["cat", "/proc/modules"] },
      ping("172.16.0.2"),
      ping("172.16.0.6"),
    ];
    const script = parseScript(batchScript(commands, "abcdef123456", true));
    expect(script.commands.map((c) => [c.argv[0], c.concurrent ?? false])).toEqual([
      ["cat", false],
      ["ping", true],
      ["ping", true],
    ]);
    const [router] = pair();
    const result = framedRun(script, (c) => router.run(c.argv, c.stdin), 1);
    const parsed = parseBatchOutput(commands, "abcdef123456", result.stdout, result.stderr);
    expect(parsed.outcomes.map((o) => [o.ran, o.exitCode])).toEqual([
      [true, 0],
      [true, 1],
      [true, 1],
    ]);
  });

  it.each(["plain", "it's", "a b", "-x", "$(reboot)", "'", ""])("reads back the quoting of %j", (word) => {
    expect(shellWords(`echo ${shellQuote(word)} end`)).toEqual(["echo", word, "end"]);
  });

  it("prints links, addresses, routes and modules that the providers' parsers read as the commands left them", () => {
    const [a, b] = pair();
    expect(
      parseIpLink(a.run(["ip", "-d", "-j", "addr", "show"], undefined).stdout).map((l) => l.name),
    ).toEqual(["lo", "eth0", "eth1", "lan0"]);
    tunnelUp(a, "198.18.0.1", "198.18.0.2", "172.16.0.1", "172.16.0.2");
    const text = a.run(["ip", "-d", "-j", "addr", "show"], undefined).stdout;
    const g0 = parseIpLink(text).find((l) => l.name === "g0");
    expect(g0).toMatchObject({
      kind: "gre",
      local: "198.18.0.1",
      remote: "198.18.0.2",
      ikey: 7,
      okey: 7,
      ttl: 255,
      mtu: 1472,
    });
    expect(parseIpAddr(text).filter((x) => x.device === "g0" && x.scope === "global")).toEqual([
      expect.objectContaining({ local: "172.16.0.1", peer: "172.16.0.2", prefixLength: 32 }),
    ]);
    const routes = parseIpRoute(
      a.run(["ip", "-4", "-N", "-j", "route", "show", "table", "all"], undefined).stdout,
    );
    expect(routes.find((r) => r.destination === "10.100.2.0/24")).toMatchObject({
      gateway: "172.16.0.2",
      device: "g0",
      protocol: 176,
      table: 254,
    });
    const modules = parseProcModules(a.run(["cat", "/proc/modules"], undefined).stdout);
    expect([...dependencyClosure("ip_gre", modules)].sort()).toEqual(["gre", "ip_gre", "ip_tunnel"]);
    // As the kernel's rmmod: a module another module uses stays (ip_gre, which a tunnel does not
    // hold, would go with every tunnel: the next test).
    expect(a.run(["rmmod", "--", "gre"], undefined).exitCode).toBe(1);

    // A ping across crosses only once the other end mirrors this one.
    // The providers' own health pings: small, then full size with DF set, for a tunnel of `mtu`.
    const health = (mtu: number) =>
      healthPings("172.16.0.1", "172.16.0.2", mtu).map((c) =>
        parsePing({ argv: c.argv, ran: true, ...a.run(c.argv, undefined) }),
      );
    expect(health(1472)[0]).toMatchObject({ transmitted: 3, received: 0 });
    tunnelUp(b, "198.18.0.2", "198.18.0.1", "172.16.0.2", "172.16.0.1");
    expect(health(1472).map((p) => p.received)).toEqual([3, 2]);
    // Full size crosses up to the tunnel's MTU (1472 with keys), not beyond.
    const big = (mtu: number) => health(mtu)[1].received;
    expect([big(1472), big(1473)]).toEqual([2, 0]);
  });

  it("unloads ip_gre with its tunnels and their routes, as the kernel does (a GRE device holds no reference on it)", () => {
    const [a] = pair();
    tunnelUp(a, "198.18.0.1", "198.18.0.2", "172.16.0.1", "172.16.0.2");
    expect(a.run(["rmmod", "--", "ip_gre"], undefined).exitCode).toBe(0);
    const text = a.run(["ip", "-d", "-j", "link", "show"], undefined).stdout;
    expect(parseIpLink(text).map((l) => l.name)).toEqual(["lo", "eth0", "eth1", "lan0"]);
    const routes = parseIpRoute(
      a.run(["ip", "-4", "-N", "-j", "route", "show", "table", "all"], undefined).stdout,
    );
    expect(routes.filter((r) => r.device === "g0")).toEqual([]);
  });

  it("comes back to exactly its booted state when everything is removed again", () => {
    const [a] = pair();
    const booted = a.snapshot();
    tunnelUp(a, "198.18.0.1", "198.18.0.2", "172.16.0.1", "172.16.0.2");
    a.run(["sysctl", "-w", "--", "net.ipv4.ip_forward=1"], undefined);
    expect(a.snapshot()).not.toBe(booted);
    a.run(
      ["ip", "-batch", "-"],
      "route del 10.100.2.0/24 proto 176 metric 0 table 254\nlink set dev g0 down\ntunnel del name g0\n",
    );
    a.run(["sysctl", "-w", "--", "net.ipv4.ip_forward=0"], undefined);
    for (const m of ["ip_gre", "ip_tunnel", "gre"])
      expect(a.run(["rmmod", "--", m], undefined).exitCode).toBe(0);
    expect(a.snapshot()).toBe(booted);
  });

  it("fails loudly on what it does not model", () => {
    const [a] = pair();
    expect(a.run(["nft", "list", "ruleset"], undefined).exitCode).toBe(127);
    expect(a.run(["ip", "xfrm", "state"], undefined).exitCode).toBe(127);
  });
});

describe("fleet topologies", () => {
  it.each<["hub" | "mesh", number, number]>([
    ["hub", 10, 9],
    ["hub", 200, 199],
    ["mesh", 10, 20],
    ["mesh", 200, 400],
    ["mesh", 3, 3],
  ])("%s of %i routers has %i tunnels, each pair once", (topology, routers, tunnels) => {
    const pairs = fleetPairs(topology, routers);
    expect(pairs).toHaveLength(tunnels);
    expect(new Set(pairs.map((p) => p.join("-"))).size).toBe(tunnels);
  });

  it("gives distinct addresses and yields a configuration the stack program accepts", () => {
    const { config, tunnels, plans } = fleetConfig(
      "mesh",
      200,
      (n) => ({
        port: 20000 + Number(n.slice(4)),
        hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb1tKDrKJvXrkL6BjH4cQ8cE0P3ME7bT9tO1bLq3h8N",
      }),
      "KEY",
    );
    const addresses = tunnels.flatMap((t) => tunnelAddresses(t.index));
    expect(new Set(addresses).size).toBe(800);
    expect(new Set(plans.map((p) => p.underlay)).size).toBe(200);
    const parsed = parseStackConfig({
      routers: config["pulumi-gre:routers"],
      tunnels: config["pulumi-gre:tunnels"],
      settings: config["pulumi-gre:settings"],
    });
    expect(Object.keys(parsed.routers)).toHaveLength(200);
    expect(parsed.tunnels).toHaveLength(400);
  });
});
