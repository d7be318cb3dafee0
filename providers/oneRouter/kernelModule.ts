/**
 * KernelModule's lifecycle: the field note's `lsmod | grep ip_gre || modprobe ip_gre`, kept true.
 * A module built into the kernel counts as available; a module newer kernels folded into another
 * (nf_conntrack_proto_gre into nf_conntrack) means its successor. Delete unloads only what this
 * resource loaded, only when asked to, and only when nothing uses it.
 *
 * @packageDocumentation
 */
import { z } from "zod";
import {
  modprobe,
  moduleName,
  modulesLoadContent,
  modulesLoadFile,
  parseModinfo,
  modinfoFilename,
  parseProcModules,
  rmmod,
  rmmodTarget,
  successorOf,
  unloadOrder,
  dependencyClosure,
  devicesOfModule,
  type LoadedModule,
  type ModuleAvailability,
} from "../../commands/modprobe/kernelModule";
import {
  bootFileChanges,
  bootFileDrift,
  readFileCommand,
  removeFile,
  type BootFile,
} from "../../commands/files/bootFile";
import { moduleMarker, readMarker, removeMarker, writeMarker } from "../../commands/files/ownership";
import { parseIpLink, type LinkState } from "../../commands/iproute2/parseIp";
import { connectionSchema } from "../../schemas/connection";
import { moduleName as moduleNameSchema } from "../../schemas/names";
import { routerLabel } from "../../transport/connection";
import { excerpt, outcomeFailed } from "../../transport/errors";
import type { RemoteCommand } from "../../model/command";
import { oneRouterProvider, type RouterStateFields } from "./shape";
import {
  KERNEL_MODULE_DEFAULTS,
  type KernelModuleDeclaration,
  type KernelModuleInputs,
} from "../../model/routerResources";

/** What the router has, as KernelModule's outputs record it. */
export interface KernelModuleOutputs extends KernelModuleInputs, RouterStateFields {
  /** loaded, builtin (counts as available), or not-loaded. */
  status: "loaded" | "builtin" | "not-loaded";
  /** The module that provides `name` here: itself, or its successor on newer kernels. */
  providedBy: string;
  /** Modules this resource's modprobe loaded (the module and dependencies that were not loaded). */
  loadedByUs: string[];
  /** Holders of the module now (devices, other modules); null when built in or not loaded. */
  refcount: number | null;
  /** Whether the /etc/modules-load.d file is there. */
  persisted: boolean;
}

/** Builds KernelModule's input schema (inside the methods, never at import time). */
export function kernelModuleSchema() {
  return z
    .object({
      connection: connectionSchema(),
      name: moduleNameSchema(),
      persist: z.boolean().optional(),
      unloadOnDelete: z.boolean().optional(),
    })
    .strict();
}

/** One look at the router: loaded modules, where the module (or its successor) comes from, the boot file. */
interface ModuleView {
  modules: LoadedModule[];
  /** The module that provides the requested one here. */
  provider: string;
  availability: ModuleAvailability;
  persistFile: string | undefined;
  /** The modules loaded before pulumi-gre loaded this one, when its marker is there (see iproute2/ownership.ts). */
  loadedBefore: string[] | undefined;
  /** Every device, with its kind: rmmod would delete the module's devices with it. */
  links: LinkState[];
}

function isLoaded(view: ModuleView): boolean {
  return view.availability.kind === "builtin" || view.modules.some((m) => m.name === view.provider);
}

/** A module that cannot be loaded: say so, and how to check the kernel (the field note's grep). */
function notAvailable(inputs: KernelModuleInputs, view: ModuleView, said: string): Error {
  const { name } = inputs;
  const pattern = /gre/i.test(name) ? "GRE" : moduleName(name).toUpperCase();
  const successor =
    view.provider !== moduleName(name) ? ` (nor ${view.provider}, which provides it on newer kernels)` : "";
  return new Error(
    `${routerLabel(inputs.connection)}: kernel module ${name} cannot be loaded${successor}: ${excerpt(said, 300).replace(/\.$/, "")}. ` +
      `Check that the kernel has it: grep ${pattern} /boot/config-$(uname -r) (=y built in, =m a module, unset: not in this kernel)`,
  );
}

/** "other (gre), t2 (gretap)": the devices a module's unloading would delete. */
function devicesWords(devices: LinkState[]): string {
  return devices.map((d) => `${d.name} (${d.kind})`).join(", ");
}

