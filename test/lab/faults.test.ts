/**
 * Faults, injected on the lab while the engine works: a router whose host key changed, a router
 * down when `up` starts, a router frozen in the middle of a refresh, the engine killed in the
 * middle of `up`, two engines at once. Each must end in bounded time with a clear error, leave no
 * half tunnel and no orphan, keep the state true to the routers, and converge on the next run.
 */
import { spawnSync } from "child_process";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { parseIpLink } from "../../commands/iproute2/parseIp";
import { repoRoot } from "../../tools/repoRoot";
import { Lab } from "../../lab/lab";
import { fieldNoteState } from "../../lab/routerState";
import { closeAllConnections, runOnRouter } from "../../transport";
import { startEngine, writeStackConfig } from "./engineRun";
import { describeOnLab, labRouter, mustRun, pingPcToPc, runOn, runStatus, type LabSide } from "./labEnv";

const ROOT = repoRoot();

let stateDir: string;
let configFile: string;

/** `npm run engine -- ARGS` on the faults stack, as a person runs it; its exit code, output and time. */
const engine = (...args: string[]) => startEngine({ stack: "faults", stateDir, configFile }, ...args);
const run = (...args: string[]) => engine(...args).done;

/**
 * The faults stack: the field note, with routers reached by connection so that timeouts are short;
 * `gone` names a router decommissioned.
 */
function writeConfig(a: LabSide, b: LabSide, gone?: string): void {
  const router = (side: LabSide) => ({
    ...(side.router.name === gone ? { decommissioned: true } : {}),
    connection: {
      host: side.router.host,
      proxyCommand: side.router.proxyCommand,
      hostKey: side.router.hostKey,
      privateKeySecret: "labKey",
      commandTimeout: 10,
      dialErrorLimit: 2,
      perDialTimeout: 5,
    },
    underlay: side.router.underlay,
    lans: [side.router.lanPrefix],
  });
  writeStackConfig(configFile, {
    // In plain text only because this stand-in engine cannot decrypt secrets; lab key only.
    "pulumi-gre:labKey": a.connection.privateKey,
    "pulumi-gre:routers": { routerA: router(a), routerB: router(b) },
    "pulumi-gre:tunnels": [
      {
        name: "gre1",
        key: 1,
        ends: [
          { router: "routerA", address: "10.10.10.2" },
          { router: "routerB", address: "10.10.10.1" },
        ],
      },
    ],
    "pulumi-gre:settings": { unloadModulesOnDestroy: true },
  });
}

async function hasGre1(side: LabSide): Promise<boolean> {
  const result = await runOnRouter(side.connection, [{ argv: ["ip", "-j", "-d", "link", "show"] }]);
  return parseIpLink(result.outcomes[0].stdout).some((l) => l.name === "gre1");
}

/** The state's resources and pending operations, by name. */
function stateOf(): { resources: string[]; pending: string[] } {
  const state = JSON.parse(readFileSync(path.join(stateDir, "faults.json"), "utf8")) as {
    resources: Array<{ name: string; custom: boolean }>;
    pending?: Array<{ operation: string; name: string }>;
  };
  return {
    resources: state.resources
      .filter((r) => r.custom)
      .map((r) => r.name)
      .sort(),
    pending: (state.pending ?? []).map((p) => `${p.operation} ${p.name}`).sort(),
  };
}

/** Pulumi dynamic-provider hosts running on this machine. */
function providerHosts(): number {
  return readdirSync("/proc").filter((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("cmd/dynamic-provider");
    } catch {
      return false;
    }
  }).length;
}

