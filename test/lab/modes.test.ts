/**
 * GRE beyond the field note's one mode, through the stack and the stand-in engine on the lab: the
 * field note's gre1, an ip6gre tunnel over the IPv6 underlay carrying IPv6 between the PCs, and a
 * gretap joining both routers' L2 bridges (br-l2) so that their L2 PCs share one segment — three
 * tunnels between the same two routers, drift and repair of the IPv6 one, and a destroy that
 * leaves both routers as booted.
 */
import { readFileSync, rmSync } from "fs";
import * as path from "path";
import { fieldNoteState } from "../../lab/routerState";
import { closeAllConnections, runOnRouter } from "../../transport";
import { runEngine, writeStackConfig, scratchStack, type TestStack } from "./engineRun";
import { describeOnLab, labRouter, pingPcToPc, type LabSide } from "./labEnv";

const B = "routerB (root@169.254.100.12:22)";

/** Pings `to` from network namespace `place` (pc or l2) on `side`; ping's exit status. */
async function pingFrom(side: LabSide, place: "pc" | "l2", to: string): Promise<number | null> {
  const result = await runOnRouter(
    side.connection,
    [{ argv: ["ip", "netns", "exec", place, "ping", "-c", "2", "-i", "0.2", "-W", "2", to] }],
    { check: false },
  );
  return result.outcomes[0].exitCode;
}

