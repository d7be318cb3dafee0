/**
 * GRE over IPsec on the lab: the field note's tunnel with `ipsec` (its key a secret set with
 * `config set --secret`), carried in ESP between the routers' underlay addresses. Proved as a
 * network engineer would: PC1 ⇄ PC2, a capture on the underlay that shows ESP and no GRE in clear,
 * 1 MB of TCP at the largest MTU ESP leaves room for, charon stopped on one end (not a packet of
 * GRE leaves), a key that differs on one side (named, and repaired), a create refused with both ends
 * undone, persisted across a restart of both routers, and a destroy that leaves charon and someone
 * else's connection alone.
 */
import { readFileSync, rmSync } from "fs";
import * as path from "path";
import { closeAllConnections } from "../../transport";
import {
  fieldNoteConfig,
  runEngine,
  setSecret,
  writeStackConfig,
  scratchStack,
  type TestStack,
} from "./engineRun";
import { describeOnLab, labRouter, pingPcToPc, pingsWithin, runOn, type LabSide } from "./labEnv";
import { Lab } from "../../lab/lab";
import { repoRoot } from "../../tools/repoRoot";
import { MEGABYTE, transfer } from "./tcpTransfer";

const PSK = "correct horse battery staple";
const CONF_D = "/etc/swanctl/conf.d";
const GUARD_UNIT = "pulumi-gre-ipsec-gre1.service";
const SECRET = `${CONF_D}/pulumi-gre-gre1.secret.conf`;
/** Someone else's connection on routerA (loaded, never started): destroy must leave it. */
const FOREIGN =
  "connections {\n  branch-office {\n    remote_addrs = 192.0.2.99\n    local { auth = psk }\n    remote { auth = psk }\n  }\n}\n";

/** Writes a file on a router (content through stdin of a shell: test data only). */
async function writeOn(side: LabSide, file: string, content: string): Promise<void> {
  const out = await runOn(side, "sh", "-c", `printf '%s' "$1" > "$2" && chmod 600 "$2"`, "sh", content, file);
  if (out.exitCode !== 0) throw new Error(out.stderr);
}

/** swanctl's output on a router, with charon's plugin noise left out. */
async function swanctl(side: LabSide, ...args: string[]): Promise<string> {
  return (await runOn(side, "swanctl", ...args)).stdout;
}

/**
 * Captures routerB's underlay while PC1 pings PC2: the capture's lines (GRE, ESP or UDP 4500)
 * and whether the ping got through.
 */
async function captureWhilePinging(
  a: LabSide,
  b: LabSide,
): Promise<{ lines: string[]; ping: number | null }> {
  const capture = runOn(
    b,
    ...["timeout", "5", "tcpdump", "-n", "-l", "-c", "6", "-i", "eth1"],
    "ip proto 47 or ip proto 50 or udp port 4500",
  );
  await new Promise((r) => setTimeout(r, 1500));
  const ping = await pingPcToPc(a, b);
  const lines = (await capture).stdout.split("\n").filter((l) => l.trim() !== "");
  return { lines, ping };
}

