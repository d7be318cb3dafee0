/**
 * KernelModule's lifecycle: the field note's `lsmod | grep ip_gre || modprobe ip_gre`, kept true.
 * A module built into the kernel counts as available; a module newer kernels folded into another
 * (nf_conntrack_proto_gre into nf_conntrack) means its successor. Delete unloads only what this
 * resource loaded, only when asked to, and only when nothing uses it.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import {
  modprobe,
  moduleName,
  modulesLoadContent,
  modulesLoadFile,
  parseModinfo,
  parseProcModules,
  readFileCommand,
  removeFile,
  rmmod,
  successorOf,
  unloadOrder,
  writeFile,
  type LoadedModule,
  type ModuleAvailability,
} from "../iproute2/kernelModule";
import { connectionSchema, routerLabel, type Connection } from "../transport/connection";
import { excerpt, outcomeFailed } from "../transport/errors";
import type { CommandOutcome, RemoteCommand } from "../transport/script";
import { runOnRouter } from "../transport";
import { changeThenRead } from "./applyOnRouter";
import { checkInputs } from "./checkFailures";
import { diffOnRouter } from "./diffOnRouter";

/** KernelModule's inputs after check. */
export interface KernelModuleInputs {
  connection: Connection;
  /** The module, as `modprobe` takes it (ip_gre). */
  name: string;
  /** Also load it at boot, from /etc/modules-load.d. */
  persist: boolean;
  /** On delete, unload what this resource loaded, if nothing uses it. */
  unloadOnDelete: boolean;
}

/** What the router has, as KernelModule's outputs record it. */
export interface KernelModuleOutputs extends KernelModuleInputs {
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
  hostKey: string;
  /** How the router differs from the inputs, naming it; empty when it matches. */
  drift: string[];
}

const MODULE_NAME = /^[A-Za-z0-9_-]{1,55}$/;

/** Builds KernelModule's input schema (inside the methods, never at import time). */
export function kernelModuleSchema() {
  return z
    .object({
      connection: connectionSchema(),
      name: z.string().regex(MODULE_NAME, "must be a kernel module name: letters, digits, `_` or `-`"),
      persist: z.boolean().optional(),
      unloadOnDelete: z.boolean().optional(),
    })
    .strict();
}

function normalize(data: z.infer<ReturnType<typeof kernelModuleSchema>>): KernelModuleInputs {
  return {
    connection: data.connection,
    name: data.name,
    persist: data.persist ?? false,
    unloadOnDelete: data.unloadOnDelete ?? false,
  };
}

/** One look at the router: loaded modules, where the module (or its successor) comes from, the boot file. */
interface ModuleView {
  modules: LoadedModule[];
  /** The module that provides the requested one here. */
  provider: string;
  availability: ModuleAvailability;
  persistFile: string | undefined;
  hostKey: string;
}

function viewCommands(name: string): RemoteCommand[] {
  const successor = successorOf(name);
  return [
    readFileCommand("/proc/modules"),
    { argv: ["modinfo", "-F", "filename", name] },
    ...(successor ? [{ argv: ["modinfo", "-F", "filename", successor] }] : []),
    readFileCommand(modulesLoadFile(name)),
  ];
}

function parseView(label: string, name: string, outcomes: CommandOutcome[], hostKey: string): ModuleView {
  const [modules, own, ...rest] = outcomes;
  if (modules.exitCode !== 0) throw outcomeFailed(label, modules);
  const successor = successorOf(name);
  let provider = moduleName(name);
  let availability = parseModinfo(own.exitCode, own.stdout, own.stderr);
  if (successor) {
    const other = rest.shift()!;
    if (availability.kind === "missing") {
      provider = successor;
      availability = parseModinfo(other.exitCode, other.stdout, other.stderr);
    }
  }
  const file = rest[0];
  return {
    modules: parseProcModules(modules.stdout),
    provider,
    availability,
    persistFile: file.exitCode === 0 ? file.stdout : undefined,
    hostKey,
  };
}

