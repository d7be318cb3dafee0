/**
 * Kernel modules, the field note's `lsmod | grep ip_gre || modprobe ip_gre`: parsers of
 * `/proc/modules` and `modinfo -F filename`, command builders, and the planner. Pure.
 *
 * @packageDocumentation
 */
import type { RemoteCommand } from "../../model/command";
import type { LinkState } from "../iproute2/parseIp";

/** A loaded module, from /proc/modules. */
export interface LoadedModule {
  name: string;
  /** How many holders it has (devices, other modules); 0 means it can be unloaded. */
  refcount: number;
  /** Modules that use it. */
  usedBy: string[];
  /** Built into the kernel image (never unloadable); `[permanent]` modules count too. */
  permanent: boolean;
}

/**
 * Modules the field note names that newer kernels folded into others: GRE connection tracking
 * became part of nf_conntrack, and GRE NAT part of nf_nat (Linux 5.x). Asking for them on such a
 * kernel means asking for their successor.
 */
export const MERGED_MODULES: Record<string, string> = {
  nf_conntrack_proto_gre: "nf_conntrack",
  nf_nat_proto_gre: "nf_nat",
};

/**
 * The kinds of device (`ip -d link` info_kind) each tunnel module provides. Unloading a module
 * deletes every device of its kinds, in silence: whoever made them.
 */
export const MODULE_DEVICE_KINDS: Record<string, readonly string[]> = {
  ip_gre: ["gre", "gretap", "erspan"],
  ip6_gre: ["ip6gre", "ip6gretap", "ip6erspan"],
  ipip: ["ipip"],
  sit: ["sit"],
  ip6_tunnel: ["ip6tnl"],
  ip_vti: ["vti"],
  ip6_vti: ["vti6"],
};

/**
 * The devices the kernel itself makes when those modules load (one of each per network namespace).
 * An array: a module-level Set would reach the serialized providers as a plain object.
 */
export const FALLBACK_DEVICES: readonly string[] = [
  "gre0",
  "gretap0",
  "erspan0",
  "ip6gre0",
  "tunl0",
  "sit0",
  "ip6tnl0",
  "ip_vti0",
  "ip6_vti0",
];

/** The devices someone made (not the kernel's fallback devices) that unloading `module` would delete. */
export function devicesOfModule(module: string, links: readonly LinkState[]): LinkState[] {
  const kinds = MODULE_DEVICE_KINDS[moduleName(module)] ?? [];
  return links.filter(
    (l) => l.kind !== undefined && kinds.includes(l.kind) && !FALLBACK_DEVICES.includes(l.name),
  );
}

/** The kernel writes module names with `_`; `modprobe` accepts `-` as the same character. */
export function moduleName(name: string): string {
  return name.replace(/-/g, "_");
}

/** Parses /proc/modules (`name size refcount users state address`). */
export function parseProcModules(text: string): LoadedModule[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [name, , refcount, users] = line.split(/\s+/);
      const list = (users ?? "-").split(",").filter((u) => u !== "" && u !== "-");
      return {
        name,
        refcount: Number(refcount),
        usedBy: list.filter((u) => u !== "[permanent]"),
        permanent: list.includes("[permanent]"),
      };
    });
}

/** What `modinfo -F filename NAME` says: a file to load, built in, or not there at all. */
export type ModuleAvailability =
  { kind: "loadable"; file: string } | { kind: "builtin" } | { kind: "missing"; said: string };

/** Reads `modinfo -F filename NAME`: its status, what it printed. */
export function parseModinfo(exitCode: number | null, stdout: string, stderr: string): ModuleAvailability {
  const first = stdout.trim().split("\n")[0] ?? "";
  if (exitCode === 0 && first === "(builtin)") return { kind: "builtin" };
  if (exitCode === 0 && first !== "") return { kind: "loadable", file: first };
  return { kind: "missing", said: (stderr || stdout).trim() };
}

/** The persistence file under /etc/modules-load.d for `name`. */
export function modulesLoadFile(name: string): string {
  return `/etc/modules-load.d/pulumi-gre-${moduleName(name)}.conf`;
}

/** Its content: the module to load at boot. */
export function modulesLoadContent(loads: string): string {
  return `# Managed by pulumi-gre (KernelModule); removed when the resource is deleted.\n${loads}\n`;
}

/** The module that actually provides `name` on a kernel where `name` is missing. */
export function successorOf(name: string): string | undefined {
  return MERGED_MODULES[moduleName(name)];
}

/**
 * `name` and every module it needs, as /proc/modules tells (a module lists the modules that use
 * it): what a `modprobe name` can have loaded — and nothing another modprobe loaded meanwhile.
 */
export function dependencyClosure(name: string, loaded: LoadedModule[]): Set<string> {
  const closure = new Set([moduleName(name)]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const m of loaded) {
      if (!closure.has(m.name) && m.usedBy.some((u) => closure.has(u))) {
        closure.add(m.name);
        grew = true;
      }
    }
  }
  return closure;
}

/**
 * The order in which `modules` (a set this resource loaded) can be unloaded: a module goes only
 * after every module of the set that uses it.
 */
export function unloadOrder(modules: string[], loaded: LoadedModule[]): string[] {
  const remaining = new Set(modules.map(moduleName));
  const usersOf = new Map(loaded.map((m) => [m.name, m.usedBy]));
  const order: string[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining].filter((m) => !(usersOf.get(m) ?? []).some((u) => remaining.has(u)));
    if (ready.length === 0) {
      order.push(...remaining);
      break;
    }
    for (const m of ready.sort()) {
      order.push(m);
      remaining.delete(m);
    }
  }
  return order;
}

/** `modprobe -- NAME` (after `--`, no name is read as an option). */
export function modprobe(name: string): RemoteCommand {
  return { argv: ["modprobe", "--", name] };
}

/** `modinfo -F filename -- NAME`: where the module would be loaded from, or `(builtin)`. */
export function modinfoFilename(name: string): RemoteCommand {
  return { argv: ["modinfo", "-F", "filename", "--", name] };
}

/** `rmmod -- NAME`. */
export function rmmod(name: string): RemoteCommand {
  return { argv: ["rmmod", "--", name] };
}

/** The module an `rmmod` command removes. */
export function rmmodTarget(command: { argv: string[] }): string | undefined {
  return command.argv[0] === "rmmod" ? command.argv[command.argv.length - 1] : undefined;
}
