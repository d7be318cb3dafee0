/**
 * The lab: real GRE-capable routers on a host whose kernel cannot do GRE. Each router is a
 * user-mode Linux kernel (Debian's `user-mode-linux`) running as a host process inside a network
 * namespace of its own per checkout, with two NICs on host TAP devices: management (sshd) and
 * underlay (GRE endpoints), each on a bridge. Nothing of the lab routes out of its namespace.
 *
 * @packageDocumentation
 */
import { execFileSync, spawn, spawnSync } from "child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "fs";
import * as path from "path";
import { hostKeyFingerprint } from "../transport/connection";
import { commandLine } from "../transport/script";
import type { Inventory, InventoryRouter } from "./inventory";
import {
  MANAGEMENT_GATEWAY,
  addressOf,
  labIdentity,
  planLab,
  type LabIdentity,
  type RouterPlan,
} from "./topology";

/** Memory of one router, as the lab notes measured it. */
const ROUTER_MEMORY = "256M";
const UML_BINARY = "/usr/bin/linux.uml";
const UML_MODULES = "/usr/lib/uml/modules";

/** Where one checkout's lab lives. */
export interface LabPaths {
  root: string;
  dir: string;
  key: string;
  authorizedKeys: string;
  knownHosts: string;
  inventory: string;
  routers: string;
  umlDir: string;
  init: string;
}

/** The files of the lab of the checkout at `root`. */
export function labPaths(root: string): LabPaths {
  const dir = path.join(root, ".lab");
  return {
    root,
    dir,
    key: path.join(dir, "id_ed25519"),
    authorizedKeys: path.join(dir, "authorized_keys"),
    knownHosts: path.join(dir, "known_hosts"),
    inventory: path.join(dir, "inventory.json"),
    routers: path.join(dir, "routers"),
    umlDir: path.join(dir, "uml"),
    init: path.join(root, "lab", "router-init.sh"),
  };
}

/** A lab of this checkout, ready to be brought up, inspected or torn down. */
export class Lab {
  readonly paths: LabPaths;
  readonly identity: LabIdentity;

