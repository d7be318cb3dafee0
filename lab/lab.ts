/**
 * The lab: real GRE-capable routers on a host whose kernel cannot do GRE. Each router is a
 * user-mode Linux kernel (Debian's `user-mode-linux`) running as a host process inside a network
 * namespace of its own per checkout, with two NICs on host TAP devices: management (sshd) and
 * underlay (GRE endpoints), each on a bridge. Nothing of the lab routes out of its namespace.
 *
 * This file is the lab's operations (up, down, status, exec, restart); the host networking, the
 * machines, the files and the inventory are modules of their own.
 *
 * @packageDocumentation
 */
import { existsSync, readFileSync, realpathSync } from "fs";
import { spawnSync } from "child_process";
import { commandLine } from "../transport/script";
import {
  createLabNetwork,
  deleteLabNetwork,
  linkRouterModules,
  namespaceExists,
  setUnderlayMtu,
} from "./hostNetwork";
import { writeInventory, type Inventory } from "./inventory";
import { labPaths, prepareLabFiles, removeLabFiles, routerHostPublicKey, type LabPaths } from "./labFiles";
import { LabError } from "./labError";
import {
  UML_BINARY,
  bootMachine,
  bootRecord,
  killMachines,
  routerPid,
  sshArgv,
  umlProcesses,
  waitForSsh,
  type MachineContext,
} from "./machines";
import { labIdentity, planLab, type LabIdentity } from "./topology";
import { applyBoot, DEFAULT_BOOT, type BootChoice } from "./bootFlavours";

export { LabError };
export { labPaths, type LabPaths };

/** How long a router may take from its kernel's start to accepting SSH. */
const BOOT_TIMEOUT_MS = 180_000;

/** A lab of this checkout, ready to be brought up, inspected or torn down. */
export class Lab {
  readonly paths: LabPaths;
  readonly identity: LabIdentity;
  private readonly machines: MachineContext;

  constructor(
    root: string,
    private readonly log: (line: string) => void = (l) => console.log(l),
  ) {
    const real = realpathSync(root);
    this.paths = labPaths(real);
    this.identity = labIdentity(real);
    this.machines = { paths: this.paths, namespace: this.identity.namespace };
  }

  /** Fails unless this process may create namespaces, taps and UML machines. */
  static requireRoot(): void {
    if (typeof process.getuid === "function" && process.getuid() !== 0) {
      throw new LabError(
        "the lab needs root: it creates a network namespace, bridges, TAP devices and user-mode Linux routers (run it as root)",
      );
    }
  }

  /** Whether this machine can boot lab routers at all, and if not, why. */
  static prerequisites(): string | undefined {
    if (typeof process.getuid === "function" && process.getuid() !== 0) return "not root";
    for (const [file, pkg] of [
      [UML_BINARY, "user-mode-linux"],
      ["/usr/sbin/sshd", "openssh-server"],
      ["/usr/bin/ssh", "openssh-client"],
      ["/usr/bin/socat", "socat"],
      ["/usr/bin/ssh-keygen", "openssh-client"],
      ["/usr/sbin/modprobe", "kmod"],
      ["/lib/systemd/systemd-networkd", "systemd"],
      ["/usr/bin/dbus-daemon", "dbus"],
      ["/usr/sbin/iptables-legacy", "iptables"],
      ["/usr/sbin/nft", "nftables"],
      ["/usr/bin/tcpdump", "tcpdump"],
    ]) {
      if (!existsSync(file)) return `${file} is missing (apt-get install ${pkg})`;
    }
    return undefined;
  }

  private readInventoryFile(): Inventory | undefined {
    if (!existsSync(this.paths.inventory)) return undefined;
    return JSON.parse(readFileSync(this.paths.inventory, "utf8")) as Inventory;
  }

  /** Whether every router of the inventory runs. */
  isUp(): boolean {
    const running = this.readInventoryFile();
    return (
      !!running &&
      running.routers.every((r) => routerPid(this.machines, r.name) !== undefined) &&
      namespaceExists(this.identity.namespace)
    );
  }

