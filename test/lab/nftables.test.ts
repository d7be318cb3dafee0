/**
 * The MSS clamp's nftables rules on a real kernel: the lab's user-mode kernels lack nftables' ip
 * family, the host's has it, so the commands the providers send run here in a scratch network
 * namespace, next to a table that is not ours, and are read back with the providers' parser.
 */
import { spawnSync } from "child_process";
import { firewallReads, parseFirewall, planClamp } from "../../commands/firewall/mssClamp";
import { type TcpMss } from "../../model/tunnel";
import type { CommandOutcome, RemoteCommand } from "../../model/command";
import { describeOnLab } from "./labEnv";
import { clampUnit, clampUnitContent } from "../../commands/firewall/bootClamp";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

const NS = `gre-nft-${process.pid}`;

/** Runs a command in the scratch namespace as a router would (stdin included). */
function run(command: RemoteCommand): CommandOutcome {
  const result = spawnSync("ip", ["netns", "exec", NS, ...command.argv], {
    input: command.stdin,
    encoding: "utf8",
  });
  return {
    argv: command.argv,
    ran: true,
    exitCode: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

function view(name: string) {
  return parseFirewall(name, firewallReads().map(run));
}

/** Applies what the providers would change for tunnel `name`; fails on the first command that fails. */
function converge(name: string, mss: TcpMss | undefined): void {
  for (const command of planClamp(name, mss, view(name))) {
    const outcome = run(command);
    if (outcome.exitCode !== 0) throw new Error(`${command.argv.join(" ")}: ${outcome.stderr}`);
  }
}

function ruleset(): string {
  return run({ argv: ["nft", "list", "ruleset"] }).stdout;
}

describeOnLab("MSS clamp rules in nftables (the host's kernel)", () => {
  beforeAll(() => {
    spawnSync("ip", ["netns", "add", NS]);
    // Someone else's table, with a rule of the same shape.
    const theirs = run({
      argv: ["nft", "-f", "-"],
      stdin:
        "add table inet filter\nadd chain inet filter forward { type filter hook forward priority 0; }\n" +
        'add rule inet filter forward oifname "gre1" tcp flags & (syn | rst) == syn tcp option maxseg size set 1200\n',
    });
    expect(theirs.exitCode).toBe(0);
  });

  afterAll(() => {
    spawnSync("ip", ["netns", "del", NS]);
  });

  it("picks nftables when the kernel takes its ip family, and adds each tunnel's rule in a chain of its own", () => {
    converge("gre1", "clamp");
    converge("gre2", 1336);
    expect(view("gre1")).toEqual({
      usable: "nftables",
      nftChains: ["mss_gre1", "mss_gre2"],
      rules: [{ firewall: "nftables", setting: "clamp" }],
    });
    expect(view("gre2").rules).toEqual([{ firewall: "nftables", setting: 1336 }]);
    expect(ruleset()).toContain(
      'oifname "gre2" tcp flags syn / syn,rst tcp option maxseg size > 1336 tcp option maxseg size set 1336 comment "pulumi-gre:gre2"',
    );
  });

  it("changes a setting in one transaction, and does nothing when it is as wanted", () => {
    converge("gre1", 1360);
    expect(view("gre1").rules).toEqual([{ firewall: "nftables", setting: 1360 }]);
    expect(planClamp("gre1", 1360, view("gre1"))).toEqual([]);
  });

  it("removes a tunnel's chain, then our table with the last one, and never touches the other table", () => {
    converge("gre2", undefined);
    expect(view("gre2").nftChains).toEqual(["mss_gre1"]);
    converge("gre1", undefined);
    expect(view("gre1")).toEqual({ usable: "nftables", nftChains: [], rules: [] });
    const left = ruleset();
    expect(left).not.toContain("pulumi_gre");
    expect(left).toContain("tcp option maxseg size set 1200");
  });

  it("the boot unit's lines, run as its ExecStart= words say (twice, as after a rerun), give the same one rule", () => {
    const lines = clampUnitContent("gre3", 1300, "nftables", "ipv4")
      .split("\n")
      .filter((l) => l.startsWith("ExecStart="))
      .map((l) => l.slice("ExecStart=".length));
    expect(lines.some((l) => l.startsWith("-"))).toBe(false);
    for (let round = 0; round < 2; round++) {
      for (const line of lines) expect(run({ argv: ["sh", "-c", line] }).stderr).toBe("");
    }
    expect(view("gre3").rules).toEqual([{ firewall: "nftables", setting: 1300 }]);
    converge("gre3", undefined);
    expect(ruleset()).not.toContain("pulumi_gre");
  });

  it("the boot units are as systemd reads them: systemd-analyze verify finds nothing to say", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "gre-units-"));
    try {
      const files = [
        ["gre1", clampUnitContent("gre1", "clamp", "nftables", "ipv4")],
        ["g6", clampUnitContent("g6", 1384, "ip6tables-legacy", "ipv6")],
      ].map(([name, content]) => {
        const file = path.join(dir, clampUnit(name));
        writeFileSync(file, content);
        return file;
      });
      const verify = spawnSync("systemd-analyze", ["verify", ...files], { cwd: dir, encoding: "utf8" });
      expect([verify.status, verify.stderr]).toEqual([0, ""]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
