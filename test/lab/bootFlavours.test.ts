/**
 * Persistence on routers booted the way each distribution does (`npm run lab -- up --boot …`):
 * routerB as Debian installs it (ifupdown's networking.service, networkd disabled) next to routerA
 * with systemd-networkd, then both with NetworkManager (keyfiles and dispatcher scripts). A persisted stack with an MSS clamp writes each router's own form and the
 * clamp's boot unit; both routers restarted bring it all back with no Pulumi run (PC1 ⇄ PC2, and
 * 1 MB of TCP across a 1400-byte underlay hop), and destroy then restart leaves nothing of ours. On a router
 * booted with `none` (networkd installed, nothing enabled), persist is refused before anything of
 * the tunnel changes, naming what was found. This suite boots its own labs and puts the usual two
 * routers back after.
 */
import { rmSync } from "fs";
import { inventoryRouter, labConnection, readInventory } from "../../lab/inventory";
import { tunnelFiles } from "../../commands/networkd/networkd";
import { tunnelStanzaFile } from "../../commands/ifupdown/ifupdown";
import { tunnelDispatcherFile, tunnelKeyfile } from "../../commands/networkManager/networkManager";
import { clampUnit, clampUnitFile } from "../../commands/firewall/bootClamp";
import { repoRoot } from "../../tools/repoRoot";
import { Lab } from "../../lab/lab";
import type { BootChoice } from "../../lab/bootFlavours";
import { fieldNoteState } from "../../lab/routerState";
import { closeAllConnections } from "../../transport";
import { fieldNoteConfig, runEngine, writeStackConfig, scratchStack, type TestStack } from "./engineRun";
import { describeOnLab, pingsWithin, runOn, runStatus, withoutModules, type LabSide } from "./labEnv";
import { MEGABYTE, transfer } from "./tcpTransfer";