describeOnLab("faults while the engine works", () => {
  let a: LabSide;
  let b: LabSide;
  let lab: Lab;
  let booted: unknown[];

  beforeAll(async () => {
    a = await labRouter("routerA");
    b = await labRouter("routerB");
    lab = new Lab(ROOT, () => undefined);
    stateDir = mkdtempSync(path.join(tmpdir(), "gre-faults-"));
    configFile = path.join(stateDir, "Pulumi.faults.yaml");
    writeConfig(a, b);
    await Promise.all([lab.restart("routerA"), lab.restart("routerB")]);
    closeAllConnections();
    booted = await Promise.all([fieldNoteState(a.connection), fieldNoteState(b.connection)]);
  });

  afterAll(async () => {
    await run("destroy");
    closeAllConnections();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("a router down when up starts: a clear error in bounded time, no half tunnel, what completed kept; the next up converges", async () => {
    await lab.stop("routerB");
    // `stop` returns only once the router's processes are gone.
    expect(spawnSync("pgrep", ["-f", `umid=${lab.identity.namespace}-routerB`]).status).toBe(1);
    const up = await run("up");
    expect(up.code).toBe(1);
    expect(up.seconds).toBeLessThan(60);
    // Pulumi's Diagnostics section: the error under the resource that failed.
    expect(up.out).toMatch(
      /\n {2}pulumi-nodejs:dynamic\/gre:KernelModule \(routerB-ip_gre\):\n {4}error: routerB \(root@169\.254\.100\.12:22\): /,
    );
    expect(await hasGre1(a)).toBe(false);
    expect(stateOf()).toEqual({ resources: ["routerA-ip_forward", "routerA-ip_gre"], pending: [] });
    await lab.start("routerB");
    closeAllConnections();
    const again = await run("up");
    expect([again.code, await pingPcToPc(a, b), await pingPcToPc(b, a)]).toEqual([0, 0, 0]);
    expect((await run("preview", "--refresh", "--expect-no-changes")).code).toBe(0);
  });

  it("a router whose host key changed: refresh ends at once with both fingerprints, nothing changes; the old key back, it converges", async () => {
    const dir = path.join(lab.paths.routers, "routerB");
    const saved = mkdtempSync(path.join(tmpdir(), "gre-key-"));
    for (const f of ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"])
      copyFileSync(path.join(dir, f), path.join(saved, f));
    try {
      for (const f of ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"]) rmSync(path.join(dir, f));
      spawnSync("ssh-keygen", [
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "impostor",
        "-f",
        path.join(dir, "ssh_host_ed25519_key"),
      ]);
      // The lab says what happened, instead of waiting for an SSH that cannot succeed.
      await expect(lab.restart("routerB")).rejects.toThrow(/routerB is up but presents another SSH host key/);
      closeAllConnections();
      for (const args of [
        ["preview", "--refresh"],
        ["up", "--refresh"],
      ]) {
        const result = await run(...args);
        expect(result.code).toBe(1);
        expect(result.seconds).toBeLessThan(30);
        expect(result.out).toContain(
          `routerB (root@169.254.100.12:22): host key mismatch: expected ${b.router.hostKey}`,
        );
        expect(result.out).toMatch(/the router presented SHA256:[A-Za-z0-9+/]{43}/);
      }
      expect(await hasGre1(a)).toBe(true);
    } finally {
      for (const f of ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"])
        copyFileSync(path.join(saved, f), path.join(dir, f));
      rmSync(saved, { recursive: true, force: true });
      await lab.restart("routerB");
      closeAllConnections();
    }
    expect((await run("up", "--refresh")).code).toBe(0);
    expect((await run("preview", "--refresh", "--expect-no-changes")).code).toBe(0);
  });

  it("a router frozen under a refresh: the refresh ends within its deadline naming it; thawed, nothing drifted", async () => {
    const pid = Number(readFileSync(path.join(lab.paths.routers, "routerB", "pid"), "utf8"));
    closeAllConnections();
    process.kill(pid, "SIGSTOP");
    let preview: Awaited<ReturnType<typeof run>>;
    try {
      preview = await run("preview", "--refresh");
    } finally {
      process.kill(pid, "SIGCONT");
    }
    expect(preview.code).toBe(1);
    expect(preview.seconds).toBeLessThan(40);
    expect(preview.out).toMatch(
      /\n {2}pulumi-nodejs:dynamic\/gre:\w+ \(routerB-[\w.-]+\):\n {4}error: routerB \(root@169\.254\.100\.12:22\): .*timed out after 10 s/,
    );
    expect((await run("preview", "--refresh", "--expect-no-changes")).code).toBe(0);
  });

  it("two engines at once: the second refuses, naming who holds the stack", async () => {
    // Started together (their start-up takes the same time): whichever locks the stack first works,
    // the other is refused at once, naming it.
    const runs = await Promise.all([run("up", "--refresh"), run("up", "--refresh")]);
    const refused = runs.filter((r) => r.code === 1);
    expect(refused).toHaveLength(1);
    expect(refused[0].out).toMatch(
      /error: the stack faults is locked: `engine up` \(pid \d+ on [^)]+\) has been working on it since /,
    );
    expect(runs.filter((r) => r.code === 0)).toHaveLength(1);
  });

  it("an operator's own GRE tunnel on routerA: destroy leaves it and ip_gre there, and says why; routerB's ip_gre goes", async () => {
    expect((await run("up")).code).toBe(0);
    await mustRun(
      a,
      "ip",
      "tunnel",
      "add",
      "other",
      "mode",
      "gre",
      "local",
      a.router.underlay,
      "remote",
      "192.0.2.99",
      "key",
      "7",
    );
    try {
      const destroy = await run("destroy");
      expect(destroy.code).toBe(0);
      expect(destroy.out).toContain(
        "KernelModule ip_gre on routerA (root@169.254.100.11:22): left loaded because rmmod would delete the devices it provides: other (gre)",
      );
      expect((await runOn(a, "ip", "-d", "-j", "link", "show", "dev", "other")).exitCode).toBe(0);
      expect([
        await runStatus(a, "test", "-d", "/sys/module/ip_gre"),
        await runStatus(b, "test", "-d", "/sys/module/ip_gre"),
      ]).toEqual([0, 1]);
      expect(stateOf()).toEqual({ resources: [], pending: [] });
    } finally {
      await runOn(a, "ip", "tunnel", "del", "other");
      // ip_gre and the modules it needs (gre, ip_tunnel): as the lab booted routerA.
      await runOn(a, "modprobe", "-r", "ip_gre");
    }
  });

  it("a router gone for good: destroy names the way out; decommissioned, up removes routerA's gre1 and drops routerB's resources unseen", async () => {
    expect((await run("up")).code).toBe(0);
    await lab.stop("routerB");
    try {
      const destroy = await run("destroy");
      expect(destroy.code).toBe(1);
      expect(destroy.out).toContain(
        "if routerB (root@169.254.100.12:22) is gone for good, name it decommissioned in the configuration and run again",
      );
      expect(await hasGre1(a)).toBe(true);
      writeConfig(a, b, "routerB");
      const up = await run("up");
      expect(up.code).toBe(0);
      expect(up.out).toContain(
        "routerB (root@169.254.100.12:22) is decommissioned: gre1's end dropped from the state without contacting it",
      );
      expect(up.out).toContain(
        "routerB (root@169.254.100.12:22) is decommissioned: KernelModule ip_gre dropped from the state",
      );
      expect(await hasGre1(a)).toBe(false);
      expect(await runStatus(a, "test", "-d", "/sys/module/ip_gre")).toBe(1);
      expect(stateOf()).toEqual({ resources: [], pending: [] });
    } finally {
      writeConfig(a, b);
      await lab.start("routerB");
      closeAllConnections();
    }
    // Back in service (a fresh boot): the next up builds the tunnel again.
    const again = await run("up");
    expect([again.code, await pingPcToPc(a, b), await pingPcToPc(b, a)]).toEqual([0, 0, 0]);
  });

  it("the engine killed in the middle of up: its provider host goes too; destroy, then up and destroy again, leave the routers as booted", async () => {
    expect((await run("destroy")).code).toBe(0);
    for (const next of ["destroy", "up"]) {
      const killed = engine("up");
      // Killed once the routers are being changed: a create recorded as under way in the state
      // (the engine writes it there before the create starts), then a moment into it.
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          let creating = false;
          try {
            creating = stateOf().pending.some((p) => p.startsWith("create "));
          } catch {
            // Not written yet, or being written.
          }
          if (creating || killed.child.exitCode !== null) {
            clearInterval(poll);
            setTimeout(resolve, 300);
          }
        }, 50);
      });
      killed.child.kill("SIGKILL");
      await killed.done;
      await new Promise((r) => setTimeout(r, 1500));
      expect(providerHosts()).toBe(0);
      const after = await run(next);
      expect(after.code).toBe(0);
      expect(after.out).toContain("warning: taking over the lock of the stack faults");
      expect(after.out).toMatch(/warning: the last run was interrupted while it was creating \w+ /);
      if (next === "up") {
        expect([await pingPcToPc(a, b), await pingPcToPc(b, a)]).toEqual([0, 0]);
        expect((await run("destroy")).code).toBe(0);
      }
      expect(stateOf()).toEqual({ resources: [], pending: [] });
      // ip_gre unloaded, forwarding back to 0, no marker: as the lab booted them.
      expect(await Promise.all([fieldNoteState(a.connection), fieldNoteState(b.connection)])).toEqual(booted);
    }
  });
});