async function look(
  inputs: KernelModuleInputs,
  expectedHostKey?: string,
  before: RemoteCommand[] = [],
): Promise<ModuleView> {
  const result = await changeThenRead(inputs.connection, before, viewCommands(inputs.name), expectedHostKey);
  return parseView(routerLabel(inputs.connection), inputs.name, result.outcomes, result.hostKey);
}

function isLoaded(view: ModuleView): boolean {
  return view.availability.kind === "builtin" || view.modules.some((m) => m.name === view.provider);
}

/** The outputs for the view, with drift against the inputs. */
function outputsOf(inputs: KernelModuleInputs, view: ModuleView, loadedByUs: string[]): KernelModuleOutputs {
  const label = routerLabel(inputs.connection);
  const loaded = view.modules.find((m) => m.name === view.provider);
  const status = view.availability.kind === "builtin" ? "builtin" : loaded ? "loaded" : "not-loaded";
  const drift: string[] = [];
  const shownName =
    view.provider === moduleName(inputs.name) ? inputs.name : `${inputs.name} (provided by ${view.provider})`;
  if (status === "not-loaded") drift.push(`${label}: kernel module ${shownName} is not loaded`);
  const wanted = modulesLoadContent(view.provider);
  if (inputs.persist && view.persistFile !== wanted)
    drift.push(
      `${label}: ${modulesLoadFile(inputs.name)} ${view.persistFile === undefined ? "is missing" : "differs"}`,
    );
  if (!inputs.persist && view.persistFile !== undefined)
    drift.push(`${label}: ${modulesLoadFile(inputs.name)} should not be there`);
  return {
    ...inputs,
    status,
    providedBy: view.provider,
    loadedByUs,
    refcount: loaded && status === "loaded" ? loaded.refcount : null,
    persisted: view.persistFile !== undefined,
    hostKey: view.hostKey,
    drift,
  };
}

/** A module that cannot be loaded: say so, and how to check the kernel (the field note's grep). */
function notAvailable(inputs: KernelModuleInputs, view: ModuleView, said: string): Error {
  const label = routerLabel(inputs.connection);
  const pattern = /gre/i.test(inputs.name) ? "GRE" : moduleName(inputs.name).toUpperCase();
  return new Error(
    `${label}: kernel module ${inputs.name} cannot be loaded${view.provider !== moduleName(inputs.name) ? ` (nor ${view.provider}, which provides it on newer kernels)` : ""}: ${excerpt(said, 300).replace(/\.$/, "")}. ` +
      `Check that the kernel has it: grep ${pattern} /boot/config-$(uname -r) (=y built in, =m a module, unset: not in this kernel)`,
  );
}

/** Loads the module when needed and writes or removes the boot file; returns what it loaded. */
async function converge(
  inputs: KernelModuleInputs,
  view: ModuleView,
): Promise<{ view: ModuleView; loaded: string[] }> {
  const needsLoad = !isLoaded(view);
  if (needsLoad && view.availability.kind === "missing") {
    throw notAvailable(inputs, view, view.availability.said);
  }
  const changes: RemoteCommand[] = [];
  if (needsLoad) changes.push(modprobe(view.provider));
  const wanted = modulesLoadContent(view.provider);
  if (inputs.persist && view.persistFile !== wanted)
    changes.push(writeFile(modulesLoadFile(inputs.name), wanted));
  if (!inputs.persist && view.persistFile !== undefined)
    changes.push(removeFile(modulesLoadFile(inputs.name)));
  if (changes.length === 0) return { view, loaded: [] };
  let after: ModuleView;
  try {
    after = await look(inputs, view.hostKey, changes);
  } catch (error) {
    if (needsLoad) throw notAvailable(inputs, view, (error as Error).message);
    throw error;
  }
  const before = new Set(view.modules.map((m) => m.name));
  return { view: after, loaded: after.modules.map((m) => m.name).filter((m) => !before.has(m)) };
}

/** The inputs a state was made from (what `read` hands back). */
function inputsOf(state: KernelModuleOutputs): KernelModuleInputs {
  return {
    connection: state.connection,
    name: state.name,
    persist: state.persist,
    unloadOnDelete: state.unloadOnDelete,
  };
}

