/**
 * Sysctl's lifecycle: a kernel parameter such as `net.ipv4.ip_forward=1`, set, read back for drift
 * (a reboot loses it), optionally persisted under /etc/sysctl.d, and on delete restored to the
 * value found at create.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { readFileCommand, removeFile, writeFile } from "../iproute2/kernelModule";
import {
  SYSCTL_KEY,
  normalizeSysctlValue,
  sameSysctlValue,
  sysctlFile,
  sysctlFileContent,
  sysctlRead,
  sysctlWrite,
} from "../iproute2/sysctl";
import { connectionSchema, routerLabel, type Connection } from "../transport/connection";
import { excerpt } from "../transport/errors";
import type { RemoteCommand } from "../transport/script";
import { runOnRouter } from "../transport";
import { changeThenRead } from "./applyOnRouter";
import { checkInputs } from "./checkFailures";
import { diffOnRouter } from "./diffOnRouter";

/** Sysctl's inputs after check. */
export interface SysctlInputs {
  connection: Connection;
  /** The parameter, e.g. net.ipv4.ip_forward. */
  key: string;
  /** The value to set, as sysctl prints it ("1"). */
  value: string;
  /** Also write it under /etc/sysctl.d so it survives a reboot. */
  persist: boolean;
  /** On delete, put back the value found at create; default true. */
  restoreOnDelete: boolean;
}

/** What the router has, as Sysctl's outputs record it. */
export interface SysctlOutputs extends SysctlInputs {
  /** The value now. */
  current: string;
  /** The value found at create, restored on delete. */
  original: string;
  persisted: boolean;
  hostKey: string;
  drift: string[];
}

const VALUE = "must be a whole number, or a value on one line without `=`";

/** Builds Sysctl's input schema. */
export function sysctlSchema() {
  return z
    .object({
      connection: connectionSchema(),
      key: z.string().regex(SYSCTL_KEY, "must be a sysctl name such as net.ipv4.ip_forward"),
      value: z.union(
        [z.string().regex(/^[^\n\r=]*[^\s=][^\n\r=]*$/, { error: VALUE }), z.number().int({ error: VALUE })],
        { error: VALUE },
      ),
      persist: z.boolean().optional(),
      restoreOnDelete: z.boolean().optional(),
    })
    .strict();
}

function normalize(data: z.infer<ReturnType<typeof sysctlSchema>>): SysctlInputs {
  return {
    connection: data.connection,
    key: data.key,
    value: normalizeSysctlValue(String(data.value)),
    persist: data.persist ?? false,
    restoreOnDelete: data.restoreOnDelete ?? true,
  };
}

interface SysctlView {
  current: string;
  file: string | undefined;
  hostKey: string;
}

/** Reads the value and the boot file, after running `changes` in the same round trip. */
async function look(
  inputs: SysctlInputs,
  expectedHostKey?: string,
  changes: RemoteCommand[] = [],
): Promise<SysctlView> {
  const label = routerLabel(inputs.connection);
  const result = await changeThenRead(
    inputs.connection,
    changes,
    [sysctlRead(inputs.key), readFileCommand(sysctlFile(inputs.key))],
    expectedHostKey,
  );
  const [value, file] = result.outcomes;
  if (value.exitCode !== 0) {
    throw new Error(
      `${label}: there is no sysctl ${inputs.key} on this router (${excerpt(value.stderr, 200)}); a module may be missing, or the kernel lacks it`,
    );
  }
  return {
    current: normalizeSysctlValue(value.stdout),
    file: file.exitCode === 0 ? file.stdout : undefined,
    hostKey: result.hostKey,
  };
}

