/**
 * The engine's side of a resource's lifecycle, over the provider host: the calls `pulumi up`,
 * `pulumi preview`, `pulumi refresh` and `pulumi destroy` make, in the engine's order, with the
 * engine's property bags (Check gets old and new inputs; Diff and Update get old outputs and new
 * checked inputs; Read gets old outputs and inputs; Delete gets outputs).
 */
import { ProviderHost, resourceUrn, type CheckFailure, type DiffResult, type Props } from "./providerHost";

/** A resource as the state file holds it. */
export interface ResourceState {
  urn: string;
  id: string;
  inputs: Props;
  outputs: Props;
}

/** Check failures, as the engine reports them before running anything. */
export class CheckFailed extends Error {
  constructor(readonly failures: CheckFailure[]) {
    super(`check failed: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
  }
}

export class Lifecycle {
  constructor(
    readonly host: ProviderHost,
    readonly provider: string,
    readonly type: string,
  ) {}

  private withProvider(inputs: Props): Props {
    return { ...inputs, __provider: this.provider };
  }

  /** `check`: the normalized inputs, or CheckFailed. */
  async check(name: string, inputs: Props, olds: Props = {}): Promise<Props> {
    const checked = await this.host.check(resourceUrn(this.type, name), olds, this.withProvider(inputs));
    if (checked.failures.length > 0) throw new CheckFailed(checked.failures);
    return checked.inputs;
  }

  /** `pulumi up` of a new resource: check, then create. */
  async create(name: string, inputs: Props): Promise<ResourceState> {
    const urn = resourceUrn(this.type, name);
    const checked = await this.check(name, inputs);
    const created = await this.host.create(urn, checked);
    return { urn, id: created.id, inputs: checked, outputs: created.outputs };
  }

  /** `pulumi preview` of an existing resource: check and diff, nothing else. */
  async preview(state: ResourceState, inputs: Props): Promise<DiffResult> {
    const name = state.urn.split("::").pop()!;
    const checked = await this.check(name, inputs, state.inputs);
    return this.host.diff(state.urn, state.id, state.outputs, checked);
  }

  /** `pulumi up` of an existing resource: check, diff, then update or replace (or nothing). */
  async up(
    state: ResourceState,
    inputs: Props,
  ): Promise<{ state: ResourceState; operation: "same" | "update" | "replace" }> {
    const name = state.urn.split("::").pop()!;
    const checked = await this.check(name, inputs, state.inputs);
    const diff = await this.host.diff(state.urn, state.id, state.outputs, checked);
    const applied = await applyDiff(this.host, state.urn, state, checked, diff);
    if (applied.operation === "same") return { state, operation: "same" };
    return {
      state: { urn: state.urn, id: applied.id, inputs: checked, outputs: applied.outputs },
      operation: applied.operation,
    };
  }

  /** `pulumi refresh`: read, keeping the inputs read hands back. */
  async refresh(state: ResourceState): Promise<ResourceState> {
    const read = await this.host.read(state.urn, state.id, state.outputs, state.inputs);
    return { urn: state.urn, id: read.id, inputs: read.inputs ?? state.inputs, outputs: read.outputs };
  }

  /** `pulumi destroy`. */
  async delete(state: ResourceState): Promise<void> {
    await this.host.delete(state.urn, state.id, state.outputs);
  }
}

/**
 * What the engine does with a diff: nothing, an update in place, or a replacement — delete first
 * when the provider asks (`deleteBeforeReplace`), else create the new one and then delete the old.
 * `oldDeleted` is told as soon as the old resource is gone (a failure after that must not keep it).
 */
export async function applyDiff(
  host: ProviderHost,
  urn: string,
  prior: { id: string; outputs: Props },
  inputs: Props,
  diff: DiffResult,
  oldDeleted: () => void = () => undefined,
): Promise<{ operation: "same" | "update" | "replace"; id: string; outputs: Props }> {
  if (diff.replaces.length > 0) {
    if (diff.deleteBeforeReplace) {
      await host.delete(urn, prior.id, prior.outputs);
      oldDeleted();
    }
    const created = await host.create(urn, inputs);
    if (!diff.deleteBeforeReplace) {
      await host.delete(urn, prior.id, prior.outputs);
      oldDeleted();
    }
    return { operation: "replace", id: created.id, outputs: created.outputs };
  }
  if (diff.changes === "none") return { operation: "same", id: prior.id, outputs: prior.outputs };
  const updated = await host.update(urn, prior.id, prior.outputs, inputs);
  return { operation: "update", id: prior.id, outputs: updated.outputs };
}