  /**
   * Boots `count` routers (default 2), and with `natted` (a router's name) a NAT router in front of
   * that one. A lab already up with the same routers is left as it is.
   */
  async up(count = 2, natted?: string, boot: BootChoice = { routers: {} }): Promise<Inventory> {
    Lab.requireRoot();
    const missing = Lab.prerequisites();
    if (missing) throw new LabError(`cannot boot lab routers: ${missing}`);
    const running = this.readInventoryFile();
    const plans = planLab(this.identity, count, natted);
    applyBoot(plans, boot);
    const names = (routers: Array<{ name: string; boot?: string }>) =>
      routers
        .map((r) => (r.boot && r.boot !== DEFAULT_BOOT ? `${r.name} (boot ${r.boot})` : r.name))
        .join(", ");
    if (running && this.isUp()) {
      if (names(running.routers) === names(plans)) {
        this.log(`lab ${this.identity.namespace} is already up with ${names(plans)}`);
        return running;
      }
      throw new LabError(
        `the lab is up with ${names(running.routers)}, not ${names(plans)}: run \`npm run lab -- down\` first`,
      );
    }
    // Whatever a crashed `up` left behind goes first.
    await this.down(true);
    const started = Date.now();
    linkRouterModules();
    prepareLabFiles(this.paths, this.identity.namespace, plans);
    createLabNetwork(this.identity.namespace, plans);
    this.log(`lab ${this.identity.namespace}: network namespace, bridges and taps ready`);
    for (const plan of plans) {
      bootMachine(this.machines, plan);
      this.log(
        `${plan.name}: booting (user-mode Linux, management ${plan.management}, underlay ${plan.underlay})`,
      );
    }
    await Promise.all(
      plans.map(async (plan) => {
        await waitForSsh(this.machines, plan, BOOT_TIMEOUT_MS);
        this.log(`${plan.name}: up, sshd accepts logins (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      }),
    );
    const inventory = writeInventory(
      this.paths.inventory,
      { labId: this.identity.id, namespace: this.identity.namespace, privateKeyPath: this.paths.key },
      plans,
      (name) => routerHostPublicKey(this.paths, name),
    );
    this.log(
      `lab ${this.identity.namespace} is up: ${plans.map((p) => p.name).join(", ")} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return inventory;
  }

  /** Stops every router, deletes the namespace (with its taps and bridges) and the router files. */
  async down(quiet = false): Promise<void> {
    Lab.requireRoot();
    const pids = umlProcesses(this.machines);
    await killMachines(pids);
    deleteLabNetwork(this.identity.namespace);
    removeLabFiles(this.paths);
    if (!quiet) this.log(`lab ${this.identity.namespace} is down (${pids.length} router processes stopped)`);
  }

  /** Restarts one router: its kernel stops and boots again, as after a power cut. */
  async restart(name: string): Promise<void> {
    Lab.requireRoot();
    await this.stop(name);
    await this.start(name);
  }

  /** Stops one router (it stays down until `start` or `restart`). */
  async stop(name: string): Promise<void> {
    Lab.requireRoot();
    await killMachines(umlProcesses(this.machines, bootRecord(this.machines, name).umid));
    this.log(`${name} stopped`);
  }

  /** Boots a stopped router again. */
  async start(name: string): Promise<void> {
    Lab.requireRoot();
    const plan = bootRecord(this.machines, name);
    if (routerPid(this.machines, name) === undefined) bootMachine(this.machines, plan);
    await waitForSsh(this.machines, plan, BOOT_TIMEOUT_MS);
    this.log(`${name} started`);
  }

  /**
   * Gives the underlay between the routers an MTU (68…1500; 1500 as booted), as a hop across a
   * WAN whose smaller MTU silently drops larger packets: what MSS clamping is for.
   */
  underlayMtu(mtu: number): void {
    Lab.requireRoot();
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 1500)
      throw new LabError(`the underlay MTU must be a whole number from 68 to 1500, not ${mtu}`);
    const inventory = this.readInventoryFile();
    if (!inventory) throw new LabError("the lab is down: run `npm run lab -- up`");
    const taps = inventory.routers.map((r) => bootRecord(this.machines, r.name).underlayTap);
    setUnderlayMtu(this.identity.namespace, taps, mtu);
    this.log(`underlay MTU between the routers is ${mtu}`);
  }

  /**
   * Puts the routers a WAN apart: each router's management NIC delays what it sends by `rttMs` and
   * its underlay NIC by half of it (netem inside the routers; the host kernel has none), so a round
   * trip from here to a router, or from router to router across the underlay, takes `rttMs` more.
   * 0 takes the delay off again.
   */
  wanDelay(rttMs: number): void {
    Lab.requireRoot();
    if (!Number.isInteger(rttMs) || rttMs < 0 || rttMs > 2000)
      throw new LabError(
        `the round-trip time must be a whole number of milliseconds from 0 to 2000, not ${rttMs}`,
      );
    const inventory = this.readInventoryFile();
    if (!inventory) throw new LabError("the lab is down: run `npm run lab -- up`");
    const delay = (dev: string, ms: number): string[][] =>
      ms === 0
        ? [["tc", "qdisc", "del", "dev", dev, "root"]]
        : [["tc", "qdisc", "replace", "dev", dev, "root", "netem", "delay", `${ms}ms`, "limit", "10000"]];
    for (const router of inventory.routers) {
      const steps = [
        ...(rttMs === 0 ? [] : [["modprobe", "sch_netem"]]),
        ...delay("eth0", rttMs),
        ...delay("eth1", rttMs / 2),
      ];
      // Taking a delay off that is not there fails harmlessly; putting one on must work.
      const script =
        steps.map((argv) => commandLine(argv) + (rttMs === 0 ? " 2>/dev/null; " : " && ")).join("") + "true";
      const ssh = sshArgv(this.machines, router.host, script);
      const result = spawnSync(ssh[0], ssh.slice(1), { encoding: "utf8" });
      if (result.status !== 0)
        throw new LabError(
          `${router.name}: could not set a ${rttMs} ms delay: ${result.stderr.trim() || `exit ${result.status}`}`,
        );
    }
    this.log(`round trip to and between the routers: +${rttMs} ms`);
  }

  /** What runs: one line per router. */
  status(): string[] {
    const inventory = this.readInventoryFile();
    const ns = namespaceExists(this.identity.namespace)
      ? `namespace ${this.identity.namespace}`
      : "no namespace";
    if (!inventory) {
      const stray = umlProcesses(this.machines);
      return [
        `lab ${this.identity.namespace} is down (${ns}${stray.length ? `, ${stray.length} stray router processes: run down` : ""})`,
      ];
    }
    const lines = [`lab ${this.identity.namespace} (${ns}), inventory ${this.paths.inventory}`];
    for (const router of inventory.routers) {
      const pid = routerPid(this.machines, router.name);
      lines.push(
        `${router.name.padEnd(8)} ${pid ? `running (pid ${pid})` : "stopped"}  ssh ${router.host}  ` +
          (router.role === "nat"
            ? `NAT for ${router.natFor}: public ${router.underlay}, GRE forwarded to it`
            : `underlay ${router.underlay}  LAN ${router.lanPrefix}  PC ${router.pc}  boot ${router.boot ?? DEFAULT_BOOT}` +
              (router.behindNat
                ? `  behind ${router.behindNat.router} (public ${router.behindNat.publicAddress})`
                : "")),
      );
    }
    return lines;
  }

  /**
   * Runs a command on a router (`routerA`) or on its PC (`routerA:pc`) and returns its exit status;
   * output goes to this process's stdout and stderr.
   */
  exec(target: string, argv: string[]): number {
    Lab.requireRoot();
    if (argv.length === 0) throw new LabError("exec needs a command after --");
    const [name, place] = target.split(":");
    if (place !== undefined && place !== "pc" && place !== "l2")
      throw new LabError(`unknown place ${place} in ${target}: use ${name}, ${name}:pc or ${name}:l2`);
    const inventory = this.readInventoryFile();
    if (!inventory) throw new LabError("the lab is down: run `npm run lab -- up`");
    const router = inventory.routers.find((r) => r.name === name);
    if (!router)
      throw new LabError(
        `the lab has no router ${name} (it has ${inventory.routers.map((r) => r.name).join(", ")})`,
      );
    const remote = commandLine(place === undefined ? argv : ["ip", "netns", "exec", place, ...argv]);
    const ssh = sshArgv(this.machines, router.host, remote);
    const result = spawnSync(ssh[0], ssh.slice(1), { stdio: "inherit" });
    return result.status ?? 1;
  }
}
