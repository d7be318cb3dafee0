/**
 * A test stand-in for the Pulumi engine (the Pulumi CLI cannot be installed here). It runs the stack
 * program on Pulumi's Node runtime, sends every dynamic resource to Pulumi's own dynamic-provider
 * host (the harness the lifecycle tests use), keeps state in `.lab/state/STACK.json`, creates in
 * dependency order, deletes in reverse. It is a model of the Pulumi engine at the pinned version,
 * not a friendlier CLI: it prints what `pulumi` prints (./display.ts) from what `pulumi` holds —
 * old and new inputs, outputs, which top-level properties are secret — and counts what `pulumi`
 * counts. Each rule names the Pulumi source it follows. It is not a deployment tool: real
 * deployments use `pulumi`.
 */
import { readFileSync } from "fs";
import * as path from "path";
import { load as parseYaml } from "js-yaml";
import { readConfig } from "./secrets";
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
import {
  Secret,
  renderDiagnostics,
  renderOutputs,
  renderRow,
  renderStepDiff,
  renderStepOutputs,
  renderSummary,
  type PropertyMap,
  type StepOp,
  type StepView,
} from "./display";
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

/** A step not started because the run was canceled (never a resource's failure). */
class Canceled extends Error {
  constructor() {
    super("canceled");
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
  /** Print each step's property diff, as `pulumi --diff`; otherwise a row per step. */
  diff?: boolean;
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
  /**
   * What a refresh found, as Pulumi's `RefreshStep.ResultOp` (pkg/resource/deploy/step.go): `same`
   * when the provider's diff, called reversed (olds = the refreshed outputs, news = the stored
   * inputs), reports no changes; `delete` when read returned no id; otherwise `update`.
   */
  result?: "same" | "update" | "delete";
  type: string;
  name: string;
  /** What `--diff` prints for the step (its lines), whether or not it was asked to print it. */
  details: string[];
  /** The step failed: Pulumi counts a step only once it succeeded (update.go, `OnResourceStepPost`). */
  failed?: boolean;
}

export interface RunResult {
  operations: OperationRecord[];
  /** Seconds the whole command took, and the provider host's peak memory. */
  wallSeconds: number;
  /** Seconds to the provider host being ready; spent refreshing; from the first provider call to the last one's end. */
  timings: { hostStart?: number; refresh?: number; provider?: number };
  hostPeakMemoryBytes?: number;
  /** Operations that change something, as `--expect-no-changes` counts them. */
  changes: number;
  outputs: Record<string, unknown>;
  error?: string;
  exitCode: number;
}

const DYNAMIC = "pulumi-nodejs:dynamic/";
const STACK_TYPE = "pulumi:pulumi:Stack";

/** `pulumi-nodejs:dynamic/gre:GreTunnel` → `GreTunnel` (for the engine's own messages). */
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

/**
 * What `--expect-no-changes` counts, as Pulumi does: every recorded operation but `same`. A refresh
 * step is recorded only in `refresh` itself, as its result (`same` not counted): under
 * `preview --refresh` and `up --refresh` it is not a logical step and is not recorded
 * (pkg/engine/update.go, `OnResourceStepPost` and `HasChanges`; pkg/resource/deploy/step.go,
 * `RefreshStep.Logical` is false), so drift counts only where `diff` turns it into an update.
 */
export function countedChanges(command: Command, records: readonly OperationRecord[]): number {
  return records.filter(
    (r) =>
      !r.failed &&
      (r.operation === "refresh" ? command === "refresh" && r.result !== "same" : r.operation !== "same"),
  ).length;
}

/** The operations the "Resources:" summary counts (a refresh as its result, and only in `refresh`). */
export function summaryCounts(
  command: Command,
  records: readonly OperationRecord[],
): Partial<Record<StepOp, number>> {
  const counts: Partial<Record<StepOp, number>> = {};
  for (const r of records) {
    if (r.failed || (r.operation === "refresh" && command !== "refresh")) continue;
    const op: StepOp = r.operation === "refresh" ? (r.result ?? "same") : r.operation;
    counts[op] = (counts[op] ?? 0) + 1;
  }
  return counts;
}

/**
 * A property bag as the engine holds it: the top-level properties in `secret` marked secret
 * (the dynamic-provider host takes no secrets; the engine re-marks them by top-level name:
 * sdk/go/common/resource/plugin/provider_plugin.go, `annotateSecrets`), shown as `[secret]`.
 */
export function marked(props: Props | undefined, secret: readonly string[]): PropertyMap {
  const out: PropertyMap = {};
  for (const [key, value] of Object.entries(props ?? {}))
    out[key] = secret.includes(key) && value !== undefined ? new Secret(value) : value;
  return out;
}

/** Reads `Pulumi.yaml` and `Pulumi.STACK.yaml` into the runtime's config map. */
export function loadProject(
  root: string,
  stack: string,
  configFile?: string,
): { project: string; main: string; config: Record<string, string>; secretKeys: string[] } {
  const project = parseYaml(readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
    name: string;
    main?: string;
  };
  let stackFile: { config?: Record<string, unknown>; encryptionsalt?: unknown } = {};
  try {
    stackFile =
      (parseYaml(
        readFileSync(configFile ?? path.join(root, `Pulumi.${stack}.yaml`), "utf8"),
      ) as typeof stackFile) ?? {};
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const { config, secretKeys } = readConfig(stackFile, project.name);
  return { project: project.name, main: path.resolve(root, project.main ?? "."), config, secretKeys };
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
  /**
   * Set by the first SIGINT or SIGTERM (pkg/backend/cancellation_scope.go): no step starts after
   * it; the steps under way finish and are saved, and the run ends with "update canceled"
   * (deployment_executor.go, `reportExecResult`).
   */
  private canceled = false;
  /** How many of the errors are resources' own (reported as they happened). */
  private resourceFailures = 0;

  constructor(private readonly options: EngineOptions) {
    this.print = options.print ?? ((line) => process.stdout.write(`${line}\n`));
    const stateDir = process.env.GRE_ENGINE_STATE_DIR ?? path.join(options.root, ".lab", "state");
    this.stateFile = options.stateFile ?? path.join(stateDir, `${options.stack}.json`);
    this.limiter = new Limiter(options.parallel ?? Number.POSITIVE_INFINITY);
  }

  /**
   * The first SIGINT or SIGTERM, as Pulumi's cancellation scope takes it (cancellation_scope.go):
   * says so, and lets what is under way finish. (A second one terminates: the command line's part.)
   */
  cancel(signal: "SIGINT" | "SIGTERM"): void {
    if (this.canceled) return;
    this.canceled = true;
    this.print(
      signal === "SIGTERM"
        ? "SIGTERM received; cancelling. If you would like to terminate immediately, send SIGTERM again."
        : "^C received; cancelling. If you would like to terminate immediately, press ^C again.",
    );
    if (!this.preview)
      this.print(
        "Note that terminating immediately may lead to orphaned resources and other inconsistencies.",
      );
  }

  /** Throws when the run was canceled: called just before a step starts (nothing awaited in between). */
  private startAllowed(): void {
    if (this.canceled) throw new Canceled();
  }

  /** Each resource's parent, for indentation (`getIndent`). */
  private readonly parents = new Map<string, string>();
  /** Messages per resource, for the "Diagnostics:" section; the stack's hold the provider host's output. */
  private readonly diagnostics = new Map<string, { type: string; name: string; messages: string[] }>();
  private stackUrn = "";

  /** Visible parents above a resource: the stack is 0, its children 1 (diff.go, `getIndent`). */
  private indentOf(urn: string): number {
    let depth = 0;
    for (let p = this.parents.get(urn); p; p = this.parents.get(p)) depth++;
    return depth;
  }

  /**
   * Starts one step. Under `--diff` it prints what Pulumi prints as a step starts (diff.go,
   * `renderDiffResourcePreEvent`: nothing for a refresh or, but for the stack, a same step); when it
   * ends, the step's outputs (`renderDiffResourceOutputsEvent`), or without `--diff` the row of the
   * non-interactive progress display (progress.go). Returns the step's end and failure.
   */
  private startStep(
    subject: { urn: string; type: string; name: string; parent?: string },
    op: StepOp,
    sides: { id?: string; old?: StepView["old"]; new?: StepView["new"] },
  ): { done(after?: { new?: StepView["new"]; result?: OperationRecord["result"] }): void; failed(): void } {
    if (subject.parent) this.parents.set(subject.urn, subject.parent);
    const view: StepView = {
      op,
      urn: subject.urn,
      type: subject.type,
      indent: this.indentOf(subject.urn),
      ...sides,
    };
    const isStack = subject.type === STACK_TYPE;
    const pre = op === "refresh" || (op === "same" && !isStack) ? "" : renderStepDiff(view, this.preview);
    const entry: OperationRecord = {
      operation: op,
      type: shortType(subject.type),
      name: subject.name,
      details: pre === "" ? [] : pre.trimEnd().split("\n"),
    };
    this.records.push(entry);
    if (this.options.diff && pre !== "") this.print(pre.trimEnd());
    const started = Date.now();
    return {
      done: (after = {}) => {
        if (after.result) entry.result = after.result;
        const ended: StepView = { ...view, new: after.new ?? view.new };
        const outputs = renderStepOutputs(ended, this.preview, op === "refresh", isStack);
        if (op === "refresh") entry.details = outputs === "" ? [] : outputs.trimEnd().split("\n");
        if (this.options.diff) {
          if (outputs !== "") this.print(outputs.trimEnd());
        } else {
          this.print(
            renderRow(op, subject.type, subject.name, {
              planning: this.preview,
              seconds: (Date.now() - started) / 1000,
            }),
          );
        }
      },
      failed: () => {
        entry.failed = true;
        if (!this.options.diff)
          this.print(renderRow(op, subject.type, subject.name, { planning: this.preview, failed: true }));
      },
    };
  }

  /** A message for the "Diagnostics:" section, under `urn` (or the stack's, as Pulumi puts messages without one). */
  private diagnose(subject: { urn: string; type: string; name: string } | undefined, message: string): void {
    const key = subject?.urn ?? this.stackUrn;
    const group = this.diagnostics.get(key) ?? {
      type: subject?.type ?? STACK_TYPE,
      name: subject?.name ?? this.stackName,
      messages: [],
    };
    group.messages.push(message);
    this.diagnostics.set(key, group);
    // The diff display prints diagnostics as they come (diff.go, `renderDiffDiagEvent`).
    if (this.options.diff) this.print(message);
  }

  private stackName = "";

  /** Reports a resource's failure once, as Pulumi does: `error:` under the resource. */
  private fail(resource: { urn: string; type: string; name: string }, error: unknown): void {
    if (error instanceof Canceled) return;
    const message = error instanceof Error ? error.message : String(error);
    this.errors.push(`${shortType(resource.type)} ${resource.name}: ${message}`);
    this.resourceFailures++;
    this.diagnose(resource, `error: ${message}`);
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

  /**
   * A resource's step completed: an operation an earlier run left pending on it is settled too
   * (its outcome is now in the state), so it is neither warned about again nor kept.
   */
  private settlePending(urn: string): void {
    this.pending = this.pending.filter((p) => p.urn !== urn);
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
    const { project, main, config, secretKeys } = loadProject(
      this.options.root,
      this.options.stack,
      this.options.configFile,
    );
    this.preview = command === "preview";
    this.stackName = `${project}-${this.options.stack}`;
    this.stackUrn = `urn:pulumi:${this.options.stack}::${project}::${STACK_TYPE}::${this.stackName}`;
    // As the CLI heads its display (the stand-in says what it is in `--help`, not here).
    this.print(
      `${command === "preview" ? "Previewing update" : command === "destroy" ? "Destroying" : command === "refresh" ? "Refreshing" : "Updating"} (${this.options.stack})`,
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
      for (const r of state.resources) if (r.parent) this.parents.set(r.urn, r.parent);
      const loaded = state;
      outputs = state.outputs;
      const interrupted = state.pending ?? [];
      this.pending = [...interrupted];
      for (const op of interrupted)
        this.print(
          `warning: the last run was interrupted while it was ${PENDING_VERB[op.operation]} ${shortType(op.type)} ${op.name} (since ${op.startedAt}); ` +
            "its outcome is not in the state: refresh reads what the routers have, up converges (create adopts what an interrupted create left), destroy removes it",
        );
      // The provider host starts while the program loads and serializes its providers (Pulumi
      // loads a provider plugin when it is first needed); registrations wait for the host.
      hostReady = ProviderHost.start({ config, env: this.options.hostEnv, cwd: this.options.root }).then(
        (host) => {
          this.host = host;
          // The host's stdout and stderr, line by line, as messages without a resource, which the
          // display puts under the stack (sdk/go/common/resource/plugin/plugin.go, `runtrace`;
          // pkg/backend/display/progress.go, an event without a URN goes to the stack's row): the
          // host never connects pulumi.log to the engine, so a provider's log.warn lands here.
          host.onOutput = (_kind, line) => this.diagnose(undefined, line);
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
        // As Pulumi's deployment executor: a refresh runs to its end before the program starts,
        // and a failed one ends the run there (deployment_executor.go, Execute: refresh, then
        // source.Iterate).
        if (this.options.refresh) await refreshed;
        outputs = await this.update(
          state,
          { project, main, config, secretKeys, hostReady: refreshed },
          interrupted,
        );
      } else {
        await refreshed;
        this.checkpoint(state, state.resources);
      }
      state.outputs = outputs;
    } catch (e) {
      // Failures of resources were reported as they happened; anything else is reported here.
      const reported = e instanceof ReportedFailures || e instanceof Canceled;
      if (!reported) this.errors.push(e instanceof Error ? e.message : String(e));
      if (!reported) this.print(`error: ${this.errors[this.errors.length - 1]}`);
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
    if (this.canceled) {
      // Reported without a resource, under the stack (deployment_executor.go, `reportExecResult`).
      const message = `${this.preview ? "preview" : "update"} canceled`;
      this.errors.push(message);
      this.diagnose(undefined, `error: ${message}`);
    }
    const changes = countedChanges(command, this.records);
    const exitCode = this.errors.length > 0 ? 1 : this.options.expectNoChanges && changes > 0 ? 2 : 0;
    if (!this.options.diff) {
      const section = renderDiagnostics(
        [...this.diagnostics.entries()]
          .sort(([a], [b]) => (a === this.stackUrn ? -1 : b === this.stackUrn ? 1 : 0))
          .map(([, group]) => group),
      );
      if (section !== "") this.print(section);
      if (command === "up" && this.errors.length === 0 && Object.keys(outputs).length > 0)
        this.print(renderOutputs(outputs));
    }
    this.print(renderSummary(summaryCounts(command, this.records), this.preview, this.resourceFailures));
    if (!this.preview) this.print(`\nDuration: ${Math.ceil((Date.now() - started) / 1000)}s`);
    // The backend's error, which the CLI prints as it exits (pkg/backend/backenderr/backenderr.go).
    if (exitCode === 2) this.print("error: no changes were expected but changes were proposed");
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

  /**
   * Reads every resource back, as Pulumi's refresh steps do (pkg/resource/deploy/step.go,
   * `RefreshStep.Apply`): the outputs read become the resource's outputs, and the inputs read (when
   * the provider returns them) its inputs, so that the next diff compares them with the program's;
   * a blank id means the resource is gone. Whether the refresh changed anything is the provider's
   * `diff` called reversed — olds = the refreshed outputs, news = the stored inputs — or, when it
   * cannot tell, the refreshed inputs against the stored ones (`diffResource`, `RefreshStep.ResultOp`).
   * A failed read fails the refresh.
   */
  private async refresh(state: StackState): Promise<void> {
    const gone = new Set<string>();
    const results = await Promise.allSettled(
      state.resources.map((resource) =>
        this.limiter.run(async () => {
          if (!resource.custom || !resource.type.startsWith(DYNAMIC)) return;
          this.startAllowed();
          const step = this.startStep(resource, "refresh", {
            id: resource.id,
            old: {
              inputs: marked(resource.inputs, resource.secretInputs),
              outputs: marked(resource.outputs, resource.secretOutputs),
            },
          });
          try {
            const read = await this.host!.read(resource.urn, resource.id, resource.outputs, resource.inputs);
            if (!read.id) {
              gone.add(resource.urn);
              return step.done({ new: undefined, result: "delete" });
            }
            const inputs = read.inputs ?? resource.inputs;
            const reversed = await this.host!.diff(resource.urn, read.id, read.outputs, resource.inputs);
            const changed =
              reversed.changes === "unknown"
                ? JSON.stringify(inputs) !== JSON.stringify(resource.inputs)
                : reversed.changes === "some" || reversed.replaces.length > 0;
            resource.id = read.id;
            resource.outputs = read.outputs;
            resource.inputs = inputs;
            step.done({
              new: {
                inputs: marked(inputs, resource.secretInputs),
                outputs: marked(read.outputs, resource.secretOutputs),
              },
              result: changed ? "update" : "same",
            });
          } catch (error) {
            step.failed();
            this.fail(resource, error);
            throw error;
          }
        }),
      ),
    );
    state.resources = state.resources.filter((r) => !gone.has(r.urn));
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
      // Pulumi's own recovery differs (it lists pending operations for `pulumi refresh` to clear);
      // the stand-in removes what the interrupted create may have left, and says so.
      if (this.canceled) return;
      this.print(
        `warning: deleting what an interrupted create of ${shortType(op.type)} ${op.name} may have left`,
      );
      const step = this.startStep(op, "delete", { old: { inputs: marked(op.inputs, op.secretInputs) } });
      try {
        await this.host!.delete(op.urn, "", op.inputs);
        this.pending = this.pending.filter((p) => p !== op);
        await this.checkpointSoon(state, resources);
        step.done();
      } catch (error) {
        step.failed();
        this.fail(op, error);
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
          this.startAllowed();
          const step = this.startStep(resource, "delete", {
            id: resource.id,
            old: {
              inputs: marked(resource.inputs, resource.secretInputs),
              outputs: marked(resource.outputs, resource.secretOutputs),
            },
          });
          if (!this.preview && resource.custom && resource.type.startsWith(DYNAMIC)) {
            const end = await this.begin(state, all, "delete", { ...resource, inputs: resource.outputs });
            try {
              await this.limiter.run(() => this.host!.delete(resource.urn, resource.id, resource.outputs));
            } catch (error) {
              step.failed();
              this.fail(resource, error);
              throw error;
            } finally {
              end();
            }
          }
          step.done({ new: undefined });
          this.settlePending(resource.urn);
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
      secretKeys: string[];
      /** The provider host started (and, with a refresh, the refresh done). */
      hostReady: Promise<void>;
    },
    interrupted: PendingOperation[],
  ): Promise<Record<string, unknown>> {
    // After a refresh: what it found gone is no longer here, and the program's declaration creates it.
    const old = new Map(state.resources.map((r) => [r.urn, r]));
    const next: StateResource[] = [];
    const current = () => this.merge(next, old);
    const failed = new Set<string>();
    const activity = { inFlight: 0, last: Date.now() };
    installMonitor(
      async (registration) => {
        activity.inFlight++;
        try {
          await run.hostReady.catch(() => {
            failed.add(registration.urn);
            throw new Error("not done: the provider host did not start");
          });
          if (this.canceled) {
            failed.add(registration.urn);
            throw new Canceled();
          }
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
      {
        main: run.main,
        project: run.project,
        stack: this.options.stack,
        preview: this.preview,
        config: run.config,
        secretKeys: run.secretKeys,
      },
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
    const prior = old.get(registration.urn);
    // After a cancel, no registration becomes a step (the step generator stops).
    this.startAllowed();
    if (!registration.custom) {
      // The stack and components: no provider; created once, the same after (outputs are theirs).
      const step = this.startStep(registration, prior ? "same" : "create", {
        old: prior && { inputs: marked(prior.inputs, prior.secretInputs) },
        new: { inputs: marked(plain, secret) },
      });
      if (prior) this.sameSteps.add(registration.urn);
      next.push({ ...base, id: "", inputs: plain, outputs: plain, secretOutputs: secret });
      step.done();
      return { state: registration.inputs };
    }
    if (!registration.type.startsWith(DYNAMIC)) {
      throw new Error(
        `${registration.type} is not a dynamic resource; the stand-in engine serves only dynamic providers`,
      );
    }
    return this.limiter.run(async () => {
      const host = this.host!;
      if (registration.importId !== undefined && !prior) {
        // An import reads the resource by its id alone, with no state (step.go, `ImportStep.Apply`):
        // the dynamic-provider host then has no serialized provider to run and fails (pulumi #3550,
        // #7534). The host's own failure is the answer.
        await host.read(registration.urn, registration.importId, {}, {});
        throw new Error(`import of ${registration.importId} returned a resource; the Pulumi host would not`);
      }
      // Outputs are secret where the program asked (additionalSecretOutputs) or their input was.
      const secretOutputs = [...new Set([...registration.additionalSecretOutputs, ...secret])];
      const checked = await host.check(registration.urn, prior?.inputs ?? {}, plain);
      if (checked.failures.length > 0) {
        throw new Error(
          `check failed:\n${checked.failures.map((f) => `  ${f.property}: ${f.reason}`).join("\n")}`,
        );
      }
      const inputs = checked.inputs;
      const keep = (id: string, outputs: Props): RegistrationResult => {
        next.push({ ...base, id, inputs, outputs, secretOutputs });
        if (!preview) this.settlePending(registration.urn);
        return { id, state: conceal(outputs, secretOutputs) };
      };
      const news = { inputs: marked(inputs, secret) };
      if (!prior) {
        this.startAllowed();
        const step = this.startStep(registration, "create", { new: news });
        if (preview) {
          step.done();
          return keep("", inputs);
        }
        const end = await this.begin(state, current, "create", { ...base, inputs });
        const created = await host
          .create(registration.urn, inputs)
          .catch((error: unknown) => {
            step.failed();
            throw error;
          })
          .finally(end);
        step.done({ new: { ...news, outputs: marked(created.outputs, secretOutputs) } });
        return keep(created.id, created.outputs);
      }
      // Old inputs are what the last step (or a refresh's read) left: the display compares them
      // with the program's (object_diff.go, `printOldNewDiffs`; a dynamic provider returns no
      // detailed diff, pulumi #3080).
      const olds = {
        inputs: marked(prior.inputs, prior.secretInputs),
        outputs: marked(prior.outputs, prior.secretOutputs),
      };
      const diff = await host.diff(registration.urn, prior.id, prior.outputs, inputs);
      const op: StepOp = diff.replaces.length > 0 ? "replace" : diff.changes === "none" ? "same" : "update";
      if (op !== "same") this.startAllowed();
      const step = this.startStep(registration, op, { id: prior.id, old: olds, new: news });
      if (op === "same") {
        this.sameSteps.add(registration.urn);
        step.done();
        return keep(prior.id, prior.outputs);
      }
      if (preview) {
        step.done();
        return keep(prior.id, op === "replace" ? inputs : prior.outputs);
      }
      const end = await this.begin(state, current, op, { ...base, inputs });
      const applied = await applyDiff(host, registration.urn, prior, inputs, diff, () =>
        old.delete(registration.urn),
      )
        .catch((error: unknown) => {
          step.failed();
          throw error;
        })
        .finally(end);
      step.done({ new: { ...news, outputs: marked(applied.outputs, secretOutputs) } });
      return keep(applied.id, applied.outputs);
    });
  }
}