/** The boot file `persist` asks for: /etc/modules-load.d/pulumi-gre-NAME.conf. */
function bootFile(inputs: KernelModuleInputs, view: ModuleView): BootFile {
  return {
    path: modulesLoadFile(inputs.name),
    content: modulesLoadContent(view.provider),
    persist: inputs.persist,
  };
}

/** The dynamic provider behind {@link KernelModule}. */
export const kernelModuleProvider = oneRouterProvider<KernelModuleInputs, ModuleView, KernelModuleOutputs>({
  kind: "KernelModule",
  subject: (inputs) => inputs.name,
  schema: kernelModuleSchema,
  normalize: (data: KernelModuleDeclaration) => ({
    connection: data.connection,
    // One module however spelt (modprobe reads ip-gre as ip_gre): one name, file, marker and id.
    name: moduleName(data.name),
    persist: data.persist ?? KERNEL_MODULE_DEFAULTS.persist,
    unloadOnDelete: data.unloadOnDelete ?? KERNEL_MODULE_DEFAULTS.unloadOnDelete,
  }),
  inputKeys: ["connection", "name", "persist", "unloadOnDelete"],
  replaceOn: ["name"],
  deleteBeforeReplace: true,
  id: (inputs) => `${inputs.connection.host}:${moduleName(inputs.name)}`,

  // lsmod, and where the module (or its successor on newer kernels) would come from.
  reads(inputs) {
    const successor = successorOf(inputs.name);
    return [
      readFileCommand("/proc/modules"),
      modinfoFilename(inputs.name),
      ...(successor ? [modinfoFilename(successor)] : []),
      readFileCommand(modulesLoadFile(inputs.name)),
      readMarker(moduleMarker(inputs.name)),
      { argv: ["ip", "-d", "-j", "link", "show"] },
    ];
  },
  parse(inputs, outcomes, router) {
    const [modules, own, ...rest] = outcomes;
    if (modules.exitCode !== 0) throw outcomeFailed(router, modules);
    const successor = successorOf(inputs.name);
    let provider = moduleName(inputs.name);
    let availability = parseModinfo(own.exitCode, own.stdout, own.stderr);
    if (successor) {
      const other = rest.shift()!;
      if (availability.kind === "missing") {
        provider = successor;
        availability = parseModinfo(other.exitCode, other.stdout, other.stderr);
      }
    }
    const [file, marker, links] = rest;
    if (links.exitCode !== 0) throw outcomeFailed(router, links);
    return {
      modules: parseProcModules(modules.stdout),
      provider,
      availability,
      persistFile: file.exitCode === 0 ? file.stdout : undefined,
      loadedBefore: marker.exitCode === 0 ? marker.stdout.split("\n").filter(Boolean) : undefined,
      links: parseIpLink(links.stdout),
    };
  },

  // modprobe when it is not loaded — remembering on the router, first, what was loaded before — and
  // the boot file as `persist` says.
  plan(inputs, now) {
    const load = !isLoaded(now);
    if (load && now.availability.kind === "missing") throw notAvailable(inputs, now, now.availability.said);
    const before = now.modules.map((m) => m.name).join("\n");
    return [
      ...(load ? [...writeMarker(moduleMarker(inputs.name), `${before}\n`), modprobe(now.provider)] : []),
      ...bootFileChanges(bootFile(inputs, now), now.persistFile),
    ];
  },
  explainFailure(inputs, now, error) {
    return isLoaded(now) ? error : notAvailable(inputs, now, error.message);
  },

  // persist: whether the modules-load file is there as written. (A module that is not loaded has
  // no input to show it by: its drift is in the outputs.)
  // A module not loaded has no name on the router: Pulumi then shows `+ name: "ip_gre"`.
  observedInputs: (inputs, now) => {
    const { name, ...rest } = inputs;
    const loaded = now.availability.kind === "builtin" || now.modules.some((m) => m.name === now.provider);
    return {
      ...rest,
      ...(loaded ? { name } : {}),
      persist: now.persistFile === bootFile(inputs, now).content,
    };
  },

  // The marker written ahead of modprobe goes when modprobe fails: nothing was loaded.
  undoFailed: (inputs, before) =>
    before.loadedBefore === undefined ? [removeMarker(moduleMarker(inputs.name))] : [],

  outputs(inputs, now, { previous, before }, keys) {
    const loaded = now.modules.find((m) => m.name === now.provider);
    const status = now.availability.kind === "builtin" ? "builtin" : loaded ? "loaded" : "not-loaded";
    const shownName =
      now.provider === moduleName(inputs.name) ? inputs.name : `${inputs.name} (provided by ${now.provider})`;
    const drift = [
      ...(status === "not-loaded" ? [`kernel module ${shownName} is not loaded`] : []),
      ...bootFileDrift(bootFile(inputs, now), now.persistFile),
    ];
    // Of what appeared since, only this module and what it needs: another modprobe on the router at
    // the same time (ip6_gre next to ip_gre) loads modules that are not ours to unload.
    const ours = dependencyClosure(now.provider, now.modules);
    const notLoaded = (names: Set<string>) =>
      now.modules.map((m) => m.name).filter((m) => !names.has(m) && ours.has(m));
    const loadedNow = notLoaded(new Set(before.modules.map((m) => m.name)));
    // Loaded already, by a run that was killed before its state was written: its marker says so.
    const loadedByInterruptedRun =
      !previous?.loadedByUs?.length && before.loadedBefore ? notLoaded(new Set(before.loadedBefore)) : [];
    return {
      ...inputs,
      ...keys,
      status,
      providedBy: now.provider,
      loadedByUs: [...new Set([...(previous?.loadedByUs ?? []), ...loadedNow, ...loadedByInterruptedRun])],
      refcount: loaded && status === "loaded" ? loaded.refcount : null,
      persisted: now.persistFile !== undefined,
      drift: drift.map((d) => `${routerLabel(inputs.connection)}: ${d}`),
    };
  },

  // The boot file goes; the module is unloaded (rmmod, dependencies after their users) only when
  // asked to, only if this resource loaded it, and only while nothing uses it.
  planDelete(state, now) {
    const changes: RemoteCommand[] = [
      ...(now.persistFile !== undefined ? [removeFile(modulesLoadFile(state.name))] : []),
      ...(now.loadedBefore !== undefined ? [removeMarker(moduleMarker(state.name))] : []),
    ];
    const loaded = now.modules.find((m) => m.name === now.provider);
    // A create a killed run left under way has no state of its own: the router's marker says.
    const loadedByUs = state.loadedByUs?.length
      ? state.loadedByUs
      : now.loadedBefore
        ? now.modules.map((m) => m.name).filter((m) => !now.loadedBefore!.includes(m))
        : [];
    let reason: string | undefined;
    if (!loaded) reason = now.availability.kind === "builtin" ? "it is built into the kernel" : undefined;
    else if (!state.unloadOnDelete) reason = "unloadOnDelete is not set";
    else if (!loadedByUs.includes(now.provider))
      reason = "this resource did not load it (it was loaded already)";
    else if (loaded.refcount > 0)
      reason = `it is in use (refcount ${loaded.refcount}${loaded.usedBy.length ? `, used by ${loaded.usedBy.join(", ")}` : ""})`;
    // A GRE device holds no reference on ip_gre: its refcount is 0 while tunnels exist, and rmmod
    // deletes them all. Whatever made them (an operator, another stack), they are not ours to delete.
    else if (devicesOfModule(now.provider, now.links).length > 0)
      reason = `rmmod would delete the devices it provides: ${devicesWords(devicesOfModule(now.provider, now.links))}`;
    if (!loaded || reason !== undefined)
      return { changes, notices: loaded && reason ? [`left loaded because ${reason}`] : [] };
    // One rmmod per module, each allowed to fail: a dependency someone else started using stays,
    // and so does one whose devices exist.
    const ours = loadedByUs.filter((m) => now.modules.some((l) => l.name === m));
    const held = ours.filter((m) => devicesOfModule(m, now.links).length > 0);
    return {
      changes: [
        ...changes,
        ...unloadOrder(
          ours.filter((m) => !held.includes(m)),
          now.modules,
        ).map((m) => ({ ...rmmod(m), mayFail: true })),
      ],
      notices: held.map(
        (m) =>
          `kept ${m} loaded because rmmod would delete the devices it provides: ${devicesWords(devicesOfModule(m, now.links))}`,
      ),
    };
  },
  checkDeleted(state, after, changes) {
    const unloads = changes.filter((o) => rmmodTarget(o) !== undefined);
    const main = unloads.find((o) => rmmodTarget(o) === after.provider);
    if (main && main.exitCode !== 0) throw outcomeFailed(routerLabel(state.connection), main);
    const kept = unloads.filter((o) => o.exitCode !== 0).map((o) => rmmodTarget(o));
    return kept.length > 0 ? [`unloaded, but kept ${kept.join(", ")} (in use)`] : [];
  },
});