async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.CheckResult> {
  return checkInputs(kernelModuleSchema(), news, normalize);
}

async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.DiffResult> {
  return diffOnRouter(olds as Partial<KernelModuleOutputs>, news as unknown as KernelModuleInputs, {
    inputs: ["connection", "name", "persist", "unloadOnDelete"],
    replaceOn: ["name"],
    deleteBeforeReplace: true,
  });
}

async function create(props: Record<string, unknown>): Promise<pulumi.dynamic.CreateResult> {
  const inputs = props as unknown as KernelModuleInputs;
  const view = await look(inputs);
  const { view: after, loaded } = await converge(inputs, view);
  return {
    id: `${inputs.connection.host}:${moduleName(inputs.name)}`,
    outs: outputsOf(inputs, after, loaded),
  };
}

async function read(id: string, props: Record<string, unknown>): Promise<pulumi.dynamic.ReadResult> {
  const state = props as unknown as KernelModuleOutputs;
  const inputs = inputsOf(state);
  const view = await look(inputs, state.hostKey);
  return {
    id,
    props: outputsOf(inputs, view, state.loadedByUs ?? []) as unknown as Record<string, unknown>,
    inputs: inputs as unknown as Record<string, unknown>,
  };
}

async function update(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.UpdateResult> {
  const state = olds as unknown as KernelModuleOutputs;
  const inputs = news as unknown as KernelModuleInputs;
  const view = await look(inputs, state.hostKey);
  const { view: after, loaded } = await converge(inputs, view);
  const loadedByUs = [...new Set([...(state.loadedByUs ?? []), ...loaded])];
  return { outs: outputsOf(inputs, after, loadedByUs) };
}

async function deleteModule(_id: string, props: Record<string, unknown>): Promise<void> {
  const state = props as unknown as KernelModuleOutputs;
  const inputs = inputsOf(state);
  const label = routerLabel(inputs.connection);
  const view = await look(inputs, state.hostKey);
  const changes: RemoteCommand[] = [];
  if (view.persistFile !== undefined) changes.push(removeFile(modulesLoadFile(inputs.name)));
  const loaded = view.modules.find((m) => m.name === view.provider);
  const ours = (state.loadedByUs ?? []).filter((m) => view.modules.some((l) => l.name === m));
  let reason: string | undefined;
  if (!loaded) reason = view.availability.kind === "builtin" ? "it is built into the kernel" : undefined;
  else if (!inputs.unloadOnDelete) reason = "unloadOnDelete is not set";
  else if (!(state.loadedByUs ?? []).includes(view.provider))
    reason = "this resource did not load it (it was loaded already)";
  else if (loaded.refcount > 0)
    reason = `it is in use (refcount ${loaded.refcount}${loaded.usedBy.length ? `, used by ${loaded.usedBy.join(", ")}` : ""})`;
  const unload = loaded && reason === undefined;
  if (changes.length > 0) {
    await runOnRouter(inputs.connection, changes, { expectedHostKey: state.hostKey });
  }
  if (unload) {
    // One rmmod per module, in dependency order, each allowed to fail: a dependency someone else
    // started using meanwhile stays.
    const order = unloadOrder(ours, view.modules);
    const result = await runOnRouter(
      inputs.connection,
      order.map((m) => rmmod([m])),
      { check: false, stopOnError: false, expectedHostKey: state.hostKey },
    );
    const main = result.outcomes.find((o) => o.argv[1] === view.provider);
    if (main && main.exitCode !== 0) {
      throw outcomeFailed(label, main);
    }
    const kept = result.outcomes.filter((o) => o.exitCode !== 0).map((o) => o.argv[1]);
    if (kept.length > 0)
      console.log(`KernelModule ${inputs.name} on ${label}: unloaded, but kept ${kept.join(", ")} (in use)`);
  } else if (loaded && reason) {
    console.log(`KernelModule ${inputs.name} on ${label}: left loaded because ${reason}`);
  }
}

/** The dynamic provider behind {@link KernelModule}. */
export const kernelModuleProvider: pulumi.dynamic.ResourceProvider = {
  check,
  diff,
  create,
  read,
  update,
  delete: deleteModule,
};
