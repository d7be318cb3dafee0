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
    if (diff.replaces.length > 0) {
      if (diff.deleteBeforeReplace) {
        await this.host.delete(state.urn, state.id, state.outputs);
        const created = await this.host.create(state.urn, checked);
        return {
          state: { urn: state.urn, id: created.id, inputs: checked, outputs: created.outputs },
          operation: "replace",
        };
      }
      const created = await this.host.create(state.urn, checked);
      await this.host.delete(state.urn, state.id, state.outputs);
      return {
        state: { urn: state.urn, id: created.id, inputs: checked, outputs: created.outputs },
        operation: "replace",
      };
    }
    if (diff.changes === "none") return { state, operation: "same" };
    const updated = await this.host.update(state.urn, state.id, state.outputs, checked);
    return { state: { ...state, inputs: checked, outputs: updated.outputs }, operation: "update" };
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
