/**
 * The field note's MSS clamp, proved with TCP on the lab: the underlay between the routers gets a
 * smaller MTU (1400, a WAN hop that drops larger packets without a word), so a bulk transfer from
 * PC1 to PC2 through gre1 stalls unless the tunnel clamps the MSS. The lab's kernels have no
 * nftables ip family, so the rules are iptables-legacy's here (nftables' are tested on the host).
 */
import { readFileSync, rmSync } from "fs";
import * as path from "path";
import { repoRoot } from "../../tools/repoRoot";
import { Lab } from "../../lab/lab";
import { closeAllConnections } from "../../transport";
import { fieldNoteConfig, runEngine, writeStackConfig, scratchStack, type TestStack } from "./engineRun";
import { describeOnLab, labRouter, type LabSide, runOn } from "./labEnv";
import { MEGABYTE, transfer } from "./tcpTransfer";

const FOREIGN = [
  ...["-o", "eth1", "-p", "tcp", "-m", "tcp", "--tcp-flags", "SYN,RST", "SYN"],
  ...["-m", "comment", "--comment", "someone else's rule", "-j", "TCPMSS", "--set-mss", "1200"],
];

/** The mangle FORWARD rules of a router, as iptables-legacy prints them. */
async function rules(side: LabSide): Promise<string[]> {
  const out = await runOn(side, "iptables-legacy", "-w", "-t", "mangle", "-S", "FORWARD");
  return out.stdout.split("\n").filter((l) => l.startsWith("-A "));
}

describeOnLab("MSS clamping across an underlay hop with a smaller MTU", () => {
  let a: LabSide;
  let b: LabSide;
  let lab: Lab;
  let stack: TestStack;

  /** GreTunnel's recorded outputs, from the stack's state file. */
  const tunnelEnds = () => {
    const state = JSON.parse(readFileSync(path.join(stack.stateDir, `${stack.stack}.json`), "utf8")) as {
      resources: Array<{ type: string; outputs: { ends: Array<{ tcpMss: unknown }> } }>;
    };
    return state.resources.find((r) => r.type.endsWith(":GreTunnel"))!.outputs.ends;
  };

  beforeAll(async () => {
    a = await labRouter("routerA");
    b = await labRouter("routerB");
    lab = new Lab(repoRoot(), () => undefined);
    stack = scratchStack("mss");
    lab.underlayMtu(1400);
    expect(
      (await runOn(a, "iptables-legacy", "-w", "-t", "mangle", "-A", "FORWARD", ...FOREIGN)).exitCode,
    ).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await runEngine(stack, "destroy");
    await runOn(a, "iptables-legacy", "-w", "-t", "mangle", "-D", "FORWARD", ...FOREIGN);
    lab.underlayMtu(1500);
    rmSync(stack.stateDir, { recursive: true, force: true });
    closeAllConnections();
  }, 120_000);

  it("without a clamp, 1 MB from PC1 to PC2 stalls: full-size segments are lost on the hop", async () => {
    writeStackConfig(stack.configFile, fieldNoteConfig());
    expect((await runEngine(stack, "up")).code).toBe(0);
    const { received, syn } = await transfer(a, b);
    // PC1's own MTU (1500) or a path MTU it learned from gre1 (1472): either is more than the hop carries.
    expect(Number(/mss (\d+)/.exec(syn)?.[1])).toBeGreaterThan(1332);
    expect(received).toBeLessThan(MEGABYTE);
  }, 120_000);

  it("tcpMss 1332: SYNs through gre1 carry MSS 1332, 1 MB crosses, and someone else's rule is untouched", async () => {
    writeStackConfig(stack.configFile, fieldNoteConfig({ tcpMss: 1332 }));
    expect((await runEngine(stack, "up")).code).toBe(0);
    const { received, syn } = await transfer(a, b);
    expect(syn).toContain("mss 1332");
    expect(received).toBe(MEGABYTE);
    expect(await rules(a)).toEqual([
      `-A FORWARD ${FOREIGN.slice(0, 12).join(" ")} "someone else\\'s rule" -j TCPMSS --set-mss 1200`,
      '-A FORWARD -o gre1 -p tcp -m tcp --tcp-flags SYN,RST SYN -m tcpmss --mss 1333:65535 -m comment --comment "pulumi-gre:gre1" -j TCPMSS --set-mss 1332',
    ]);
  }, 120_000);

  it("mtu 1372 with tcpMss clamp: the MSS follows the tunnel's MTU (1372 − 40), and the outputs say so", async () => {
    writeStackConfig(stack.configFile, fieldNoteConfig({ mtu: 1372, tcpMss: "clamp" }));
    expect((await runEngine(stack, "up")).code).toBe(0);
    const { received, syn } = await transfer(a, b);
    expect(syn).toContain("mss 1332");
    expect(received).toBe(MEGABYTE);
    expect(tunnelEnds().map((e) => e.tcpMss)).toEqual([
      { firewall: "iptables-legacy", setting: "clamp", mss: 1332, persisted: null },
      { firewall: "iptables-legacy", setting: "clamp", mss: 1332, persisted: null },
    ]);
  }, 120_000);

  it("a rule removed by hand is drift, and up puts it back", async () => {
    expect((await runOn(b, "iptables-legacy", "-w", "-t", "mangle", "-F", "FORWARD")).exitCode).toBe(0);
    const preview = await runEngine(stack, "preview", "--refresh", "--diff", "--expect-no-changes");
    expect(preview.code).not.toBe(0);
    expect(preview.out).toContain("routerB (root@169.254.100.12:22): gre1 MSS rule is missing");
    expect((await runEngine(stack, "up", "--refresh")).code).toBe(0);
    expect(await rules(b)).toEqual([
      '-A FORWARD -o gre1 -p tcp -m tcp --tcp-flags SYN,RST SYN -m comment --comment "pulumi-gre:gre1" -j TCPMSS --clamp-mss-to-pmtu',
    ]);
  }, 120_000);

  it("destroy removes the rules it made, and only those", async () => {
    expect((await runEngine(stack, "destroy")).code).toBe(0);
    expect(await rules(a)).toEqual([
      `-A FORWARD ${FOREIGN.slice(0, 12).join(" ")} "someone else\\'s rule" -j TCPMSS --set-mss 1200`,
    ]);
    expect(await rules(b)).toEqual([]);
  }, 120_000);
});
