/**
 * The shape every resource that lives on one router shares (KernelModule, Sysctl, TunnelRoute):
 * check with its schema, an offline diff over its input names, and create, read, update and delete
 * as "look at the router, plan, change and read back in one round trip". A resource supplies only
 * what is its own: the schema, the reads and how to parse them, the plan, the outputs with drift,
 * and what delete removes. Each provider file then reads like the field note's step for it.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { credentialsOf, routerLabel, withCredentials, withoutSecrets } from "../../transport/connection";
import type { Connection, ConnectionCredentials } from "../../model/connection";
import type { CommandOutcome, RemoteCommand } from "../../model/command";
import { changeThenRead } from "../applyOnRouter";
import { builtOnce, checkInputs } from "../checkInputs";
import { diffOnRouter } from "../diffOnRouter";
import { keysToRecord, recordedKeys, type HostKeyState, type RecordedHostKeys } from "../hostKeys";
import { notice } from "../notices";
import {
  configureDecommissioned,
  decommissionedError,
  decommissionedNotice,
  isDecommissioned,
  withWayOut,
} from "../decommissioned";
import { stateRequired } from "../stateRequired";

/** What every one-router resource's state holds besides its inputs and its own findings. */
export interface RouterStateFields extends HostKeyState {
  /** How the router differs from the inputs, naming it; empty when it matches. */
  drift: string[];
}

/**
 * A state as the engine hands it back: the inputs, and what the version that wrote it observed (a
 * state from an older version may lack some of it).
 */
export type StateOf<Inputs, Outputs> = Inputs &
  Partial<RouterStateFields> &
  Partial<Omit<Outputs, keyof Inputs>>;

/** What a step knows besides the inputs and what the router has now. */
export interface StepContext<State, View> {
  /** The state before this step (update, read, delete); none at create. */
  previous?: State;
  /** What the router had before this step's changes (the same as now when nothing changed). */
  before: View;
}

/** A resource on one router: what it is, how it reads the router, plans, and reports. */
export interface OneRouterResource<
  Inputs extends { connection: Connection },
  View,
  Outputs extends Inputs & RouterStateFields,
> {
  /** The resource's type, as messages name it ("KernelModule"). */
  kind: string;
  /** What the resource is about, as messages name it ("ip_gre"). */
  subject(inputs: Inputs): string;
  /** Builds the input schema (inside the methods, never at import time; `check` builds it once per process). */
  schema(): z.ZodType;
  /** The checked inputs with defaults filled in. */
  normalize(data: never): Inputs;
  /** The input properties: what `read` hands back as inputs and what `diff` compares. */
  inputKeys: ReadonlyArray<keyof Inputs & string>;
  /** Input properties whose change replaces the resource (another router always does). */
  replaceOn: ReadonlyArray<keyof Inputs & string>;
  /** Delete the old resource before creating its replacement. */
  deleteBeforeReplace: boolean;
  /** The resource id. */
  id(inputs: Inputs): string;
  /** The commands that read what the resource is about (and what the state says it left). */
  reads(inputs: Inputs, previous?: StateOf<Inputs, Outputs>): RemoteCommand[];
  /** What the reads found; throws when the router cannot hold the resource at all. */
  parse(
    inputs: Inputs,
    outcomes: CommandOutcome[],
    router: string,
    previous?: StateOf<Inputs, Outputs>,
  ): View;
  /** The changes that bring the router from `now` to the inputs; throws on a conflict. */
  plan(inputs: Inputs, now: View, context: StepContext<StateOf<Inputs, Outputs>, View>): RemoteCommand[];
  /** Explains a change that failed (the error as thrown, naming the command). */
  explainFailure?(inputs: Inputs, now: View, error: Error): Error;
  /**
   * What a change that failed may have left that was not there `before` (an ownership marker
   * written ahead of the change it stands for), to remove: a failed create leaves nothing.
   */
  undoFailed?(inputs: Inputs, before: View): RemoteCommand[];
  /** The outputs for what the router has now: the inputs, the host keys to record, its own findings and drift. */
  outputs(
    inputs: Inputs,
    now: View,
    context: StepContext<StateOf<Inputs, Outputs>, View>,
    keys: HostKeyState,
  ): Outputs;
  /**
   * The inputs as the router has them: the declared inputs with what the router really has in
   * their place. `read` returns them, Pulumi takes them as the resource's old inputs, and its own
   * rendering of old against new inputs then shows the drift (`~ value: "0" => "1"`); what the
   * router lacks altogether is left out (`+ name: "ip_gre"`). Without it, `read` returns the declared
   * inputs.
   */
  observedInputs?(inputs: StateOf<Inputs, Outputs>, now: View): Partial<StateOf<Inputs, Outputs>>;
  /** What delete changes, and notices for the user about what it leaves. */
  planDelete(state: StateOf<Inputs, Outputs>, now: View): { changes: RemoteCommand[]; notices: string[] };
  /** After delete's changes: throws when the resource is still there; returns further notices. */
  checkDeleted?(state: StateOf<Inputs, Outputs>, after: View, changes: CommandOutcome[]): string[];
}