describeOnLab("persistence on routers booted as each distribution does", () => {
  let lab: Lab;
  let a: LabSide;
  let b: LabSide;
  let stack: TestStack;
  let booted: unknown[];

  /** Boots a lab of two routers the way `boot` says; the sides straight from its inventory. */
  const boot = async (choice: BootChoice) => {
    closeAllConnections();
    await lab.down(true);
    await lab.up(2, undefined, choice);
    const side = (name: string): LabSide => {
      const router = inventoryRouter(readInventory(), name);
      return { router, connection: labConnection(router) };
    };
    a = side("routerA");
    b = side("routerB");
    booted = await Promise.all([withoutModules(a), withoutModules(b)]);
  };
  const restart = async (...names: string[]) => {
    await Promise.all(names.map((n) => lab.restart(n)));
    closeAllConnections();
  };

  beforeAll(() => {
    lab = new Lab(repoRoot(), () => undefined);
    stack = scratchStack("flavours");
    // The tunnel's MTU below the hop's (1400 − 28): the clamp's MSS follows it (1372 − 40).
    writeStackConfig(stack.configFile, fieldNoteConfig({ mtu: 1372, tcpMss: "clamp" }, { persist: true }));
  });

  afterAll(async () => {
    await runEngine(stack, "destroy");
    rmSync(stack.stateDir, { recursive: true, force: true });
    closeAllConnections();
    // The other suites share the usual two routers.
    await lab.down(true);
    await lab.up(2);
  }, 180_000);

  describe("routerB with ifupdown, routerA with systemd-networkd", () => {
    beforeAll(() => boot({ routers: { routerB: "ifupdown" } }), 120_000);

    it("writes an ifupdown stanza on routerB, networkd files on routerA, and the clamp's boot unit on both", async () => {
      const up = await runEngine(stack, "up");
      if (up.code !== 0) console.log(up.out);
      expect(up.code).toBe(0);
      const filesOf = async (side: LabSide) => (await fieldNoteState(side.connection)).files.split("\n");
      expect(await filesOf(b)).toEqual(
        expect.arrayContaining([
          tunnelStanzaFile("gre1"),
          `${tunnelStanzaFile("gre1")}-route-10.2.1.0_24-t254-m0`,
          "/etc/modules-load.d/pulumi-gre-ip_gre.conf",
        ]),
      );
      expect((await filesOf(b)).filter((f) => f.startsWith("/etc/systemd/network/"))).toEqual([]);
      expect(await filesOf(a)).toEqual(expect.arrayContaining([tunnelFiles("gre1").netdev]));
      for (const side of [a, b])
        expect(await filesOf(side)).toEqual(
          expect.arrayContaining([
            clampUnitFile("gre1"),
            `/etc/systemd/system/multi-user.target.wants/${clampUnit("gre1")}`,
          ]),
        );
    }, 120_000);

    it("both restarted: PC1 ⇄ PC2 and 1 MB of TCP across the 1400-byte hop with no Pulumi run, and preview --refresh --expect-no-changes exits 0", async () => {
      await restart("routerA", "routerB");
      lab.underlayMtu(1400);
      expect(await pingsWithin(a, b, 30)).toBe(true);
      // The clamp came back with the unit (iptables-legacy: the lab's kernels have no nftables ip family).
      for (const side of [a, b])
        expect(
          (await runOn(side, "iptables-legacy", "-w", "-t", "mangle", "-S", "FORWARD")).stdout,
        ).toContain(
          '-o gre1 -p tcp -m tcp --tcp-flags SYN,RST SYN -m comment --comment "pulumi-gre:gre1" -j TCPMSS --clamp-mss-to-pmtu',
        );
      const { received, syn } = await transfer(a, b);
      expect(syn).toContain("mss 1332");
      expect(received).toBe(MEGABYTE);
      // routerB's gre1 was made by ifup at boot, not by networkd (which did not run there).
      expect((await runOn(b, "cat", "/run/ifupdown.log")).exitCode).toBe(0);
      expect(await runStatus(b, "pgrep", "-x", "systemd-network")).not.toBe(0);
      const preview = await runEngine(stack, "preview", "--refresh", "--expect-no-changes");
      if (preview.code !== 0) console.log(preview.out);
      expect(preview.code).toBe(0);
    }, 180_000);

    it("destroy, then both restarted: nothing of ours comes back", async () => {
      expect((await runEngine(stack, "destroy")).code).toBe(0);
      await restart("routerA", "routerB");
      lab.underlayMtu(1500);
      expect(await Promise.all([withoutModules(a), withoutModules(b)])).toEqual(booted);
      for (const side of [a, b])
        expect(
          (await runOn(side, "iptables-legacy", "-w", "-t", "mangle", "-S", "FORWARD")).stdout,
        ).not.toContain("pulumi-gre");
    }, 180_000);
  });

  describe("both routers with NetworkManager", () => {
    beforeAll(() => boot({ all: "networkmanager", routers: {} }), 120_000);

    it("writes a keyfile of ours (0600) and dispatcher scripts on both; the running gre1 stays pulumi-gre's", async () => {
      const up = await runEngine(stack, "up");
      if (up.code !== 0) console.log(up.out);
      expect(up.code).toBe(0);
      for (const [side, lan] of [
        [a, "10.1.1.0_24"],
        [b, "10.2.1.0_24"],
      ] as const) {
        const files = (await fieldNoteState(side.connection)).files.split("\n");
        expect(files).toEqual(
          expect.arrayContaining([
            tunnelKeyfile("gre1"),
            tunnelDispatcherFile("gre1"),
            `${tunnelDispatcherFile("gre1")}-route-${lan}-t254-m0`,
            clampUnitFile("gre1"),
          ]),
        );
        expect(files.filter((f) => /^\/etc\/(systemd\/network|network\/interfaces\.d)\//.test(f))).toEqual(
          [],
        );
        expect((await runOn(side, "stat", "-c", "%a %U", tunnelKeyfile("gre1"))).stdout.trim()).toBe(
          "600 root",
        );
        // NetworkManager read the profile and left the device pulumi-gre made as it is.
        expect((await runOn(side, "nmcli", "-t", "-f", "NAME", "connection", "show")).stdout).toContain(
          "pulumi-gre-gre1",
        );
        expect((await runOn(side, "nmcli", "-t", "-f", "DEVICE,STATE", "device")).stdout).toContain(
          "gre1:connected (externally)",
        );
      }
    }, 120_000);

    it("both restarted: NetworkManager brings gre1 back, PC1 ⇄ PC2 and 1 MB of TCP across the 1400-byte hop, preview --refresh --expect-no-changes exits 0", async () => {
      await restart("routerA", "routerB");
      lab.underlayMtu(1400);
      expect(await pingsWithin(a, b, 30)).toBe(true);
      for (const side of [a, b]) {
        expect(
          (await runOn(side, "nmcli", "-t", "-f", "DEVICE,STATE,CONNECTION", "device")).stdout,
        ).toContain("gre1:connected:pulumi-gre-gre1");
        expect(await runStatus(side, "pgrep", "-x", "systemd-network")).not.toBe(0);
      }
      const { received, syn } = await transfer(a, b);
      expect(syn).toContain("mss 1332");
      expect(received).toBe(MEGABYTE);
      const preview = await runEngine(stack, "preview", "--refresh", "--expect-no-changes");
      if (preview.code !== 0) console.log(preview.out);
      expect(preview.code).toBe(0);
    }, 180_000);

    it("destroy removes what NetworkManager brought up (it does not bring it back), then restarted: nothing of ours", async () => {
      expect((await runEngine(stack, "destroy")).code).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      for (const side of [a, b]) {
        expect(await runStatus(side, "ip", "link", "show", "dev", "gre1")).not.toBe(0);
        expect((await runOn(side, "nmcli", "-t", "-f", "NAME", "connection", "show")).stdout).not.toContain(
          "pulumi-gre",
        );
      }
      await restart("routerA", "routerB");
      lab.underlayMtu(1500);
      expect(await Promise.all([withoutModules(a), withoutModules(b)])).toEqual(booted);
    }, 180_000);
  });

  describe("routerB booted with none (networkd installed but disabled, nothing else)", () => {
    beforeAll(() => boot({ routers: { routerB: "none" } }), 120_000);

    it("up refuses persist for routerB's tunnel end before anything of it changes, naming what was found", async () => {
      const up = await runEngine(stack, "up");
      expect(up.code).not.toBe(0);
      expect(up.out).toContain(
        "routerB (root@169.254.100.12:22): persist: nothing on this router would bring gre1 back at boot: " +
          "pulumi-gre writes systemd-networkd, NetworkManager or ifupdown files, and found systemd-networkd.service disabled, " +
          "NetworkManager.service disabled, networking.service (ifupdown) disabled",
      );
      for (const side of [a, b])
        expect(await runStatus(side, "ip", "link", "show", "dev", "gre1")).not.toBe(0);
      expect((await runEngine(stack, "destroy")).code).toBe(0);
      expect(await Promise.all([withoutModules(a), withoutModules(b)])).toEqual(booted);
    }, 180_000);
  });
});
