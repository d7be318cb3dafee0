/**
 * A test stand-in for the Pulumi engine (the Pulumi CLI cannot be installed here). It runs the stack
 * program on Pulumi's Node runtime, sends every dynamic resource to Pulumi's own dynamic-provider
 * host (the harness the lifecycle tests use), keeps state in `.lab/state/STACK.json`, creates in
 * dependency order, deletes in reverse, and prints per resource the operation and what changed,
 * naming routers and properties. It is not a deployment tool: real deployments use `pulumi`.
 */
import { readFileSync } from "fs";
import * as path from "path";
import { load as parseYaml } from "js-yaml";
import { applyDiff } from "../providerHost/lifecycle";
import { ProviderHost, type Props } from "../providerHost/providerHost";
import {
  installMonitor,
  reveal,
  conceal,
  runProgram,
  type Registration,
  type RegistrationResult,
} from "./monitor";
import { lockStack } from "./lock";
import { loadState, saveState, type PendingOperation, type StackState, type StateResource } from "./state";

/** How a pending operation is said: "creating", … */
const PENDING_VERB: Record<PendingOperation["operation"], string> = {
  create: "creating",
  update: "updating",
  replace: "replacing",
  delete: "deleting",
};

/** Failures already reported, resource by resource, as they happened. */
class ReportedFailures extends Error {
  constructor() {
    super("failures were reported");
  }
}

export type Command = "up" | "preview" | "refresh" | "destroy";

export interface EngineOptions {
  /** The project folder (holding Pulumi.yaml). */
  root: string;
  stack: string;
  /** Refresh before previewing or updating. */
  refresh?: boolean;
  /** Fail (exit non-zero) when anything would change, as `pulumi --expect-no-changes`. */
  expectNoChanges?: boolean;
  /** Where lines go; default stdout. */
  print?: (line: string) => void;
  /** State file; default `.lab/state/STACK.json` under root (or under $GRE_ENGINE_STATE_DIR). */
  stateFile?: string;
  /** The stack's config file; default `Pulumi.STACK.yaml` in root (as pulumi's --config-file). */
  configFile?: string;
  /** Environment for the provider host (the benchmark passes transport settings this way). */
  hostEnv?: NodeJS.ProcessEnv;
  /** Resource operations at once; Pulumi's default is no limit. */
  parallel?: number;
}

/** What an operation on one resource was. */
export type Operation = "create" | "update" | "replace" | "delete" | "same" | "refresh";

export interface OperationRecord {
  operation: Operation;
  type: string;
  name: string;
  /** What changed, naming router and property. */
  details: string[];
}

export interface RunResult {
  operations: OperationRecord[];
  /** Seconds the whole command took, and the provider host's peak memory. */
  wallSeconds: number;
  /** Seconds to the provider host being ready; spent refreshing; from the first provider call to the last one's end. */
  timings: { hostStart?: number; refresh?: number; provider?: number };
  hostPeakMemoryBytes?: number;
  /** Operations that change something (refresh drift included). */
  changes: number;
  outputs: Record<string, unknown>;
  error?: string;
  exitCode: number;
}

const DYNAMIC = "pulumi-nodejs:dynamic/";
const SYMBOL: Record<Operation, string> = {
  create: "+",
  update: "~",
  replace: "+-",
  delete: "-",
  same: " ",
  refresh: "~",
};

/** `pulumi-nodejs:dynamic/gre:GreTunnel` → `GreTunnel`. */
function shortType(type: string): string {
  return type.split(":").pop() ?? type;
}

/** A bounded number of operations at once. */
class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Differences between two property bags as `path: old → new` lines (secrets shown as such). */
export function propertyChanges(before: Props, after: Props, secret: string[] = []): string[] {
  const lines: string[] = [];
  const show = (v: unknown) => (v === undefined ? "(unset)" : JSON.stringify(v));
  const walk = (a: unknown, b: unknown, at: string, hidden: boolean) => {
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    const objects = typeof a === "object" && a !== null && typeof b === "object" && b !== null;
    if (objects && Array.isArray(a) === Array.isArray(b)) {
      const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
      for (const key of keys) {
        const next = Array.isArray(a) ? `${at}[${key}]` : at ? `${at}.${key}` : key;
        walk((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], next, hidden);
      }
      return;
    }
    lines.push(hidden ? `${at}: [secret] changed` : `${at}: ${show(a)} → ${show(b)}`);
  };
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (key.startsWith("__")) continue;
    walk(before[key], after[key], key, secret.includes(key));
  }
  return lines;
}

