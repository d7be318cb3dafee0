/**
 * The lab's routers as machines: each a user-mode Linux kernel started as a host process inside the
 * lab namespace (its NICs on the namespace's TAP devices), found again through /proc, stopped by
 * killing its processes and waiting until they are gone, and ready once its sshd accepts a login.
 *
 * @packageDocumentation
 */
import { spawn } from "child_process";
import { existsSync, openSync, readFileSync, readdirSync, writeFileSync } from "fs";
import * as path from "path";
import { routerDir, type LabPaths } from "./labFiles";
import { LabError } from "./labError";
import { addressOf, type RouterPlan } from "./topology";

/** Memory of one router, as the lab notes measured it. */
const ROUTER_MEMORY = "256M";
/** Debian's user-mode Linux kernel. */
export const UML_BINARY = "/usr/bin/linux.uml";

/** Where a lab's machines live: its files and its namespace. */
export interface MachineContext {
  paths: LabPaths;
  namespace: string;
}

/** PIDs of the lab's UML processes (or of one machine, `umid`), whether or not a pid file names them. */
export function umlProcesses(lab: MachineContext, umid?: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const matches = umid
        ? cmdline.includes(`umid=${umid}`)
        : cmdline.some((w) => w.startsWith(`umid=${lab.namespace}-`));
      if (matches) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** The main UML process of router `name`, when it runs. */
export function routerPid(lab: MachineContext, name: string): number | undefined {
  const file = path.join(routerDir(lab.paths, name), "pid");
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // A zombie is not a running router.
    if (cmdline.includes(`umid=${lab.namespace}-${name}`) && !/\) Z /.test(stat)) return pid;
  } catch {
    return undefined;
  }
  return undefined;
}

/** The kernel command line of router `plan`. */
function bootArgv(lab: MachineContext, plan: RouterPlan): string[] {
  const mac = (nic: number) =>
    `02:47:52:${nic.toString(16).padStart(2, "0")}:00:${(plan.index + 1).toString(16).padStart(2, "0")}`;
  return [
    "ip",
    "netns",
    "exec",
    lab.namespace,
    UML_BINARY,
    `umid=${plan.umid}`,
    `uml_dir=${lab.paths.umlDir}`,
    `mem=${ROUTER_MEMORY}`,
    "root=/dev/root",
    "rootfstype=hostfs",
    "rootflags=/",
    "ro",
    `init=${lab.paths.init}`,
    "con=null",
    "con0=fd:0,fd:1",
    `vec0:transport=tap,ifname=${plan.managementTap},mac=${mac(1)}`,
    `vec1:transport=tap,ifname=${plan.underlayTap},mac=${mac(2)}`,
    ...(plan.privateTap ? [`vec2:transport=tap,ifname=${plan.privateTap},mac=${mac(3)}`] : []),
    `grelab_name=${plan.name}`,
    `grelab_dir=${lab.paths.dir}`,
    `grelab_role=${plan.role ?? "router"}`,
    `grelab_mgmt=${plan.management}`,
    `grelab_underlay=${plan.underlay}`,
    ...(plan.role === "nat"
      ? [`grelab_private=${plan.private}`, `grelab_natted=${plan.natted}`]
      : [`grelab_lan=${plan.lanGateway}`, `grelab_pc=${plan.pc}`]),
    ...(plan.underlay6 ? [`grelab_underlay6=${plan.underlay6}`] : []),
    ...(plan.lan6Gateway && plan.pc6 ? [`grelab_lan6=${plan.lan6Gateway}`, `grelab_pc6=${plan.pc6}`] : []),
    ...(plan.l2pc && plan.l2pc6 ? [`grelab_l2pc=${plan.l2pc}`, `grelab_l2pc6=${plan.l2pc6}`] : []),
    ...(plan.gateway ? [`grelab_gateway=${plan.gateway}`] : []),
  ];
}

/** Starts router `plan`'s kernel, detached, its console going to the router's console.log. */
export function bootMachine(lab: MachineContext, plan: RouterPlan): void {
  const dir = routerDir(lab.paths, plan.name);
  const argv = bootArgv(lab, plan);
  writeFileSync(path.join(dir, "boot.json"), JSON.stringify({ plan }, null, 2) + "\n");
  const console = openSync(path.join(dir, "console.log"), "a");
  const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ["ignore", console, console] });
  child.unref();
  writeFileSync(path.join(dir, "pid"), `${child.pid}\n`);
}

/** The plan router `name` was booted with. */
export function bootRecord(lab: MachineContext, name: string): RouterPlan {
  const file = path.join(routerDir(lab.paths, name), "boot.json");
  if (!existsSync(file)) throw new LabError(`the lab has no router ${name}: is it up?`);
  return (JSON.parse(readFileSync(file, "utf8")) as { plan: RouterPlan }).plan;
}

/** The processes of `pids` that still exist — zombies included: `down` returns when they are gone. */
function alive(pids: number[]): number[] {
  return pids.filter((pid) => existsSync(`/proc/${pid}`));
}

/**
 * Kills `pids` and returns once none of them exists any more. It waits without blocking: a router
 * this process booted is its child, reaped by Node's event loop.
 */
export async function killMachines(pids: number[], timeoutMs = 10_000): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (alive(pids).length > 0) {
    if (Date.now() > deadline) throw new LabError(`router processes ${alive(pids).join(", ")} did not stop`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** OpenSSH client argv to a router, inside the lab namespace, with the lab's known hosts. */
export function sshArgv(lab: MachineContext, host: string, remoteCommand: string): string[] {
  return [
    "ip",
    "netns",
    "exec",
    lab.namespace,
    "ssh",
    // Errors only (a changed host key must be said, not hidden as -q would).
    "-o",
    "LogLevel=ERROR",
    "-i",
    lab.paths.key,
    "-o",
    "BatchMode=yes",
    "-o",
    `UserKnownHostsFile=${lab.paths.knownHosts}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "ConnectTimeout=3",
    `root@${host}`,
    remoteCommand,
  ];
}

/** Waits until router `plan` accepts an SSH login (its sshd starts a moment after its kernel). */
export async function waitForSsh(lab: MachineContext, plan: RouterPlan, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const argv = sshArgv(lab, addressOf(plan.management), "true");
  const consoleLog = path.join(routerDir(lab.paths, plan.name), "console.log");
  while (Date.now() < deadline) {
    const { ok, said } = await new Promise<{ ok: boolean; said: string }>((resolve) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.on("exit", (code) => resolve({ ok: code === 0, said: stderr }));
      child.on("error", () => resolve({ ok: false, said: stderr }));
    });
    if (ok) return;
    // Up, but not the router the lab knows: waiting longer would not help.
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(said))
      throw new LabError(
        `${plan.name} is up but presents another SSH host key than the one the lab recorded (${lab.paths.knownHosts}): its key changed. Run \`npm run lab -- down\` and \`up\` for fresh routers`,
      );
    if (routerPid(lab, plan.name) === undefined)
      throw new LabError(`${plan.name} stopped while booting; see ${consoleLog}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new LabError(`${plan.name} did not accept SSH within ${timeoutMs / 1000} s; see ${consoleLog}`);
}