describeOnLab("gre, ip6gre and gretap between the same two lab routers", () => {
  let a: LabSide;
  let b: LabSide;
  let stack: TestStack;
  let booted: unknown[];

  const state = () =>
    JSON.parse(readFileSync(path.join(stack.stateDir, `${stack.stack}.json`), "utf8")) as {
      outputs: { tunnels: Array<{ interface: string; mode: string; state: string }> };
      resources: Array<{ type: string; outputs: { name?: string; health?: { reachable: boolean } | null } }>;
    };

  beforeAll(async () => {
    a = await labRouter("routerA");
    b = await labRouter("routerB");
    booted = await Promise.all([fieldNoteState(a.connection), fieldNoteState(b.connection)]);
    stack = scratchStack("modes");
    const router = (side: LabSide) => ({
      lab: side.router.name,
      underlay: side.router.underlay,
      underlay6: side.router.underlay6,
      lans: [side.router.lanPrefix, side.router.lan6Prefix],
    });
    writeStackConfig(stack.configFile, {
      "pulumi-gre:routers": { routerA: router(a), routerB: router(b) },
      "pulumi-gre:tunnels": [
        {
          name: "gre1",
          key: 1,
          ends: [
            { router: "routerA", address: "10.10.10.2", routes: [b.router.lanPrefix] },
            { router: "routerB", address: "10.10.10.1", routes: [a.router.lanPrefix] },
          ],
        },
        {
          name: "g6",
          mode: "ip6gre",
          key: 6,
          tcpMss: "clamp",
          ends: [
            { router: "routerA", address: "2001:db8:ffff::1", routes: [b.router.lan6Prefix] },
            { router: "routerB", address: "2001:db8:ffff::2", routes: [a.router.lan6Prefix] },
          ],
        },
        {
          name: "l2",
          mode: "gretap",
          key: 7,
          ends: [
            { router: "routerA", bridge: "br-l2" },
            { router: "routerB", bridge: "br-l2" },
          ],
        },
      ],
      "pulumi-gre:settings": { unloadModulesOnDestroy: true },
    });
  }, 120_000);

  afterAll(async () => {
    await runEngine(stack, "destroy");
    rmSync(stack.stateDir, { recursive: true, force: true });
    closeAllConnections();
  }, 120_000);

  it("builds all three: PC1 ⇄ PC2 over IPv4 (gre1) and IPv6 (g6), and the L2 PCs on one segment (l2)", async () => {
    const up = await runEngine(stack, "up");
    expect(up.out).not.toContain("error:");
    expect(up.code).toBe(0);
    expect(await pingPcToPc(a, b)).toBe(0);
    expect(await pingFrom(a, "pc", b.router.pc6!)).toBe(0);
    expect(await pingFrom(b, "pc", a.router.pc6!)).toBe(0);
    expect(await pingFrom(a, "l2", b.router.l2pc!)).toBe(0);
    expect(await pingFrom(a, "l2", b.router.l2pc6!)).toBe(0);
    expect(state().outputs.tunnels.map((t) => [t.interface, t.mode, t.state])).toEqual([
      ["gre1", "gre", "up"],
      ["g6", "ip6gre", "up"],
      ["l2", "gretap", "up"],
    ]);
    // g6's health pings crossed (IPv6 inside IPv6); a bridged gretap has no address to ping from.
    const health = (name: string) =>
      state().resources.find((r) => r.type.endsWith(":GreTunnel") && r.outputs.name === name)!.outputs.health;
    expect(health("g6")).toMatchObject({ reachable: true, fullSize: true, mtu: 1444 });
    expect(health("l2")).toBeNull();
    const links = await runOnRouter(b.connection, [{ argv: ["ip", "-d", "-j", "link", "show"] }]);
    const byName = Object.fromEntries(
      (
        JSON.parse(links.outcomes[0].stdout) as Array<{
          ifname: string;
          master?: string;
          linkinfo?: { info_kind?: string };
        }>
      ).map((l) => [l.ifname, l]),
    );
    expect([byName.g6.linkinfo?.info_kind, byName.l2.linkinfo?.info_kind, byName.l2.master]).toEqual([
      "ip6gre",
      "gretap",
      "br-l2",
    ]);
    expect((await runEngine(stack, "preview", "--refresh", "--expect-no-changes")).code).toBe(0);
  }, 240_000);

  it("clamps IPv6 TCP through g6 in ip6tables (its MTU 1444 less 60 bytes: a SYN from PC1 carries MSS 1384), nothing of g6 in the IPv4 table", async () => {
    for (const side of [a, b]) {
      const rules = async (tool: string) =>
        (await runOnRouter(side.connection, [{ argv: [tool, "-w", "-t", "mangle", "-S", "FORWARD"] }]))
          .outcomes[0].stdout;
      expect(await rules("ip6tables-legacy")).toContain(
        '-o g6 -p tcp -m tcp --tcp-flags SYN,RST SYN -m comment --comment "pulumi-gre:g6" -j TCPMSS --clamp-mss-to-pmtu',
      );
      expect(await rules("iptables-legacy")).not.toContain("pulumi-gre:g6");
    }
    const run = (side: LabSide, argv: string[]) => runOnRouter(side.connection, [{ argv }], { check: false });
    const capture = run(a, [
      ...["timeout", "12", "tcpdump", "-n", "-l", "-v", "-i", "g6", "-c", "1"],
      "ip6 and tcp dst port 5001 and ip6[53] & 2 != 0",
    ]);
    const server = run(b, [
      "ip",
      "netns",
      "exec",
      "pc",
      "timeout",
      "10",
      "socat",
      "-u",
      "TCP6-LISTEN:5001,reuseaddr",
      "-",
    ]);
    const client = run(a, [
      ...["ip", "netns", "exec", "pc", "sh", "-c"],
      `sleep 2; echo hello | timeout 6 socat -u - TCP6:[${b.router.pc6!}]:5001,retry=20,interval=0.2`,
    ]);
    const [syn] = await Promise.all([capture, server, client]);
    expect(syn.outcomes[0].stdout).toMatch(/mss 1384\b/);
  }, 120_000);

  it("shows the ip6gre end deleted by hand on routerB as drift, and up repairs it", async () => {
    await runOnRouter(b.connection, [{ argv: ["ip", "link", "del", "dev", "g6"] }]);
    const preview = await runEngine(stack, "preview", "--refresh", "--diff", "--expect-no-changes");
    expect(preview.code).not.toBe(0);
    expect(preview.out).toContain(`${B}: g6 is missing`);
    expect(preview.out).toContain(`${B}: route to ${a.router.lan6Prefix} is missing`);
    expect((await runEngine(stack, "up", "--refresh")).code).toBe(0);
    expect(await pingFrom(a, "pc", b.router.pc6!)).toBe(0);
    expect((await runEngine(stack, "preview", "--refresh", "--expect-no-changes")).code).toBe(0);
  }, 240_000);

  it("destroys all three and leaves both routers as booted (links, addresses, routes of both families, modules, forwarding)", async () => {
    const destroy = await runEngine(stack, "destroy");
    expect(destroy.out).not.toContain("error");
    expect(destroy.code).toBe(0);
    // g6's clamp used the firewall, which loads netfilter's modules (nft --check, each family's
    // mangle table — the IPv4 one read for a rule 0.3 would have put there —, the TCPMSS target and
    // the comment and tcp matches); they stay loaded, as after any use of iptables. Nothing else may.
    const firewallModules = /^(bpfilter|nf_tables|nfnetlink|x_tables|xt_\w+|ip6?_tables|ip6?table_mangle)$/;
    const sansFirewall = (state: unknown) => {
      const { modules, ...rest } = state as { modules: string[] };
      return { ...rest, modules: modules.filter((m) => !firewallModules.test(m)) };
    };
    const now = await Promise.all([fieldNoteState(a.connection), fieldNoteState(b.connection)]);
    expect(now.map(sansFirewall)).toEqual(booted.map(sansFirewall));
  }, 240_000);
});