describeOnLab("GRE over IPsec (strongSwan) between the lab's routers", () => {
  let a: LabSide;
  let b: LabSide;
  let stack: TestStack;
  let lab: Lab;
  const state = () => readFileSync(path.join(stack.stateDir, `${stack.stack}.json`), "utf8");
  const tunnel = () =>
    (
      JSON.parse(state()) as {
        resources: Array<{ type: string; outputs: { ends: Array<{ ipsec: unknown; tcpMss: unknown }> } }>;
      }
    ).resources.find((r) => r.type.endsWith(":GreTunnel"))!.outputs;

  beforeAll(async () => {
    a = await labRouter("routerA");
    b = await labRouter("routerB");
    lab = new Lab(repoRoot(), () => undefined);
    stack = scratchStack("ipsec");
    process.env.PULUMI_CONFIG_PASSPHRASE = "the lab's passphrase";
    await writeOn(a, `${CONF_D}/branch-office.conf`, FOREIGN);
    await runOn(a, "swanctl", "--load-all", "--noprompt");
    writeStackConfig(
      stack.configFile,
      fieldNoteConfig({ mtu: 1438, tcpMss: "clamp", ipsec: { pskSecret: "gre1Psk" } }),
    );
    await setSecret(stack, "gre1Psk", PSK);
  }, 120_000);

  afterAll(async () => {
    await runEngine(stack, "destroy");
    await runOn(a, "rm", "-f", `${CONF_D}/branch-office.conf`);
    await runOn(b, "rm", "-f", `${CONF_D}/zz-by-hand.conf`);
    for (const side of [a, b]) await runOn(side, "swanctl", "--load-all", "--noprompt", "--clear");
    rmSync(stack.stateDir, { recursive: true, force: true });
    closeAllConnections();
  }, 120_000);

  it("up: PC1 ⇄ PC2 through ESP, no GRE in clear, 1 MB at MTU 1438 with the MSS clamped to 1398", async () => {
    expect(readFileSync(stack.configFile, "utf8")).not.toContain(PSK);
    const up = await runEngine(stack, "up");
    expect(up.code).toBe(0);
    expect(up.out).not.toContain(PSK);
    expect(state()).not.toContain(PSK);
    expect(state()).not.toContain(Buffer.from(PSK).toString("hex"));

    const { lines, ping } = await captureWhilePinging(a, b);
    expect(ping).toBe(0);
    expect(lines.some((l) => / > 198\.51\.100\.12: ESP\(spi=/.test(l))).toBe(true);
    expect(lines.filter((l) => /GRE/.test(l))).toEqual([]);

    // 1438 is the largest tunnel MTU ESP (AES-GCM, transport) leaves room for over 1500 bytes.
    const { received, syn } = await transfer(a, b);
    expect(syn).toContain("mss 1398");
    expect(received).toBe(MEGABYTE);
    const outs = tunnel() as unknown as {
      ends: Array<{ ipsec: Record<string, unknown> }>;
      health: { fullSize: boolean };
    };
    expect(outs.health.fullSize).toBe(true);
    for (const end of outs.ends)
      expect(end.ipsec).toEqual(expect.objectContaining({ protected: true, configured: true, nat: false }));
    expect(outs.ends[0].ipsec.proposal).toBe("AES_GCM_16-256/PRF_HMAC_SHA2_384/CURVE_25519");
    expect((await runOn(a, "stat", "-c", "%a", SECRET)).stdout.trim()).toBe("600");
    expect((await runEngine(stack, "preview", "--refresh", "--expect-no-changes")).code).toBe(0);
  }, 180_000);

  it("charon stopped on routerA: not a packet of GRE leaves; refresh names it; up repairs", async () => {
    await runOn(a, "pkill", "-x", "charon-systemd");
    await new Promise((r) => setTimeout(r, 1000));
    const { lines, ping } = await captureWhilePinging(a, b);
    expect(ping).not.toBe(0);
    expect(lines.filter((l) => / 198\.51\.100\.11 > /.test(l))).toEqual([]);

    const preview = await runEngine(stack, "preview", "--refresh", "--diff", "--expect-no-changes");
    expect(preview.code).not.toBe(0);
    expect(preview.out).toContain("routerA (root@169.254.100.11:22): charon is not running");
    expect(preview.out).toContain("pulumi-gre's guard drops GRE that no IPsec SA protects");
    const refused = await runEngine(stack, "up", "--refresh");
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain("nothing was changed on either router");
    expect(refused.out).toContain("ipsec: charon is not running (systemctl start strongswan)");

    // As strongswan.service starts it.
    await runOn(
      a,
      "sh",
      "-c",
      "setsid /usr/sbin/charon-systemd </dev/null >/run/charon.log 2>&1 & sleep 1; swanctl --load-all --noprompt",
    );
    expect((await runEngine(stack, "up", "--refresh")).code).toBe(0);
    expect(await pingPcToPc(a, b)).toBe(0);
  }, 180_000);

  it("another key on routerB: drift names the file and the failed authentication", async () => {
    await writeOn(
      b,
      SECRET,
      "secrets {\n  ike-pulumi-gre-gre1 {\n    id-local = 198.51.100.12\n    id-peer = 198.51.100.11\n    secret = another-key-of-its-own\n  }\n}\n",
    );
    await runOn(b, "swanctl", "--load-all", "--noprompt", "--clear");
    await runOn(b, "swanctl", "--terminate", "--ike", "pulumi-gre-gre1", "--force");
    const preview = await runEngine(stack, "preview", "--refresh", "--diff", "--expect-no-changes");
    expect(preview.code).not.toBe(0);
    expect(preview.out).toContain(
      `routerB (root@169.254.100.12:22): the pre-shared key in ${SECRET} differs`,
    );
    expect(preview.out).toMatch(/IPsec: IKE authentication failed on router[AB]/);
    // The next test's up repairs it (its preflight finds the key file differs).
  }, 180_000);

  it("persist: up repairs routerB's key, enables charon at boot and the guard's unit; both routers restarted, it comes back with no Pulumi run", async () => {
    for (const side of [a, b]) await runOn(side, "systemctl", "disable", "strongswan.service");
    writeStackConfig(
      stack.configFile,
      fieldNoteConfig({ mtu: 1438, tcpMss: "clamp", ipsec: { pskSecret: "gre1Psk" } }, { persist: true }),
    );
    expect((await runEngine(stack, "up")).code).toBe(0);
    for (const side of [a, b]) {
      expect((await runOn(side, "systemctl", "is-enabled", "strongswan.service")).stdout.trim()).toBe(
        "enabled",
      );
      expect((await runOn(side, "systemctl", "is-enabled", GUARD_UNIT)).stdout.trim()).toBe("enabled");
    }
    await Promise.all(["routerA", "routerB"].map((n) => lab.restart(n)));
    // The old connections died with the routers' kernels.
    closeAllConnections();
    expect(await pingsWithin(a, b, 30)).toBe(true);
    const { lines, ping } = await captureWhilePinging(a, b);
    expect(ping).toBe(0);
    expect(lines.some((l) => / > 198\.51\.100\.12: ESP\(spi=/.test(l))).toBe(true);
    expect(lines.filter((l) => /GRE/.test(l))).toEqual([]);
    const preview = await runEngine(stack, "preview", "--refresh", "--expect-no-changes");
    expect(preview.code).toBe(0);
    expect(
      (tunnel() as unknown as { ends: Array<{ ipsec: { persisted: boolean } }> }).ends.map(
        (e) => e.ipsec.persisted,
      ),
    ).toEqual([true, true]);
  }, 240_000);

  it("destroy removes the connection, its secret, the SA and the guard; charon and its other connection stay", async () => {
    expect(await swanctl(a, "--list-sas")).toContain("pulumi-gre-gre1");
    expect((await runEngine(stack, "destroy")).code).toBe(0);
    for (const side of [a, b]) {
      expect((await runOn(side, "ls", CONF_D)).stdout).not.toContain("pulumi-gre");
      expect(await swanctl(side, "--list-sas")).not.toContain("pulumi-gre-gre1");
      expect((await runOn(side, "iptables-legacy", "-w", "-S")).stdout).not.toContain("pulumi-gre");
      expect((await runOn(side, "test", "-e", `/etc/systemd/system/${GUARD_UNIT}`)).exitCode).not.toBe(0);
      expect((await runOn(side, "pgrep", "-x", "charon-systemd")).exitCode).toBe(0);
    }
    expect(await swanctl(a, "--list-conns")).toContain("branch-office");
  }, 180_000);
  it("create against a key set by hand on routerB: refused, the cause named, both ends undone", async () => {
    // After the destroy above: nothing of ours on either router.
    await writeOn(
      b,
      `${CONF_D}/zz-by-hand.conf`,
      'secrets {\n  ike-by-hand {\n    id-1 = 198.51.100.12\n    id-2 = 198.51.100.11\n    secret = "an old key set by hand"\n  }\n}\n',
    );
    await runOn(b, "swanctl", "--load-all", "--noprompt");
    const up = await runEngine(stack, "up");
    expect(up.code).not.toBe(0);
    expect(up.out).toMatch(
      /IPsec did not come up: IKE authentication failed on router[AB] \(root@[^)]*\): .*the keys differ/,
    );
    expect(up.out).toContain("Undone, so no half tunnel is left");
    for (const side of [a, b]) {
      expect((await runOn(side, "ip", "link", "show", "gre1")).exitCode).not.toBe(0);
      expect((await runOn(side, "ls", CONF_D)).stdout).not.toContain("pulumi-gre");
      expect((await runOn(side, "iptables-legacy", "-w", "-S")).stdout).not.toContain(
        "pulumi-gre:gre1:ipsec",
      );
      expect(await swanctl(side, "--list-conns")).not.toContain("pulumi-gre-gre1");
    }
    await runOn(b, "rm", "-f", `${CONF_D}/zz-by-hand.conf`);
    await runOn(b, "swanctl", "--load-all", "--noprompt", "--clear");
  }, 180_000);
});