function outputsOf(inputs: SysctlInputs, view: SysctlView, original: string): SysctlOutputs {
  const label = routerLabel(inputs.connection);
  const drift: string[] = [];
  if (!sameSysctlValue(view.current, inputs.value))
    drift.push(`${label}: ${inputs.key} is ${view.current}, wanted ${inputs.value}`);
  const wanted = sysctlFileContent(inputs.key, inputs.value);
  if (inputs.persist && view.file !== wanted)
    drift.push(`${label}: ${sysctlFile(inputs.key)} ${view.file === undefined ? "is missing" : "differs"}`);
  if (!inputs.persist && view.file !== undefined)
    drift.push(`${label}: ${sysctlFile(inputs.key)} should not be there`);
  return {
    ...inputs,
    current: view.current,
    original,
    persisted: view.file !== undefined,
    hostKey: view.hostKey,
    drift,
  };
}

/** The commands that bring the router to the inputs. */
function convergeCommands(inputs: SysctlInputs, view: SysctlView): RemoteCommand[] {
  const commands: RemoteCommand[] = [];
  if (!sameSysctlValue(view.current, inputs.value)) commands.push(sysctlWrite(inputs.key, inputs.value));
  const wanted = sysctlFileContent(inputs.key, inputs.value);
  if (inputs.persist && view.file !== wanted) commands.push(writeFile(sysctlFile(inputs.key), wanted));
  if (!inputs.persist && view.file !== undefined) commands.push(removeFile(sysctlFile(inputs.key)));
  return commands;
}

function inputsOf(state: SysctlOutputs): SysctlInputs {
  return {
    connection: state.connection,
    key: state.key,
    value: state.value,
    persist: state.persist,
    restoreOnDelete: state.restoreOnDelete,
  };
}

async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.CheckResult> {
  return checkInputs(sysctlSchema(), news, normalize);
}

async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.DiffResult> {
  return diffOnRouter(olds as Partial<SysctlOutputs>, news as unknown as SysctlInputs, {
    inputs: ["connection", "key", "value", "persist", "restoreOnDelete"],
    replaceOn: ["key"],
    // Delete first: the new resource must find the value the old one found, not the one it set.
    deleteBeforeReplace: true,
  });
}

async function create(props: Record<string, unknown>): Promise<pulumi.dynamic.CreateResult> {
  const inputs = props as unknown as SysctlInputs;
  const view = await look(inputs);
  const commands = convergeCommands(inputs, view);
  const after = commands.length > 0 ? await look(inputs, view.hostKey, commands) : view;
  return { id: `${inputs.connection.host}:${inputs.key}`, outs: outputsOf(inputs, after, view.current) };
}

async function read(id: string, props: Record<string, unknown>): Promise<pulumi.dynamic.ReadResult> {
  const state = props as unknown as SysctlOutputs;
  const inputs = inputsOf(state);
  const view = await look(inputs, state.hostKey);
  return {
    id,
    props: outputsOf(inputs, view, state.original) as unknown as Record<string, unknown>,
    inputs: inputs as unknown as Record<string, unknown>,
  };
}

async function update(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.UpdateResult> {
  const state = olds as unknown as SysctlOutputs;
  const inputs = news as unknown as SysctlInputs;
  const view = await look(inputs, state.hostKey);
  const commands = convergeCommands(inputs, view);
  const after = commands.length > 0 ? await look(inputs, state.hostKey, commands) : view;
  return { outs: outputsOf(inputs, after, state.original) };
}

async function deleteSysctl(_id: string, props: Record<string, unknown>): Promise<void> {
  const state = props as unknown as SysctlOutputs;
  const inputs = inputsOf(state);
  const view = await look(inputs, state.hostKey);
  const commands: RemoteCommand[] = [];
  if (inputs.restoreOnDelete && !sameSysctlValue(view.current, state.original))
    commands.push(sysctlWrite(inputs.key, state.original));
  if (view.file !== undefined) commands.push(removeFile(sysctlFile(inputs.key)));
  if (commands.length > 0) await runOnRouter(inputs.connection, commands, { expectedHostKey: state.hostKey });
}

/** The dynamic provider behind {@link Sysctl}. */
export const sysctlProvider: pulumi.dynamic.ResourceProvider = {
  check,
  diff,
  create,
  read,
  update,
  delete: deleteSysctl,
};
