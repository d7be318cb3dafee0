/**
 * The dev stack end to end on the lab, through the stand-in engine's command line (the Pulumi CLI
 * cannot run here; the stand-in prints what `pulumi` prints): up, preview --refresh with no
 * changes, a tunnel end deleted by hand, a key changed on one end, a route removed, forwarding
 * turned off, a router rebooted, destroy. The drift is read in Pulumi's own `--diff` lines.
 */
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { repoRoot } from "../../tools/repoRoot";
import { STATE_COLOURS } from "../../graph/networkGraph";
import { Lab } from "../../lab/lab";
import { closeAllConnections, runOnRouter } from "../../transport";
import {
  describeOnLab,
  labRouter,
  mustRun,
  pingPcToPc,
  rekeyByHand,
  type LabSide,
  routerState,
} from "./labEnv";
import { runEngineCommand, type EngineResult } from "./engineRun";

let stateDir: string;

/** `npm run engine -- ARGS`, as a person runs it; its exit code and output. */
function engine(...args: string[]): Promise<EngineResult> {
  return runEngineCommand(args, stateDir, "npm");
}

/** `npm run graph -- --stack dev`, as a person runs it: the routers' names and the tunnel's colour. */
function graph(): { routers: boolean; stroke: string | undefined; texts: string[] } {
  const svg = execFileSync("npm", ["run", "-s", "graph", "--", "--stack", "dev"], {
    cwd: repoRoot(),
    env: { ...process.env, GRE_ENGINE_STATE_DIR: stateDir },
    encoding: "utf8",
  });
  const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  return {
    routers: texts.includes("routerA") && texts.includes("routerB"),
    stroke: /<g id="edge\d+" class="edge">[^]*?<path [^>]*stroke="(#[0-9a-f]+)"/.exec(svg)?.[1],
    texts,
  };
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
    // The stack, the TunnelRoutes component and seven dynamic resources.
    expect(up.out).toContain("Resources:\n    + 9 created\n");
    expect(up.code).toBe(0);
    expect(up.out).toMatch(/\n {12}state +: "up"\n/);
    expect([await pingPcToPc(a, b), await pingPcToPc(b, a)]).toEqual([0, 0]);
    // The routers' key is in the state only sealed (every resource's credentials), and nowhere in
    // what the engine printed; the connections and the tunnel's endpoints are plain.
    const key = a.connection.privateKey!.split("\n")[1];
    const state = readFileSync(path.join(stateDir, "dev.json"), "utf8");
    expect([state.includes(key), up.out.includes(key)]).toEqual([false, false]);
    const stored = JSON.parse(state) as {
      resources: Array<{
        type: string;
        custom: boolean;
        secretInputs: string[];
        inputs: Record<string, unknown>;
      }>;
    };
    for (const resource of stored.resources.filter((r) => r.custom))
      expect([resource.type, resource.secretInputs]).toEqual([resource.type, ["credentials"]]);
    const tunnel = stored.resources.find((r) => r.type.endsWith(":GreTunnel"))!;
    expect((tunnel.inputs.endpoints as Array<{ peerAddress?: string }>)[0].peerAddress).toBe("10.10.10.1");
    const forwarding = stored.resources.filter((r) => r.type.endsWith(":Sysctl"));
    expect(
      forwarding
        .map((r) => r.inputs.connection)
        .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    ).toMatchObject([
      { host: "169.254.100.11", name: "routerA" },
      { host: "169.254.100.12", name: "routerB" },
    ]);
    // The graph of the deployed stack: both routers, gre1 on each, drawn as carrying traffic.
    const drawn = graph();
    expect([drawn.routers, drawn.stroke]).toEqual([true, STATE_COLOURS.up]);
    expect(drawn.texts).toEqual(expect.arrayContaining(["gre1 10.10.10.2", "gre1 10.10.10.1", "up"]));
  });

  it("2. preview --refresh --expect-no-changes passes when nothing drifted", async () => {
    const preview = await engine("preview", "--stack", "dev", "--refresh", "--expect-no-changes");
    expect(preview.out).toContain("Resources:\n    9 unchanged\n");
    expect(preview.code).toBe(0);
  });

  it("3. a tunnel end deleted by hand: routerB's end without its addresses in the update's diff lines; up --refresh repairs it", async () => {
    await runOnRouter(b.connection, [{ argv: ["ip", "tunnel", "del", "gre1"] }]);
    const preview = await engine("preview", "--stack", "dev", "--refresh", "--diff");
    expect(preview.code).toBe(0);
    // The inputs read returned (routerB's end without its tunnel addresses) against the program's,
    // as `pulumi preview --refresh --diff` prints them: the end that names routerB gains them back.
    expect(preview.out).toMatch(
      /\n {6}~ endpoints {2}: \[\n[^]*\n {10}~ \[1\]: \{\n {18}\+ address {4}: "10\.10\.10\.1"\n {20}connection : \{\n(?: {24}.*\n)*? {24}name {8}: "routerB"\n[^]*\n {18}\+ peerAddress: "10\.10\.10\.2"\n/,
    );
    // The refresh's changed outputs name what is missing where.
    expect(preview.out).toContain('+ [0]: "routerB (root@169.254.100.12:22): gre1 is missing"');
    const strict = await engine("preview", "--stack", "dev", "--refresh", "--expect-no-changes");
    expect(strict.code).not.toBe(0);
    expect(strict.out).toContain("error: no changes were expected but changes were proposed");
    // A refresh records it in the state, and the graph draws the tunnel as down.
    expect((await engine("refresh", "--stack", "dev")).code).toBe(0);
    const drawn = graph();
    expect([drawn.routers, drawn.stroke]).toEqual([true, STATE_COLOURS.down]);
    expect(drawn.texts).toContain("down");
    const up = await engine("up", "--stack", "dev", "--refresh");
    expect(up.code).toBe(0);
    expect(up.out).toMatch(
      /\n ~ {2}pulumi-nodejs:dynamic\/gre:GreTunnel routerA-routerB-gre1 updated \(\d+s\)\n/,
    );
    expect([await pingPcToPc(a, b), await pingPcToPc(b, a)]).toEqual([0, 0]);
  });

  it.each<[string, (a: LabSide, b: LabSide) => [LabSide, string[]], RegExp]>([
    [
      "a key changed on routerB's end: the tunnel's key",
      (a, b) => [b, rekeyByHand(b, a, 2)],
      /\n {4}~ pulumi-nodejs:dynamic\/gre:GreTunnel: \(update\)\n[^]*\n {6}~ key {8}: 2 => 1\n/,
    ],
    [
      "routerA's route to PC2's LAN removed: the route's via",
      (a) => [a, ["ip", "route", "del", "10.1.1.0/24"]],
      /\n {8}~ pulumi-nodejs:dynamic\/gre:TunnelRoute: \(update\)\n {12}\[id=169\.254\.100\.11:254:10\.1\.1\.0\/24:0\]\n[^]*?\n {10}\+ via {9}: "10\.10\.10\.1"\n/,
    ],
    [
      "forwarding turned off on routerB: the sysctl's value",
      (_a, b) => [b, ["sysctl", "-w", "net.ipv4.ip_forward=0"]],
      /\n {8}\[urn=urn:pulumi:dev::pulumi-gre::pulumi:pulumi:Stack\$pulumi-nodejs:dynamic\/gre:Sysctl::routerB-ip_forward\]\n[^]*?\n {6}~ value {10}: "0" => "1"\n/,
    ],
  ])(
    "4. %s, in Pulumi's diff lines; --expect-no-changes fails; up --refresh repairs it",
    async (_what, byHand, shown) => {
      const [side, argv] = byHand(a, b);
      await mustRun(side, ...argv);
      const preview = await engine("preview", "--stack", "dev", "--refresh", "--diff", "--expect-no-changes");
      expect(preview.out).toMatch(shown);
      expect(preview.code).not.toBe(0);
      expect((await engine("up", "--stack", "dev", "--refresh")).code).toBe(0);
      const clean = await engine("preview", "--stack", "dev", "--refresh", "--expect-no-changes");
      expect(clean.code).toBe(0);
      expect([await pingPcToPc(a, b), await pingPcToPc(b, a)]).toEqual([0, 0]);
    },
  );

  it("4. an operator's tunnel beside gre1 on routerA (same local, remote and key, another dev): drift that names it, up refuses, removed it converges", async () => {
    const argv = [
      "ip",
      "tunnel",
      "add",
      "mine",
      "mode",
      "gre",
      "remote",
      b.router.underlay,
      "local",
      a.router.underlay,
    ];
    await mustRun(a, ...argv, "ikey", "1", "okey", "1", "dev", "eth1");
    try {
      const preview = await engine("preview", "--stack", "dev", "--refresh", "--diff", "--expect-no-changes");
      expect(preview.code).not.toBe(0);
      expect(preview.out).toContain(
        `routerA (root@169.254.100.11:22): mine already carries GRE from ${b.router.underlay} to ${a.router.underlay} with key 1; ` +
          "the kernel matches incoming GRE packets on local address, remote address and key, so mine can take gre1's traffic: remove mine or give gre1 another key",
      );
      const up = await engine("up", "--stack", "dev", "--refresh");
      expect(up.code).not.toBe(0);
      expect(up.out).toContain("mine already carries GRE");
      expect(up.out).toContain("so gre1 needs a different key");
    } finally {
      await mustRun(a, "ip", "tunnel", "del", "mine");
    }
    const clean = await engine("preview", "--stack", "dev", "--refresh", "--expect-no-changes");
    expect(clean.code).toBe(0);
    expect([await pingPcToPc(a, b), await pingPcToPc(b, a)]).toEqual([0, 0]);
  });

  it("4. a rebooted routerB: tunnel end, route, module and forwarding are drift; up --refresh repairs all", async () => {
    closeAllConnections();
    await new Lab(repoRoot(), () => undefined).restart("routerB");
    const preview = await engine("preview", "--stack", "dev", "--refresh", "--diff");
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
    expect(up.out).toContain("Resources:\n    ~ 4 updated\n    5 unchanged\n");
    expect([await pingPcToPc(a, b), await pingPcToPc(b, a)]).toEqual([0, 0]);
    const clean = await engine("preview", "--stack", "dev", "--refresh", "--expect-no-changes");
    expect(clean.code).toBe(0);
  });

  it("5. destroy: both routers are as the lab booted them", async () => {
    const destroy = await engine("destroy", "--stack", "dev");
    expect(destroy.code).toBe(0);
    expect(destroy.out).toContain("Resources:\n    - 9 deleted\n");
    expect(await Promise.all([routerState(a), routerState(b)])).toEqual(booted);
  });
});