/**
 * Where the connection's secrets live: in `credentials`, a property of their own, so that the
 * engine (which marks secrets by whole top-level property) keeps `connection` plain. States written
 * by 0.3.0 or earlier hold them inside the connection.
 */
interface Sealed {
  credentials?: ConnectionCredentials;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/** The connection with its credentials put back in: how every step reaches the router. */
function joined<T extends { connection: Connection }>(t: T & Sealed): T {
  if (!isObject(t) || !isObject(t.connection)) return t;
  const { credentials, ...rest } = t;
  return { ...rest, connection: withCredentials(t.connection, credentials) } as T;
}

/** The connection without its secrets and the secrets apart: how outputs and read's inputs hold them. */
function apart<T extends { connection: Connection }>(t: T): T & Sealed {
  if (!isObject(t) || !isObject(t.connection)) return t;
  return { ...t, connection: withoutSecrets(t.connection), credentials: credentialsOf(t.connection) };
}

/** The dynamic provider of a {@link OneRouterResource}. */
export function oneRouterProvider<
  Inputs extends { connection: Connection },
  View,
  Outputs extends Inputs & RouterStateFields,
>(
  resource: OneRouterResource<Inputs, View, Outputs>,
): pulumi.dynamic.ResourceProvider<Inputs, StateOf<Inputs, Outputs>> {
  type State = StateOf<Inputs, Outputs>;
  /** Reads the router after `changes` (if any), in one round trip. */
  const look = async (
    inputs: Inputs,
    previous: State | undefined,
    recorded: RecordedHostKeys,
    changes: RemoteCommand[] = [],
  ) => {
    const reads = resource.reads(inputs, previous);
    const result = await changeThenRead(inputs.connection, changes, reads, recorded);
    return {
      view: resource.parse(inputs, result.reads, routerLabel(inputs.connection), previous),
      seen: { hostKey: result.hostKey, jumpHostKey: result.jumpHostKey },
      changes: result.changes,
    };
  };

  /** Looks, plans, changes and reads back: the step create and update share. */
  const converge = async (inputs: Inputs, previous: State | undefined): Promise<Outputs> => {
    const first = await look(inputs, previous, recordedKeys(previous));
    const context = { previous, before: first.view };
    const changes = resource.plan(inputs, first.view, context);
    let now = first;
    if (changes.length > 0) {
      try {
        now = await look(inputs, previous, first.seen, changes);
      } catch (error) {
        const failure = resource.explainFailure?.(inputs, first.view, error as Error) ?? (error as Error);
        const undo = resource.undoFailed?.(inputs, first.view) ?? [];
        if (undo.length > 0) {
          try {
            await changeThenRead(inputs.connection, undo, [], first.seen);
          } catch (undoError) {
            failure.message += `\nWhat it wrote ahead of the change could not be removed: ${(undoError as Error).message}`;
          }
        }
        throw failure;
      }
    }
    return resource.outputs(inputs, now.view, context, keysToRecord(inputs.connection, now.seen, previous));
  };

  /**
   * The inputs a state was made from: its input properties alone. Typed as a state (inputs with
   * nothing observed), as the SDK types what `read` returns as inputs.
   */
  const inputsOf = (state: State): State => {
    const inputs: Record<string, unknown> = {};
    for (const key of resource.inputKeys) {
      if (state[key] !== undefined && state[key] !== null) inputs[key] = state[key];
    }
    // The connection as it reaches the router, its credentials back in.
    return joined({ ...inputs, credentials: (state as Sealed).credentials } as State & Sealed);
  };

  /** "KernelModule ip_gre": what a message about a decommissioned router names. */
  const named = (inputs: Inputs) => `${resource.kind} ${resource.subject(inputs)}`;

  return {
    async configure(req) {
      configureDecommissioned(req.config);
    },
    async check(_olds, news) {
      // Checked with the credentials in their connection (their problems are named there), then
      // kept apart again.
      const checked = checkInputs(
        builtOnce(resource.kind, resource.schema),
        joined(news as Inputs & Sealed),
        (data) => resource.normalize(data as never),
      );
      return checked.inputs ? { ...checked, inputs: apart(checked.inputs) } : checked;
    },
    async diff(_id, olds, news) {
      const result = diffOnRouter(joined(olds as State & Sealed), joined(news as Inputs & Sealed), {
        inputs: resource.inputKeys,
        replaceOn: resource.replaceOn,
        deleteBeforeReplace: resource.deleteBeforeReplace,
      });
      // Where the secrets are kept is no change on the router, but a state written by 0.3.0 or
      // earlier (secrets inside the connection) is updated once, to keep them apart.
      return { ...result, changes: result.changes || (olds as Sealed).credentials === undefined };
    },
    async create(inputs) {
      const live = joined(inputs as Inputs & Sealed);
      if (isDecommissioned(live.connection)) throw decommissionedError(named(live), live.connection);
      const outs = await converge(live, undefined);
      return { id: resource.id(inputs), outs: apart(outs) };
    },
    async read(id, props) {
      const state = stateRequired(resource.kind, id, props);
      const inputs = inputsOf(state);
      // A state written by 0.3.0 or earlier is read back in its own shape: the engine marks secrets
      // by the old state's property names, so a refresh alone must not move the secrets out of
      // the property that holds them secret (the next update does).
      const oldShape = (state as Sealed).credentials === undefined;
      const shape = <T extends { connection: Connection }>(t: T): T => (oldShape ? t : apart(t));
      // Not contacted: kept as the state has it, its inputs as they were stored.
      if (isDecommissioned(inputs.connection))
        return { id, props: state, inputs: shape(inputs as StateOf<Inputs, Outputs>) };
      const { view, seen } = await look(inputs, state, recordedKeys(state));
      const keys = keysToRecord(inputs.connection, seen, state);
      return {
        id,
        props: shape(resource.outputs(inputs, view, { previous: state, before: view }, keys)),
        // Partial where the router lacks what was declared: Pulumi stores what read returns as is.
        inputs: shape((resource.observedInputs?.(inputs, view) ?? inputs) as StateOf<Inputs, Outputs>),
      };
    },
    async update(_id, olds, news) {
      const live = joined(news as Inputs & Sealed);
      if (isDecommissioned(live.connection)) throw decommissionedError(named(live), live.connection);
      return { outs: apart(await converge(live, joined(olds as State & Sealed))) };
    },
    async delete(_id, state) {
      const inputs = inputsOf(state);
      const label = routerLabel(inputs.connection);
      if (isDecommissioned(inputs.connection))
        return notice(decommissionedNotice(named(inputs), inputs.connection));
      const live = joined(state as State & Sealed);
      const { view } = await look(inputs, live, recordedKeys(live)).catch((error: unknown) => {
        throw withWayOut(error);
      });
      const { changes, notices } = resource.planDelete(live, view);
      if (changes.length > 0) {
        const after = await look(inputs, live, recordedKeys(live), changes);
        notices.push(...(resource.checkDeleted?.(live, after.view, after.changes) ?? []));
      }
      notices.forEach((text) => notice(`${resource.kind} ${resource.subject(inputs)} on ${label}: ${text}`));
    },
  };
}
