/**
 * The dev stack end to end on the lab, through the stand-in engine's command line (the Pulumi CLI
 * cannot run here): up, preview --refresh with no changes, a tunnel end deleted by hand, a router
 * rebooted, destroy.
 */
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { repoRoot } from "../../tools/repoRoot";
import { Lab } from "../../lab/lab";
import { closeAllConnections, runOnRouter } from "../../transport";
import { describeOnLab, labRouter, pingPcToPc, type LabSide, routerState } from "./labEnv";
import { runEngineCommand, type EngineResult } from "./engineRun";

let stateDir: string;

/** `npm run engine -- ARGS`, as a person runs it; its exit code and output. */
function engine(...args: string[]): Promise<EngineResult> {
  return runEngineCommand(args, stateDir, "npm");
}

describeOnLab("the dev stack on the lab, through the stand-in engine", () => {
  let a: LabSide;
  let b: LabSide;
  let booted: unknown[];

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(tmpdir(), "gre-state-"));
    a = await labRouter("routerA");
    b = await labRouter("routerB");
    const lab = new Lab(repoRoot(), () => undefined);
    await Promise.all([lab.restart("routerA"), lab.restart("routerB")]);
    closeAllConnections();
    booted = await Promise.all([routerState(a), routerState(b)]);
  });

  afterAll(async () => {
    await engine("destroy", "--stack", "dev");
    closeAllConnections();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("1. up: PC1 and PC2 ping each other through the tunnel", async () => {
    const up = await engine("up", "--stack", "dev");
    expect(up.out).toContain("Resources: 7 to create");
    expect(up.code).toBe(0);
    expect(up.out).toMatch(/"state": "up"/);
    expect([await pingPcToPc(a, b), await pingPcToPc(b, a)]).toEqual([0, 0]);
    // The routers' key is in the state only sealed (the tunnel's credentials, the connections of
    // the one-router resources), and nowhere in what the engine printed; the tunnel's endpoints
    // are plain.
    const key = a.connection.privateKey!.split("\n")[1];
    const state = readFileSync(path.join(stateDir, "dev.json"), "utf8");
    expect([state.includes(key), up.out.includes(key)]).toEqual([false, false]);
    const stored = JSON.parse(state) as {
      resources: Array<{ type: string; secretInputs: string[]; inputs: Record<string, unknown> }>;
    };
    const tunnel = stored.resources.find((r) => r.type.endsWith(":GreTunnel"))!;
    expect(tunnel.secretInputs).toEqual(["credentials"]);
    expect((tunnel.inputs.endpoints as Array<{ peerAddress?: string }>)[0].peerAddress).toBe("10.10.10.1");
  });

  it("2. preview --refresh --expect-no-changes passes when nothing drifted", async () => {
    const preview = await engine("preview", "--stack", "dev", "--refresh", "--expect-no-changes");
    expect(preview.out).toContain("Resources: 7 unchanged");
    expect(preview.code).toBe(0);
  });

  it("3. a tunnel end deleted by hand is drift naming routerB; up --refresh repairs it", async () => {
    await runOnRouter(b.connection, [{ argv: ["ip", "tunnel", "del", "gre1"] }]);
    const preview = await engine("preview", "--stack", "dev", "--refresh");
    expect(preview.code).toBe(0);
    expect(preview.out).toContain(
      // The inputs as the routers have them (routerB's end without its tunnel addresses) against
      // the program's, then the drift the outputs name.
      "~  update   GreTunnel routerA-routerB-gre1 (routerA, routerB)\n" +
        '        endpoints[1].address: (unset) → "10.10.10.1"\n' +
        '        endpoints[1].peerAddress: (unset) → "10.10.10.2"\n' +
        "        routerB (root@169.254.100.12:22): gre1 is missing",
    );
    const strict = await engine("preview", "--stack", "dev", "--refresh", "--expect-no-changes");
    expect(strict.code).not.toBe(0);
    expect(strict.out).toContain("error: no changes were expected but changes were proposed");
    const up = await engine("up", "--stack", "dev", "--refresh");
    expect(up.code).toBe(0);
    expect(up.out).toContain("~  update   GreTunnel routerA-routerB-gre1 (routerA, routerB)");
    expect([await pingPcToPc(a, b), await pingPcToPc(b, a)]).toEqual([0, 0]);
  });

  it("4. a rebooted routerB: tunnel end, route, module and forwarding are drift; up --refresh repairs all", async () => {
    closeAllConnections();
    await new Lab(repoRoot(), () => undefined).restart("routerB");
    const preview = await engine("preview", "--stack", "dev", "--refresh");
    for (const drift of [
      "routerB (root@169.254.100.12:22): gre1 is missing",
      "routerB (root@169.254.100.12:22): route to 10.2.1.0/24 is missing",
      "routerB (root@169.254.100.12:22): kernel module ip_gre is not loaded",
      "routerB (root@169.254.100.12:22): net.ipv4.ip_forward is 0, wanted 1",
    ]) {
      expect(preview.out).toContain(drift);
    }
    const up = await engine("up", "--stack", "dev", "--refresh");
    expect(up.code).toBe(0);
    expect(up.out).toContain("Resources: 4 to update, 4 drifted, 3 unchanged");
    expect([await pingPcToPc(a, b), await pingPcToPc(b, a)]).toEqual([0, 0]);
    const clean = await engine("preview", "--stack", "dev", "--refresh", "--expect-no-changes");
    expect(clean.code).toBe(0);
  });

  it("5. destroy: both routers are as the lab booted them", async () => {
    const destroy = await engine("destroy", "--stack", "dev");
    expect(destroy.code).toBe(0);
    expect(destroy.out).toContain("Resources: 7 to delete");
    expect(await Promise.all([routerState(a), routerState(b)])).toEqual(booted);
  });
});
