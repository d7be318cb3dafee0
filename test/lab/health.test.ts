/**
 * The keepalive GRE lacks: every refresh pings across the tunnel, and a tunnel configured right
 * that carries nothing is drift with its cause named. Each cause is made on the lab's routers:
 * IP protocol 47 dropped by one router's firewall, ip_gre unloaded, the underlay route to the peer
 * gone, keys that no longer mirror, an MTU black hole on the underlay.
 */
import { readFileSync, rmSync } from "fs";
import * as path from "path";
import { repoRoot } from "../../tools/repoRoot";
import { Lab } from "../../lab/lab";
import { closeAllConnections } from "../../transport";
import { fieldNoteConfig, runEngine, writeStackConfig, scratchStack, type TestStack } from "./engineRun";
import { describeOnLab, labRouter, type LabSide, mustRun, rekeyByHand } from "./labEnv";

const A = "routerA (root@169.254.100.11:22)";
const B = "routerB (root@169.254.100.12:22)";
const NO_TRAFFIC = `${A}: gre1 does not carry traffic (100% of pings to 10.10.10.1 lost from ${A})`;

describeOnLab("a tunnel's health on every refresh, and the causes it names", () => {
  let a: LabSide;
  let b: LabSide;
  let lab: Lab;
  let stack: TestStack;

  const state = () =>
    JSON.parse(readFileSync(path.join(stack.stateDir, `${stack.stack}.json`), "utf8")) as {
      outputs: {
        tunnels: Array<{ state: string; health: { reachable: boolean; rttMs: number | null } | null }>;
      };
      resources: Array<{
        type: string;
        outputs: { health: { reachable: boolean; loss: number; rttMs: number } };
      }>;
    };

  /**
   * `preview --refresh --diff --expect-no-changes`: must fail, and each of `phrases` must be where a
   * user reads it: in the refresh's changed outputs that `--diff` prints, or, once an `up` recorded
   * it, in the stack's outputs (`pulumi stack output`).
   */
  const driftSays = async (...phrases: string[]) => {
    const preview = await runEngine(stack, "preview", "--refresh", "--diff", "--expect-no-changes");
    expect(preview.code).not.toBe(0);
    const readable = `${preview.out}\n${JSON.stringify(state().outputs)}`;
    for (const phrase of phrases) expect(readable).toContain(phrase);
  };
  const clean = async () =>
    expect((await runEngine(stack, "preview", "--refresh", "--expect-no-changes")).code).toBe(0);

  beforeAll(async () => {
    a = await labRouter("routerA");
    b = await labRouter("routerB");
    lab = new Lab(repoRoot(), () => undefined);
    stack = scratchStack("health");
    writeStackConfig(stack.configFile, fieldNoteConfig());
    expect((await runEngine(stack, "up")).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    lab.underlayMtu(1500);
    await runEngine(stack, "destroy");
    rmSync(stack.stateDir, { recursive: true, force: true });
    closeAllConnections();
  }, 120_000);

  it("records that the tunnel carries traffic: reachable, loss, round-trip time; the stack says up", async () => {
    const tunnel = state().resources.find((r) => r.type.endsWith(":GreTunnel"))!;
    expect(tunnel.outputs.health).toMatchObject({
      reachable: true,
      loss: 0,
      fullSize: true,
      mtu: 1472,
      causes: [],
    });
    expect(tunnel.outputs.health.rttMs).toBeGreaterThan(0);
    expect(state().outputs.tunnels[0]).toMatchObject({ state: "up", health: { reachable: true } });
    await clean();
  }, 60_000);

  it("IP protocol 47 dropped by routerB's firewall: drift naming routerB; up says so, changes nothing, and the stack says no-traffic", async () => {
    await mustRun(b, "iptables-legacy", "-w", "-I", "INPUT", "-p", "47", "-j", "DROP");
    try {
      await driftSays(
        NO_TRAFFIC,
        `${B}: GRE from ${A} reaches its underlay, but its gre1 receives none of it: ${B}'s firewall drops IP protocol 47 on input`,
      );
      const up = await runEngine(stack, "up", "--refresh");
      expect(up.out).toContain(
        "gre1 is as declared on both routers but does not carry traffic; nothing was changed",
      );
      expect(up.code).toBe(0);
      expect(state().outputs.tunnels[0]).toMatchObject({ state: "no-traffic", health: { reachable: false } });
      // Still drift: the scheduled check keeps failing until the cause is gone.
      await driftSays(NO_TRAFFIC);
    } finally {
      await mustRun(b, "iptables-legacy", "-w", "-D", "INPUT", "-p", "47", "-j", "DROP");
    }
    expect((await runEngine(stack, "up", "--refresh")).code).toBe(0);
    expect(state().outputs.tunnels[0].state).toBe("up");
  }, 180_000);

  it("ip_gre unloaded on routerB", async () => {
    await mustRun(b, "ip", "link", "del", "dev", "gre1");
    await mustRun(b, "modprobe", "-r", "ip_gre");
    await driftSays(NO_TRAFFIC, `${B}: GRE is not available: the ip_gre module is not loaded`);
    expect((await runEngine(stack, "up", "--refresh")).code).toBe(0);
    await clean();
  }, 180_000);

  it("the underlay route to the peer gone on routerB", async () => {
    await mustRun(b, "ip", "route", "del", "198.51.100.0/24", "dev", "eth1");
    try {
      await driftSays(
        NO_TRAFFIC,
        `${B}: the underlay does not reach 198.51.100.11 from 198.51.100.12`,
        `${B}: has no route to 198.51.100.11 from 198.51.100.12 (ip route get:`,
      );
    } finally {
      await mustRun(
        b,
        "ip",
        "route",
        "add",
        "198.51.100.0/24",
        "dev",
        "eth1",
        "proto",
        "kernel",
        "scope",
        "link",
        "src",
        "198.51.100.12",
      );
    }
    await clean();
  }, 180_000);

  it("routerB's underlay address moved: named as such, no other cause; up does not call it as declared; moved back, no drift", async () => {
    const move = (from: string, to: string) =>
      mustRun(b, "sh", "-c", `ip addr del ${from}/24 dev eth1 && ip addr add ${to}/24 dev eth1`);
    await move("198.51.100.12", "198.51.100.22");
    try {
      await driftSays(
        NO_TRAFFIC,
        `${B}: gre1 starts at 198.51.100.12, which is no longer an address of this router (it has 169.254.100.12 on eth0, 198.51.100.22 on eth1`,
      );
      const preview = await runEngine(stack, "preview", "--refresh", "--diff");
      expect(preview.out).not.toMatch(/protocol 47 is dropped|behind NAT/);
      const up = await runEngine(stack, "up", "--refresh");
      expect(up.out).not.toContain("as declared on both routers");
      expect(up.out).toContain(
        `gre1 does not carry traffic, and ${B} no longer has what its end was declared with`,
      );
    } finally {
      await move("198.51.100.22", "198.51.100.12");
    }
    // The address back: the drift check passes at once, before any up.
    await clean();
    expect((await runEngine(stack, "up", "--refresh")).code).toBe(0);
    expect(state().outputs.tunnels[0].state).toBe("up");
  }, 240_000);

  it("keys that no longer mirror (routerB changed by hand)", async () => {
    await mustRun(b, ...rekeyByHand(b, a, 2));
    await driftSays(
      `${B}: gre1 ikey is 2, wanted 1`,
      NO_TRAFFIC,
      `keys do not mirror: ${A} sends key 1 and expects 1, ${B} sends key 2 and expects 2`,
    );
    expect((await runEngine(stack, "up", "--refresh")).code).toBe(0);
    await clean();
  }, 180_000);

  it("an MTU black hole on the underlay: small packets cross, full-size ones are lost", async () => {
    lab.underlayMtu(1400);
    try {
      await driftSays(
        `${A}: gre1 loses full-size packets (1472 bytes, DF set) while small ones cross: an MTU black hole`,
      );
    } finally {
      lab.underlayMtu(1500);
    }
    await clean();
  }, 180_000);
});
