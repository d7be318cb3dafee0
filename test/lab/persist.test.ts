/**
 * A persisted stack across real reboots of the lab's routers: each router's kernel stops and boots
 * again, and systemd-networkd — as a Debian or Ubuntu router runs it at boot — brings the tunnel and
 * its routes back from the files pulumi-gre wrote, with no Pulumi run. Edited or removed files are
 * drift; persist turned off removes them; destroy leaves the routers as booted.
 */
import { rmSync } from "fs";
import { tunnelFiles } from "../../commands/networkd/networkd";
import { repoRoot } from "../../tools/repoRoot";
import { Lab } from "../../lab/lab";
import { fieldNoteState } from "../../lab/routerState";
import { closeAllConnections } from "../../transport";
import { fieldNoteConfig, runEngine, writeStackConfig, scratchStack, type TestStack } from "./engineRun";
import {
  describeOnLab,
  labRouter,
  mustRun,
  pingPcToPc,
  pingsWithin,
  runOn,
  runStatus,
  withoutModules,
  type LabSide,
} from "./labEnv";

const GRE1 = tunnelFiles("gre1");
const ROUTE_A = `${GRE1.dropIns}/pulumi-gre-route-10.1.1.0_24-t254-m0.conf`;

describeOnLab("a persisted stack across reboots", () => {
  let a: LabSide;
  let b: LabSide;
  let lab: Lab;
  let stack: TestStack;
  let booted: unknown[];

  const restart = async (...names: string[]) => {
    await Promise.all(names.map((n) => lab.restart(n)));
    // The old connections died with the routers' kernels.
    closeAllConnections();
  };

  beforeAll(async () => {
    a = await labRouter("routerA");
    b = await labRouter("routerB");
    lab = new Lab(repoRoot(), () => undefined);
    stack = scratchStack("persist");
    writeStackConfig(stack.configFile, fieldNoteConfig({}, { persist: true }));
    booted = await Promise.all([withoutModules(a), withoutModules(b)]);
  }, 120_000);

  afterAll(async () => {
    await runEngine(stack, "destroy");
    rmSync(stack.stateDir, { recursive: true, force: true });
    closeAllConnections();
  }, 120_000);

  it("writes every resource's boot files on both routers", async () => {
    const up = await runEngine(stack, "up");
    if (up.code !== 0) console.log(up.out);
    expect(up.code).toBe(0);
    const files = (await fieldNoteState(a.connection)).files.split("\n");
    expect(files).toEqual(
      expect.arrayContaining([
        GRE1.netdev,
        GRE1.network,
        ROUTE_A,
        "/etc/modules-load.d/pulumi-gre-ip_gre.conf",
        "/etc/sysctl.d/90-pulumi-gre-net.ipv4.ip_forward.conf",
      ]),
    );
  }, 120_000);

  it("both routers restarted: PC1 ⇄ PC2 with no Pulumi run, and preview --refresh --expect-no-changes exits 0", async () => {
    await restart("routerA", "routerB");
    expect(await pingsWithin(a, b, 30)).toBe(true);
    const preview = await runEngine(stack, "preview", "--refresh", "--expect-no-changes");
    // No row plans a change (each resource's refresh row is no change: it is not counted).
    expect(preview.out).not.toMatch(/^ (~|\+|-|\+-) +\S+ \S+ (update|create|replace|delete)$/m);
    expect(preview.code).toBe(0);
  }, 180_000);

  it("a boot file edited or removed by hand is drift, and up puts it back", async () => {
    expect(await runStatus(b, "sed", "-i", "s/^TTL=255$/TTL=64/", GRE1.netdev)).toBe(0);
    expect(await runStatus(a, "rm", ROUTE_A)).toBe(0);
    const preview = await runEngine(stack, "preview", "--refresh", "--diff", "--expect-no-changes");
    expect(preview.code).not.toBe(0);
    expect(preview.out).toContain(`routerB (root@169.254.100.12:22): ${GRE1.netdev} was changed`);
    expect(preview.out).toContain(`routerA (root@169.254.100.11:22): ${ROUTE_A} is missing`);
    const up = await runEngine(stack, "up", "--refresh");
    expect(up.code).toBe(0);
    expect(await runStatus(b, "grep", "-qx", "TTL=255", GRE1.netdev)).toBe(0);
    expect(await runStatus(a, "test", "-f", ROUTE_A)).toBe(0);
    expect((await runEngine(stack, "preview", "--refresh", "--expect-no-changes")).code).toBe(0);
  }, 180_000);

  it("persist turned off: up removes the files, and a reboot is then drift that up repairs", async () => {
    writeStackConfig(stack.configFile, fieldNoteConfig({}, { persist: false }));
    const up = await runEngine(stack, "up");
    if (up.code !== 0) console.log(up.out);
    expect(up.code).toBe(0);
    for (const side of [a, b]) expect((await fieldNoteState(side.connection)).files).toBe("");
    await restart("routerB");
    const preview = await runEngine(stack, "preview", "--refresh", "--diff", "--expect-no-changes");
    expect(preview.code).not.toBe(0);
    expect(preview.out).toContain("routerB (root@169.254.100.12:22): gre1 is missing");
    expect((await runEngine(stack, "up", "--refresh")).code).toBe(0);
    expect([await pingPcToPc(a, b), await pingPcToPc(b, a)]).toEqual([0, 0]);
  }, 240_000);

  it("destroy leaves both routers as booted", async () => {
    writeStackConfig(stack.configFile, fieldNoteConfig({}, { persist: true }));
    expect((await runEngine(stack, "up")).code).toBe(0);
    expect((await runEngine(stack, "destroy")).code).toBe(0);
    expect(await Promise.all([withoutModules(a), withoutModules(b)])).toEqual(booted);
  }, 180_000);

  it("a full boot-file directory on routerB: up fails, both ends undone, and no part of a file left there", async () => {
    const dir = "/etc/systemd/network";
    // A directory with no room left: a small tmpfs over it, filled.
    await mustRun(b, "mount", "-t", "tmpfs", "-o", "size=8k", "pulumi-gre-full", dir);
    try {
      await runOn(b, "dd", "if=/dev/zero", `of=${dir}/fill`, "bs=1k", "count=64");
      const up = await runEngine(stack, "up");
      expect(up.code).toBe(1);
      expect(up.out).toContain("No space left on device");
      expect((await runOn(b, "ls", "-A", dir)).stdout.trim()).toBe("fill");
      for (const side of [a, b])
        expect(await runStatus(side, "ip", "link", "show", "dev", "gre1")).not.toBe(0);
      // routerA's files were written, then undone with its end: networkd forgot them too, so a
      // gre1 someone makes next is not given the undone tunnel's address behind their back.
      await mustRun(
        a,
        "ip",
        "tunnel",
        "add",
        "gre1",
        "mode",
        "gre",
        "remote",
        b.router.underlay,
        "local",
        a.router.underlay,
      );
      try {
        await mustRun(a, "ip", "link", "set", "gre1", "up");
        await new Promise((r) => setTimeout(r, 3000));
        expect((await runOn(a, "ip", "-4", "addr", "show", "dev", "gre1")).stdout).not.toContain("inet ");
      } finally {
        await mustRun(a, "ip", "tunnel", "del", "gre1");
      }
    } finally {
      await mustRun(b, "umount", dir);
    }
    expect((await runEngine(stack, "destroy")).code).toBe(0);
    expect(await Promise.all([withoutModules(a), withoutModules(b)])).toEqual(booted);
  }, 180_000);
});