  constructor(
    root: string,
    private readonly log: (line: string) => void = (l) => console.log(l),
  ) {
    const real = realpathSync(root);
    this.paths = labPaths(real);
    this.identity = labIdentity(real);
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
    ]) {
      if (!existsSync(file)) return `${file} is missing (apt-get install ${pkg})`;
    }
    return undefined;
  }

  private routerDir(name: string): string {
    return path.join(this.paths.routers, name);
  }

  private namespaceExists(): boolean {
    const out = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
    return out.stdout.split("\n").some((line) => line.split(" ")[0] === this.identity.namespace);
  }

  /** PIDs of this lab's UML processes (or of one machine, `umid`), whether or not a pid file names them. */
  private umlProcesses(umid?: string): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
        const matches = umid
          ? cmdline.includes(`umid=${umid}`)
          : cmdline.some((w) => w.startsWith(`umid=${this.identity.namespace}-`));
        if (matches) pids.push(Number(entry));
      } catch {
        // The process ended while we looked.
      }
    }
    return pids;
  }

  /** The main UML process of router `name`, when it runs. */
  private routerPid(name: string): number | undefined {
    const file = path.join(this.routerDir(name), "pid");
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, "utf8").trim());
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // A zombie is not a running router.
      if (cmdline.includes(`umid=${this.identity.namespace}-${name}`) && !/\) Z /.test(stat)) return pid;
    } catch {
      return undefined;
    }
    return undefined;
  }

  private readInventoryFile(): Inventory | undefined {
    if (!existsSync(this.paths.inventory)) return undefined;
    return JSON.parse(readFileSync(this.paths.inventory, "utf8")) as Inventory;
  }

  /** Runs a host command, throwing with its stderr when it fails. */
  private host(argv: string[]): string {
    const result = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
    if (result.status !== 0) {
      throw new LabError(
        `\`${commandLine(argv)}\` failed (status ${result.status}): ${(result.stderr || result.error?.message || "").trim()}`,
      );
    }
    return result.stdout;
  }

  /** Whether every router of the inventory runs. */
  isUp(): boolean {
    const running = this.readInventoryFile();
    return (
      !!running &&
      running.routers.every((r) => this.routerPid(r.name) !== undefined) &&
      this.namespaceExists()
    );
  }

  /** Boots `count` routers (default 2). A lab already up with that many routers is left as it is. */
  async up(count = 2): Promise<Inventory> {
    Lab.requireRoot();
    const missing = Lab.prerequisites();
    if (missing) throw new LabError(`cannot boot lab routers: ${missing}`);
    const running = this.readInventoryFile();
    if (running && this.isUp()) {
      if (running.routers.length === count) {
        this.log(`lab ${this.identity.namespace} is already up with ${count} routers`);
        return running;
      }
      throw new LabError(
        `the lab is up with ${running.routers.length} routers, not ${count}: run \`npm run lab -- down\` first`,
      );
    }
    // Whatever a crashed `up` left behind goes first.
    this.down(true);
    const plans = planLab(this.identity, count);
    const started = Date.now();
    this.prepareHost();
    this.prepareFiles(plans);
    this.prepareNetwork(plans);
    for (const plan of plans) this.boot(plan);
    await Promise.all(plans.map((plan) => this.waitForSsh(plan, 180_000)));
    const inventory = this.writeInventory(plans);
    this.log(
      `lab ${this.identity.namespace} is up: ${plans.map((p) => p.name).join(", ")} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return inventory;
  }

  /** Modules: the routers' `modprobe` looks in /lib/modules/<uml version>, which the host lacks. */
  private prepareHost(): void {
    const versions = existsSync(UML_MODULES) ? readdirSync(UML_MODULES) : [];
    if (versions.length === 0)
      throw new LabError(`no user-mode Linux modules under ${UML_MODULES} (apt-get install user-mode-linux)`);
    mkdirSync("/lib/modules", { recursive: true });
    for (const version of versions) {
      const link = path.join("/lib/modules", version);
      if (!existsSync(link)) {
        // Harmless to the host: its own kernel has another version.
        execFileSync("ln", ["-sfn", path.join(UML_MODULES, version), link]);
      }
    }
  }

  private prepareFiles(plans: RouterPlan[]): void {
    mkdirSync(this.paths.dir, { recursive: true });
    if (!existsSync(this.paths.key)) {
      this.host([
        "ssh-keygen",
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        `lab ${this.identity.namespace}`,
        "-f",
        this.paths.key,
      ]);
    }
    writeFileSync(this.paths.authorizedKeys, readFileSync(`${this.paths.key}.pub`));
    rmSync(this.paths.routers, { recursive: true, force: true });
    rmSync(this.paths.umlDir, { recursive: true, force: true });
    mkdirSync(this.paths.umlDir, { recursive: true });
    const knownHosts: string[] = [];
    for (const plan of plans) {
      const dir = this.routerDir(plan.name);
      mkdirSync(path.join(dir, "persist", "modules-load.d"), { recursive: true });
      mkdirSync(path.join(dir, "persist", "sysctl.d"), { recursive: true });
      const hostKey = path.join(dir, "ssh_host_ed25519_key");
      this.host(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", plan.name, "-f", hostKey]);
      chmodSync(hostKey, 0o600);
      const pub = readFileSync(`${hostKey}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
      knownHosts.push(`${addressOf(plan.management)} ${pub}`);
    }
    writeFileSync(this.paths.knownHosts, knownHosts.join("\n") + "\n");
  }

  private prepareNetwork(plans: RouterPlan[]): void {
    const ns = this.identity.namespace;
    this.host(["ip", "netns", "add", ns]);
    const inNs = (argv: string[]) => this.host(["ip", "netns", "exec", ns, ...argv]);
    inNs(["ip", "link", "set", "lo", "up"]);
    inNs(["ip", "link", "add", "brmgmt", "type", "bridge"]);
    inNs(["ip", "link", "add", "brunder", "type", "bridge"]);
    inNs(["ip", "addr", "add", MANAGEMENT_GATEWAY, "dev", "brmgmt"]);
    for (const plan of plans) {
      for (const [tap, bridge] of [
        [plan.managementTap, "brmgmt"],
        [plan.underlayTap, "brunder"],
      ]) {
        inNs(["ip", "tuntap", "add", "dev", tap, "mode", "tap"]);
        inNs(["ip", "link", "set", tap, "master", bridge, "up"]);
      }
    }
    inNs(["ip", "link", "set", "brmgmt", "up"]);
    inNs(["ip", "link", "set", "brunder", "up"]);
  }

  /** The kernel command line of router `plan`. */
  private bootArgv(plan: RouterPlan): string[] {
    const mac = (nic: number) =>
      `02:47:52:${nic.toString(16).padStart(2, "0")}:00:${(plan.index + 1).toString(16).padStart(2, "0")}`;
    return [
      "ip",
      "netns",
      "exec",
      this.identity.namespace,
      UML_BINARY,
      `umid=${plan.umid}`,
      `uml_dir=${this.paths.umlDir}`,
      `mem=${ROUTER_MEMORY}`,
      "root=/dev/root",
      "rootfstype=hostfs",
      "rootflags=/",
      "ro",
      `init=${this.paths.init}`,
      "con=null",
      "con0=fd:0,fd:1",
      `vec0:transport=tap,ifname=${plan.managementTap},mac=${mac(1)}`,
      `vec1:transport=tap,ifname=${plan.underlayTap},mac=${mac(2)}`,
      `grelab_name=${plan.name}`,
      `grelab_dir=${this.paths.dir}`,
      `grelab_mgmt=${plan.management}`,
      `grelab_underlay=${plan.underlay}`,
      `grelab_lan=${plan.lanGateway}`,
      `grelab_pc=${plan.pc}`,
    ];
  }

  private boot(plan: RouterPlan): void {
    const dir = this.routerDir(plan.name);
    const argv = this.bootArgv(plan);
    writeFileSync(path.join(dir, "boot.json"), JSON.stringify({ plan }, null, 2) + "\n");
    const console = openSync(path.join(dir, "console.log"), "a");
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ["ignore", console, console] });
    child.unref();
    writeFileSync(path.join(dir, "pid"), `${child.pid}\n`);
  }

  /** OpenSSH client argv to a router, inside the lab namespace, with the lab's known hosts. */
  private sshArgv(host: string, remoteCommand: string, extra: string[] = []): string[] {
    return [
      "ip",
      "netns",
      "exec",
      this.identity.namespace,
      "ssh",
      "-q",
      "-i",
      this.paths.key,
      "-o",
      "BatchMode=yes",
      "-o",
      `UserKnownHostsFile=${this.paths.knownHosts}`,
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "ConnectTimeout=3",
      ...extra,
      `root@${host}`,
      remoteCommand,
    ];
  }

  private async waitForSsh(plan: RouterPlan, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const argv = this.sshArgv(addressOf(plan.management), "true");
    while (Date.now() < deadline) {
      const ok = await new Promise<boolean>((resolve) => {
        const child = spawn(argv[0], argv.slice(1), { stdio: "ignore" });
        child.on("exit", (code) => resolve(code === 0));
        child.on("error", () => resolve(false));
      });
      if (ok) return;
      if (this.routerPid(plan.name) === undefined) {
        throw new LabError(
          `${plan.name} stopped while booting; see ${path.join(this.routerDir(plan.name), "console.log")}`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new LabError(
      `${plan.name} did not accept SSH within ${timeoutMs / 1000} s; see ${path.join(this.routerDir(plan.name), "console.log")}`,
    );
  }

  private writeInventory(plans: RouterPlan[]): Inventory {
    const inventory: Inventory = {
      labId: this.identity.id,
      namespace: this.identity.namespace,
      routers: plans.map((plan): InventoryRouter => {
        const pub = readFileSync(
          path.join(this.routerDir(plan.name), "ssh_host_ed25519_key.pub"),
          "utf8",
        ).split(" ")[1];
        return {
          name: plan.name,
          host: addressOf(plan.management),
          port: 22,
          user: "root",
          privateKeyPath: this.paths.key,
          proxyCommand: ["ip", "netns", "exec", this.identity.namespace, "socat", "-", "TCP:%h:%p"],
          hostKey: hostKeyFingerprint(Buffer.from(pub, "base64")),
          underlay: addressOf(plan.underlay),
          underlayPrefixLength: Number(plan.underlay.split("/")[1]),
          lanPrefix: plan.lanPrefix,
          lanGateway: addressOf(plan.lanGateway),
          pc: addressOf(plan.pc),
        };
      }),
    };
    writeFileSync(this.paths.inventory, JSON.stringify(inventory, null, 2) + "\n");
    return inventory;
  }

  /** Stops every router, deletes the namespace (with its taps and bridges) and the router files. */
  down(quiet = false): void {
    Lab.requireRoot();
    const pids = this.umlProcesses();
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    this.waitGone(pids, 10_000);
    if (this.namespaceExists()) {
      this.host(["ip", "netns", "del", this.identity.namespace]);
    }
    rmSync(this.paths.routers, { recursive: true, force: true });
    rmSync(this.paths.umlDir, { recursive: true, force: true });
    rmSync(this.paths.inventory, { force: true });
    rmSync(this.paths.knownHosts, { force: true });
    if (!quiet) this.log(`lab ${this.identity.namespace} is down (${pids.length} router processes stopped)`);
  }

  private waitGone(pids: number[], timeoutMs: number): void {
    const deadline = Date.now() + timeoutMs;
    const alive = () =>
      pids.filter((pid) => {
        try {
          return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
        } catch {
          return false;
        }
      });
    while (alive().length > 0) {
      if (Date.now() > deadline) throw new LabError(`router processes ${alive().join(", ")} did not stop`);
      spawnSync("sleep", ["0.1"]);
    }
  }

  /** Restarts one router: its kernel stops and boots again, as after a power cut. */
  async restart(name: string): Promise<void> {
    Lab.requireRoot();
    this.stop(name);
    await this.start(name);
  }

  /** Stops one router (it stays down until `start` or `restart`). */
  stop(name: string): void {
    Lab.requireRoot();
    const { plan } = this.bootRecord(name);
    const all = this.umlProcesses(plan.umid);
    for (const pid of all) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    this.waitGone(all, 10_000);
    this.log(`${name} stopped`);
  }

  /** Boots a stopped router again. */
  async start(name: string): Promise<void> {
    Lab.requireRoot();
    const { plan } = this.bootRecord(name);
    if (this.routerPid(name) === undefined) {
      this.boot(plan);
    }
    await this.waitForSsh(plan, 180_000);
    this.log(`${name} started`);
  }

  private bootRecord(name: string): { plan: RouterPlan } {
    const file = path.join(this.routerDir(name), "boot.json");
    if (!existsSync(file)) throw new LabError(`the lab has no router ${name}: is it up?`);
    return JSON.parse(readFileSync(file, "utf8"));
  }

  /** What runs: one line per router. */
  status(): string[] {
    const inventory = this.readInventoryFile();
    const ns = this.namespaceExists() ? `namespace ${this.identity.namespace}` : "no namespace";
    if (!inventory) {
      const stray = this.umlProcesses();
      return [
        `lab ${this.identity.namespace} is down (${ns}${stray.length ? `, ${stray.length} stray router processes: run down` : ""})`,
      ];
    }
    const lines = [`lab ${this.identity.namespace} (${ns}), inventory ${this.paths.inventory}`];
    for (const router of inventory.routers) {
      const pid = this.routerPid(router.name);
      lines.push(
        `${router.name.padEnd(8)} ${pid ? `running (pid ${pid})` : "stopped"}  ssh ${router.host}  underlay ${router.underlay}  LAN ${router.lanPrefix}  PC ${router.pc}`,
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
    if (place !== undefined && place !== "pc")
      throw new LabError(`unknown place ${place} in ${target}: use ${name} or ${name}:pc`);
    const inventory = this.readInventoryFile();
    if (!inventory) throw new LabError("the lab is down: run `npm run lab -- up`");
    const router = inventory.routers.find((r) => r.name === name);
    if (!router)
      throw new LabError(
        `the lab has no router ${name} (it has ${inventory.routers.map((r) => r.name).join(", ")})`,
      );
    const remote = commandLine(place === "pc" ? ["ip", "netns", "exec", "pc", ...argv] : argv);
    const ssh = this.sshArgv(router.host, remote);
    const result = spawnSync(ssh[0], ssh.slice(1), { stdio: "inherit" });
    return result.status ?? 1;
  }
}

/** An error of the lab itself (not of a router command). */
export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabError";
  }
}