/**
 * What `--expect-no-changes` counts, as Pulumi does: every recorded operation but `same`. A refresh
 * step counts only in `refresh` itself: under `preview --refresh` and `up --refresh` it is not a
 * logical step and is not recorded (pkg/engine/update.go, `OnResourceStepPost` and `HasChanges`;
 * pkg/resource/deploy/step.go, `RefreshStep.Logical` is false), so drift counts only where `diff`
 * turns it into an update, and a refresh that finds drift cleared fails no drift check.
 */
export function countedChanges(command: Command, records: readonly OperationRecord[]): number {
  return records.filter((r) => r.operation !== "same" && (command === "refresh" || r.operation !== "refresh"))
    .length;
}

/** Drift the provider recorded in a resource's outputs (each line names the router). */
export function driftOf(outputs: Props | undefined): string[] {
  if (!outputs) return [];
  const own = Array.isArray(outputs.drift) ? (outputs.drift as string[]) : [];
  const ends = Array.isArray(outputs.ends)
    ? (outputs.ends as Array<{ drift?: string[] }>).flatMap((e) => e?.drift ?? [])
    : [];
  // The ends' own drift first: what a tunnel as a whole lacks (traffic) follows from it.
  return [...ends, ...own];
}

/** Reads `Pulumi.yaml` and `Pulumi.STACK.yaml` into the runtime's config map. */
export function loadProject(
  root: string,
  stack: string,
  configFile?: string,
): { project: string; main: string; config: Record<string, string> } {
  const project = parseYaml(readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
    name: string;
    main?: string;
  };
  let stackFile: { config?: Record<string, unknown> } = {};
  try {
    stackFile =
      (parseYaml(
        readFileSync(configFile ?? path.join(root, `Pulumi.${stack}.yaml`), "utf8"),
      ) as typeof stackFile) ?? {};
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(stackFile.config ?? {})) {
    if (typeof value === "object" && value !== null && "secure" in value) {
      throw new Error(
        `config ${key} is a secure value; this stand-in cannot decrypt it (use the Pulumi CLI, or a lab stack)`,
      );
    }
    const fullKey = key.includes(":") ? key : `${project.name}:${key}`;
    config[fullKey] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { project: project.name, main: path.resolve(root, project.main ?? "."), config };
}

export class StandInEngine {
  private readonly print: (line: string) => void;
  private readonly stateFile: string;
  private readonly limiter: Limiter;
  private host?: ProviderHost;
  /** Seconds to the provider host being ready, and spent refreshing (reading every resource). */
  private readonly timings: { hostStart?: number; refresh?: number; provider?: number } = {};
  private readonly records: OperationRecord[] = [];
  /** Failures, each reported once as it happened. */
  private readonly errors: string[] = [];
  /** What the program's runtime left unhandled. */
  private readonly stray: unknown[] = [];
  /** Operations under way (written into every checkpoint). */
  private pending: PendingOperation[] = [];
  private preview = false;
  /** How many of the errors are resources' own (reported as they happened). */
  private resourceFailures = 0;

  constructor(private readonly options: EngineOptions) {
    this.print = options.print ?? ((line) => process.stdout.write(`${line}\n`));
    const stateDir = process.env.GRE_ENGINE_STATE_DIR ?? path.join(options.root, ".lab", "state");
    this.stateFile = options.stateFile ?? path.join(stateDir, `${options.stack}.json`);
    this.limiter = new Limiter(options.parallel ?? Number.POSITIVE_INFINITY);
  }

  private record(
    operation: Operation,
    resource: { type: string; name: string },
    details: string[] = [],
  ): void {
    const entry = { operation, type: shortType(resource.type), name: resource.name, details };
    this.records.push(entry);
    const head = `${SYMBOL[operation].padEnd(2)} ${operation.padEnd(8)} ${entry.type} ${entry.name}`;
    this.print(details.length === 0 ? head : `${head}\n${details.map((d) => `        ${d}`).join("\n")}`);
  }

  /** Says that an operation that changed routers finished, and how long it took. */
  private finished(what: string, resource: { type: string; name: string }, since: number): void {
    this.print(
      `   ${what} ${shortType(resource.type)} ${resource.name} (${((Date.now() - since) / 1000).toFixed(1)} s)`,
    );
  }

  /** Reports a resource's failure once, as Pulumi does: `error:` naming it. */
  private fail(resource: { type: string; name: string }, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.errors.push(`${shortType(resource.type)} ${resource.name}: ${message}`);
    this.resourceFailures++;
    this.print(`error: ${shortType(resource.type)} ${resource.name}: ${message}`);
  }

  /** Writes the state as it is now (checkpoint), unless this is a preview. */
  private checkpoint(state: StackState, resources: StateResource[]): void {
    if (this.preview) return;
    // A group write still to come would only write an older view: this one covers it.
    this.commit = undefined;
    saveState(this.stateFile, { ...state, resources, pending: this.pending });
  }

  /** Resources whose step left them as they were (no checkpoint needed after it). */
  private readonly sameSteps = new Set<string>();

  /** The write that checkpoints asked for in this turn of the event loop share, and what it writes. */
  private commit?: { written: Promise<void>; view: () => StateResource[]; state: StackState };

  /**
   * A checkpoint after one step, shared with every other step of the next 100 ms (group commit):
   * at most ten writes of the whole state a second, not one per step. Writing per step made a run's
   * checkpoints grow with the square of its resources (1,000 resources: 1,000 writes of a 7 MB
   * state). Resolves once a write that includes this step is on disk.
   */
  private checkpointSoon(state: StackState, view: () => StateResource[]): Promise<void> {
    if (this.preview) return Promise.resolve();
    if (this.commit) {
      this.commit.view = view;
      this.commit.state = state;
      return this.commit.written;
    }
    const commit = {
      view,
      state,
      written: new Promise<void>((resolve, reject) =>
        setTimeout(() => {
          if (this.commit !== commit) return resolve();
          try {
            this.checkpoint(commit.state, commit.view());
            resolve();
          } catch (error) {
            reject(error);
          }
        }, 100),
      ),
    };
    this.commit = commit;
    return commit.written;
  }

  /** Records an operation as under way (a run killed now leaves it in the state); returns its end. */
  private async begin(
    state: StackState,
    resources: () => StateResource[],
    operation: PendingOperation["operation"],
    resource: { urn: string; type: string; name: string; inputs: Props; secretInputs: string[] },
  ): Promise<() => void> {
    const entry: PendingOperation = {
      urn: resource.urn,
      type: resource.type,
      name: resource.name,
      operation,
      inputs: resource.inputs,
      secretInputs: resource.secretInputs,
      startedAt: new Date().toISOString(),
    };
    this.pending.push(entry);
    // On disk before the operation starts, so that a run killed during it leaves it recorded.
    await this.checkpointSoon(state, resources);
    return () => {
      this.pending = this.pending.filter((p) => p !== entry);
    };
  }

  /** Runs one command; never throws: failures are in the result, as an exit code. */
  async run(command: Command): Promise<RunResult> {
    const started = Date.now();
    const { project, main, config } = loadProject(
      this.options.root,
      this.options.stack,
      this.options.configFile,
    );
    this.preview = command === "preview";
    this.print(
      `${command === "preview" ? "Previewing update" : command === "destroy" ? "Destroying" : command === "refresh" ? "Refreshing" : "Updating"} (${project}/${this.options.stack}) with the test stand-in engine`,
    );
    let unlock: (() => void) | undefined;
    let hostPeakMemoryBytes: number | undefined;
    let outputs: Record<string, unknown> = {};
    // What the program's runtime leaves unhandled (a failed registration's rejected outputs) is a
    // reported failure, never a crash of the engine.
    const stray = (reason: unknown) => this.stray.push(reason);
    process.on("unhandledRejection", stray);
    let hostReady: Promise<ProviderHost> | undefined;
    let state: StackState | undefined;
    try {
      if (!this.preview)
        unlock = lockStack(this.stateFile, this.options.stack, command, (line) =>
          this.print(`warning: ${line}`),
        );
      state = loadState(this.stateFile, project, this.options.stack);
      const loaded = state;
      outputs = state.outputs;
      const interrupted = state.pending ?? [];
      this.pending = [...interrupted];
      for (const op of interrupted)
        this.print(
          `warning: the last run was interrupted while it was ${PENDING_VERB[op.operation]} ${shortType(op.type)} ${op.name} (since ${op.startedAt}); ` +
            "its outcome is not in the state: refresh reads what the routers have, up converges (create adopts what an interrupted create left), destroy removes it",
        );
      // The provider host starts (and the refresh reads routers) while the program loads and
      // serializes its providers; registrations wait for the refresh.
      hostReady = ProviderHost.start({ config, env: this.options.hostEnv, cwd: this.options.root }).then(
        (host) => {
          this.host = host;
          // The providers' messages, where the Pulumi CLI shows a dynamic provider's output.
          // Pulumi's log arrives as `info: [runtime] …`; other errors' stack traces on stderr are
          // left out (each failure is reported once, from the provider's answer).
          host.onOutput = (kind, line) => {
            const logged = /^(info|warning|error): \[runtime\] (.*)$/.exec(line);
            if (logged) this.print(`    ${logged[1]}: ${logged[2]}`);
            else if (kind === "info") this.print(`    info: ${line}`);
          };
          this.timings.hostStart = (Date.now() - started) / 1000;
          return host;
        },
      );
      const refreshed = hostReady.then(async () => {
        if (command === "refresh" || this.options.refresh) {
          const at = Date.now();
          await this.refresh(loaded);
          this.timings.refresh = (Date.now() - at) / 1000;
        }
      });
      refreshed.catch(() => undefined);
      if (command === "destroy") {
        await refreshed;
        await this.destroy(state, interrupted);
        outputs = {};
      } else if (command === "up" || command === "preview") {
        outputs = await this.update(state, { project, main, config, ready: refreshed }, interrupted);
      } else {
        await refreshed;
        this.checkpoint(state, state.resources);
      }
      state.outputs = outputs;
    } catch (e) {
      // Failures of resources were reported as they happened; anything else is reported here.
      if (!(e instanceof ReportedFailures)) this.errors.push(e instanceof Error ? e.message : String(e));
      if (!(e instanceof ReportedFailures)) this.print(`error: ${this.errors[this.errors.length - 1]}`);
    } finally {
      const host = await hostReady?.catch(() => undefined);
      hostPeakMemoryBytes = host?.peakMemoryBytes();
      this.timings.provider = host?.providerSeconds();
      await host?.stop();
      // The last checkpoint: what completed, and what is still pending (none after a clean run).
      if (state && unlock) this.checkpoint(state, state.resources);
      unlock?.();
      process.off("unhandledRejection", stray);
    }
    const changes = countedChanges(command, this.records);
    const counts = (["create", "update", "replace", "delete", "refresh", "same"] as Operation[])
      .map((op) => [op, this.records.filter((r) => r.operation === op).length] as const)
      .filter(([, n]) => n > 0)
      .map(([op, n]) => `${n} ${op === "same" ? "unchanged" : op === "refresh" ? "drifted" : `to ${op}`}`);
    this.print(`Resources: ${counts.join(", ") || "none"}`);
    if (command !== "destroy" && Object.keys(outputs).length > 0) {
      this.print(`Outputs:\n${JSON.stringify(outputs, null, 2)}`);
    }
    let exitCode = 0;
    if (this.errors.length > 0) {
      if (this.resourceFailures > 0)
        this.print(
          `error: ${this.resourceFailures === 1 ? "1 resource failed" : `${this.resourceFailures} resources failed`}${this.preview ? "" : "; what completed is in the state, and the next run continues from there"}`,
        );
      exitCode = 1;
    } else if (this.options.expectNoChanges && changes > 0) {
      this.print("error: no changes were expected but changes were proposed");
      exitCode = 2;
    }
    return {
      operations: this.records,
      changes,
      outputs,
      error: this.errors.length > 0 ? this.errors.join("\n") : undefined,
      exitCode,
      wallSeconds: (Date.now() - started) / 1000,
      hostPeakMemoryBytes,
      timings: this.timings,
    };
  }

  /** Reads every resource back; what drifted is reported, naming router and property. A failed read fails the refresh. */
  private async refresh(state: StackState): Promise<void> {
    const results = await Promise.allSettled(
      state.resources.map((resource) =>
        this.limiter.run(async () => {
          if (!resource.custom || !resource.type.startsWith(DYNAMIC)) return;
          try {
            const read = await this.host!.read(resource.urn, resource.id, resource.outputs, resource.inputs);
            const drift = driftOf(read.outputs);
            const before = JSON.stringify(driftOf(resource.outputs));
            resource.outputs = read.outputs;
            if (read.inputs) resource.inputs = read.inputs;
            if (drift.length > 0 || JSON.stringify(drift) !== before)
              this.record("refresh", resource, drift.length ? drift : ["drift cleared"]);
          } catch (error) {
            this.fail({ type: resource.type, name: `${resource.name} (refresh)` }, error);
            throw error;
          }
        }),
      ),
    );
    if (results.some((r) => r.status === "rejected")) {
      // What was read is kept; the run stops before changing anything.
      this.checkpoint(state, state.resources);
      throw new ReportedFailures();
    }
  }

  /** Deletes everything, dependents first; and whatever an interrupted create may have left. */
  private async destroy(state: StackState, interrupted: PendingOperation[]): Promise<void> {
    await this.deleteAll(
      state,
      state.resources,
      (resource) => {
        state.resources = state.resources.filter((r) => r.urn !== resource.urn);
        void this.checkpointSoon(state, () => state.resources);
      },
      () => state.resources,
    );
    await this.removeInterruptedCreates(state, interrupted, new Set(), () => state.resources);
  }

  /**
   * Creates that a killed run left under way, of resources the state does not hold: deleted with the
   * inputs they were given (each provider removes only what matches them), so nothing is orphaned.
   */
  private async removeInterruptedCreates(
    state: StackState,
    interrupted: PendingOperation[],
    declared: Set<string>,
    resources: () => StateResource[],
  ): Promise<void> {
    for (const op of interrupted) {
      if (op.operation !== "create") continue;
      if (declared.has(op.urn) || resources().some((r) => r.urn === op.urn)) {
        this.pending = this.pending.filter((p) => p !== op);
        continue;
      }
      if (!op.type.startsWith(DYNAMIC)) continue;
      this.record("delete", { type: op.type, name: `${op.name} (left by an interrupted create)` });
      try {
        await this.host!.delete(op.urn, "", op.inputs);
        this.pending = this.pending.filter((p) => p !== op);
        await this.checkpointSoon(state, resources);
      } catch (error) {
        this.fail({ type: op.type, name: op.name }, error);
      }
    }
    // Interrupted updates and deletes of resources the state holds were redone by this run.
    this.pending = this.pending.filter((p) => p.operation === "create");
  }

  /**
   * Deletes `resources` as the engine does: in parallel, but each only after everything that
   * depends on it (or is its child) is gone. A failed delete keeps what it depends on.
   */
  private async deleteAll(
    state: StackState,
    resources: StateResource[],
    deleted: (r: StateResource) => void,
    all: () => StateResource[],
  ): Promise<void> {
    const done = new Map<string, Promise<void>>();
    // Who depends on whom, indexed once (a search per resource grew with the square of a fleet).
    const dependents = new Map<string, StateResource[]>();
    for (const r of resources)
      for (const urn of new Set([...r.dependencies, ...(r.parent ? [r.parent] : [])]))
        dependents
          .set(urn, dependents.get(urn) ?? [])
          .get(urn)!
          .push(r);
    const dependentsOf = (urn: string) => dependents.get(urn) ?? [];
    const remove = (resource: StateResource): Promise<void> => {
      let pending = done.get(resource.urn);
      if (!pending) {
        pending = (async () => {
          await Promise.all(dependentsOf(resource.urn).map(remove));
          if (resource.custom) this.record("delete", resource);
          if (!this.preview && resource.custom && resource.type.startsWith(DYNAMIC)) {
            const at = Date.now();
            const end = await this.begin(state, all, "delete", { ...resource, inputs: resource.outputs });
            try {
              await this.limiter.run(() => this.host!.delete(resource.urn, resource.id, resource.outputs));
            } catch (error) {
              this.fail(resource, error);
              throw error;
            } finally {
              end();
            }
            this.finished("deleted", resource, at);
          }
          deleted(resource);
        })();
        done.set(resource.urn, pending);
      }
      return pending;
    };
    const results = await Promise.allSettled(resources.map(remove));
    if (results.some((r) => r.status === "rejected")) throw new ReportedFailures();
  }

  /** Runs the program; creates, updates and replaces as it registers; deletes what it dropped. */
  private async update(
    state: StackState,
    run: {
      project: string;
      main: string;
      config: Record<string, string>;
      ready: Promise<void>;
    },
    interrupted: PendingOperation[],
  ): Promise<Record<string, unknown>> {
    const old = new Map(state.resources.map((r) => [r.urn, r]));
    const next: StateResource[] = [];
    const current = () => this.merge(next, old);
    const failed = new Set<string>();
    const activity = { inFlight: 0, last: Date.now() };
    installMonitor(
      async (registration) => {
        activity.inFlight++;
        try {
          await run.ready.catch(() => {
            failed.add(registration.urn);
            throw new Error("not done: the refresh failed");
          });
          // A resource whose dependency (or parent) failed is skipped, as Pulumi does.
          const blocker = [...registration.dependencies, registration.parent].find((u) => failed.has(u));
          if (blocker) {
            failed.add(registration.urn);
            this.print(
              `   skipped ${shortType(registration.type)} ${registration.name}: ${blocker.split("::").pop()} failed`,
            );
            throw new Error(`skipped: ${blocker.split("::").pop()} failed`);
          }
          try {
            const result = await this.register(registration, old, next, state, current);
            // A step that left its resource as it was changes nothing a checkpoint would record.
            if (!this.sameSteps.has(registration.urn)) void this.checkpointSoon(state, current);
            return result;
          } catch (error) {
            failed.add(registration.urn);
            this.fail(registration, error);
            throw error;
          }
        } finally {
          activity.inFlight--;
          activity.last = Date.now();
        }
      },
      { project: run.project, stack: this.options.stack, preview: this.preview, config: run.config },
    );
    const program = runProgram(run.main);
    program.catch(() => undefined);
    // When a resource failed, the program never finishes (what depends on it waits for ever):
    // the run ends once the independent work has settled, as Pulumi's does.
    const settled = new Promise<"failed">((resolve) => {
      const check = setInterval(() => {
        if (
          (failed.size > 0 || this.stray.length > 0) &&
          activity.inFlight === 0 &&
          Date.now() - activity.last > 500
        ) {
          clearInterval(check);
          resolve("failed");
        }
      }, 100);
      void program.finally(() => clearInterval(check));
    });
    let outputs: Record<string, unknown> | undefined;
    try {
      const finished = await Promise.race([program, settled]);
      if (finished !== "failed") outputs = finished ?? {};
    } catch (error) {
      // The program itself failed (a bad configuration): nothing was declared past that.
      if (failed.size === 0) throw error;
    }
    if (outputs === undefined || failed.size > 0) {
      // Keep what was done: the state records every resource that completed.
      state.resources = current();
      if (failed.size === 0 && this.stray.length > 0) throw this.stray[0];
      throw new ReportedFailures();
    }
    // What the program no longer declares goes, dependents first.
    const registered = new Set(next.map((r) => r.urn));
    const gone = state.resources.filter((r) => !registered.has(r.urn));
    const kept = new Set(gone.map((r) => r.urn));
    const remaining = () => [...next, ...gone.filter((r) => kept.has(r.urn))];
    try {
      await this.deleteAll(state, gone, (resource) => kept.delete(resource.urn), remaining);
      if (!this.preview) await this.removeInterruptedCreates(state, interrupted, registered, remaining);
    } finally {
      // What could not be deleted stays in the state, still on the routers.
      state.resources = remaining();
    }
    return outputs;
  }

  /** After a failure: what completed, plus old resources not yet touched (still on the routers). */
  private merge(next: StateResource[], old: Map<string, StateResource>): StateResource[] {
    const seen = new Set(next.map((r) => r.urn));
    return [...[...old.values()].filter((r) => !seen.has(r.urn)), ...next];
  }

  private async register(
    registration: Registration,
    old: Map<string, StateResource>,
    next: StateResource[],
    state: StackState,
    current: () => StateResource[],
  ): Promise<RegistrationResult> {
    const preview = this.preview;
    const { plain, secret } = reveal(registration.inputs);
    const base = {
      urn: registration.urn,
      type: registration.type,
      name: registration.name,
      parent: registration.parent,
      custom: registration.custom,
      dependencies: registration.dependencies,
      secretInputs: secret,
    };
    if (!registration.custom) {
      next.push({ ...base, id: "", inputs: plain, outputs: plain, secretOutputs: secret });
      return { state: registration.inputs };
    }
    if (!registration.type.startsWith(DYNAMIC)) {
      throw new Error(
        `${registration.type} is not a dynamic resource; the stand-in engine serves only dynamic providers`,
      );
    }
    return this.limiter.run(async () => {
      const host = this.host!;
      const prior = old.get(registration.urn);
      // Outputs are secret where the program asked (additionalSecretOutputs) or their input was.
      const secretOutputs = [...new Set([...registration.additionalSecretOutputs, ...secret])];
      const checked = await host.check(registration.urn, prior?.inputs ?? {}, plain);
      if (checked.failures.length > 0) {
        throw new Error(
          `check failed:\n${checked.failures.map((f) => `  ${f.property}: ${f.reason}`).join("\n")}`,
        );
      }
      const inputs = checked.inputs;
      const routers = routersOf(inputs);
      const label = {
        type: registration.type,
        name: routers ? `${registration.name} (${routers})` : registration.name,
      };
      const keep = (id: string, outputs: Props): RegistrationResult => {
        next.push({ ...base, id, inputs, outputs, secretOutputs });
        return { id, state: conceal(outputs, secretOutputs) };
      };
      if (!prior) {
        this.record("create", label);
        if (preview) return keep("", inputs);
        const at = Date.now();
        const end = await this.begin(state, current, "create", { ...base, inputs });
        const created = await host.create(registration.urn, inputs).finally(end);
        this.finished("created", label, at);
        return keep(created.id, created.outputs);
      }
      const diff = await host.diff(registration.urn, prior.id, prior.outputs, inputs);
      // A property is shown as [secret] when its old or its new value is secret, as Pulumi's
      // display does (pkg/backend/display/object_diff.go prints secret values masked either side).
      const shownSecret = [...new Set([...secret, ...prior.secretInputs])];
      const details = [...propertyChanges(prior.inputs, inputs, shownSecret), ...driftOf(prior.outputs)];
      if (diff.replaces.length > 0) {
        this.record("replace", label, [...details, `replaced because of: ${diff.replaces.join(", ")}`]);
        if (preview) return keep(prior.id, inputs);
      } else if (diff.changes === "none") {
        this.record("same", label);
        this.sameSteps.add(registration.urn);
        return keep(prior.id, prior.outputs);
      } else {
        this.record("update", label, details.length > 0 ? details : ["the provider reports changes"]);
        if (preview) return keep(prior.id, prior.outputs);
      }
      const at = Date.now();
      const end = await this.begin(state, current, diff.replaces.length > 0 ? "replace" : "update", {
        ...base,
        inputs,
      });
      const applied = await applyDiff(host, registration.urn, prior, inputs, diff, () =>
        old.delete(registration.urn),
      ).finally(end);
      this.finished(applied.operation === "replace" ? "replaced" : "updated", label, at);
      return keep(applied.id, applied.outputs);
    });
  }
}

/** The routers a resource touches, by name, for display. */
function routersOf(inputs: Props): string | undefined {
  const names: string[] = [];
  const add = (connection: unknown) => {
    const c = connection as { name?: string; host?: string } | undefined;
    if (c?.name || c?.host) names.push((c.name ?? c.host)!);
  };
  add(inputs.connection);
  if (Array.isArray(inputs.endpoints))
    for (const end of inputs.endpoints as Array<{ connection?: unknown }>) add(end?.connection);
  return names.length > 0 ? names.join(", ") : undefined;
}
