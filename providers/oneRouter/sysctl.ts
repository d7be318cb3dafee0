/**
 * Sysctl's lifecycle: a kernel parameter such as `net.ipv4.ip_forward=1`, set, read back for drift
 * (a reboot loses it), optionally persisted under /etc/sysctl.d, and on delete restored to the
 * value found at create.
 *
 * @packageDocumentation
 */
import { z } from "zod";
import {
  bootFileChanges,
  bootFileDrift,
  readFileCommand,
  removeFile,
  type BootFile,
} from "../../commands/files/bootFile";
import {
  normalizeSysctlValue,
  sameSysctlValue,
  legacySysctlFile,
  setsKey,
  sysctlFile,
  sysctlFileContent,
  sysctlRead,
  sysctlWrite,
} from "../../commands/sysctl/sysctl";
import { readMarker, removeMarker, sysctlMarker, writeMarker } from "../../commands/files/ownership";
import { connectionSchema } from "../../schemas/connection";
import { SYSCTL_KEY, sysctlKey, sysctlValue } from "../../schemas/names";
import { routerLabel } from "../../transport/connection";
import { excerpt } from "../../transport/errors";
import { oneRouterProvider, type RouterStateFields } from "./shape";
import { SYSCTL_DEFAULTS, type SysctlDeclaration, type SysctlInputs } from "../../model/routerResources";

/** What the router has, as Sysctl's outputs record it. */
export interface SysctlOutputs extends SysctlInputs, RouterStateFields {
  /** The value now. */
  current: string;
  /** The value found at create, restored on delete. */
  original: string;
  persisted: boolean;
}

/** Builds Sysctl's input schema. */
export function sysctlSchema() {
  return (
    z
      .object({
        connection: connectionSchema(),
        key: sysctlKey(),
        value: sysctlValue(),
        persist: z.boolean().optional(),
        restoreOnDelete: z.boolean().optional(),
        allowAnyKey: z.boolean().optional(),
      })
      .strict()
      // (A key that is no sysctl name at all is refused as such, once.)
      .refine((d) => d.allowAnyKey === true || !SYSCTL_KEY.test(d.key) || d.key.startsWith("net."), {
        message:
          "is outside net.*, which is all a router's tunnels and routing need; a key such as kernel.core_pattern " +
          "or kernel.modprobe changes what the kernel runs as root: set allowAnyKey: true to set it anyway",
        path: ["key"],
      })
  );
}

/** The parameter's value now, and its boot file. */
interface SysctlView {
  current: string;
  file: string | undefined;
  /** The value pulumi-gre found before it first set this one, when its marker is there. */
  original: string | undefined;
  /** This key's file where 0.3 and earlier wrote it ({@link legacySysctlFile}), to be moved. */
  legacy: string | undefined;
}

/** The boot file `persist` asks for: /etc/sysctl.d/90-pulumi-gre-KEY.conf. */
function bootFile(inputs: SysctlInputs): BootFile {
  return {
    path: sysctlFile(inputs.key),
    content: sysctlFileContent(inputs.key, inputs.value),
    persist: inputs.persist,
  };
}

/** The boot file as the router has it: ours, or this key's where 0.3 wrote it (until it is moved). */
function bootFileNow(now: SysctlView): string | undefined {
  return now.file ?? now.legacy;
}

/** Removes this key's file where 0.3 wrote it (the current one is written in its place, as wanted). */
function moveLegacy(key: string, now: SysctlView) {
  const legacy = legacySysctlFile(key);
  return legacy && now.legacy !== undefined ? [removeFile(legacy)] : [];
}

/** The dynamic provider behind {@link Sysctl}. */
export const sysctlProvider = oneRouterProvider<SysctlInputs, SysctlView, SysctlOutputs>({
  kind: "Sysctl",
  subject: (inputs) => inputs.key,
  schema: sysctlSchema,
  normalize: (data: SysctlDeclaration) => ({
    connection: data.connection,
    key: data.key,
    value: normalizeSysctlValue(String(data.value)),
    persist: data.persist ?? SYSCTL_DEFAULTS.persist,
    restoreOnDelete: data.restoreOnDelete ?? SYSCTL_DEFAULTS.restoreOnDelete,
    ...(data.allowAnyKey === true ? { allowAnyKey: true as const } : {}),
  }),
  inputKeys: ["connection", "key", "value", "persist", "restoreOnDelete", "allowAnyKey"],
  replaceOn: ["key"],
  // Delete first: the new resource must find the value the old one found, not the one it set.
  deleteBeforeReplace: true,
  id: (inputs) => `${inputs.connection.host}:${inputs.key}`,

  // sysctl -n KEY, and the boot file.
  reads: (inputs) => {
    const legacy = legacySysctlFile(inputs.key);
    return [
      sysctlRead(inputs.key),
      readFileCommand(sysctlFile(inputs.key)),
      readMarker(sysctlMarker(inputs.key)),
      ...(legacy ? [readFileCommand(legacy)] : []),
    ];
  },
  parse(inputs, [value, file, marker, legacy], router) {
    if (value.exitCode !== 0) {
      throw new Error(
        `${router}: there is no sysctl ${inputs.key} on this router (${excerpt(value.stderr, 200)}); a module may be missing, or the kernel lacks it`,
      );
    }
    return {
      current: normalizeSysctlValue(value.stdout),
      file: file.exitCode === 0 ? file.stdout : undefined,
      original: marker.exitCode === 0 ? normalizeSysctlValue(marker.stdout) : undefined,
      legacy: legacy?.exitCode === 0 && setsKey(legacy.stdout, inputs.key) ? legacy.stdout : undefined,
    };
  },

  // sysctl -w KEY=VALUE when it differs — remembering on the router, first, the value found — and
  // the boot file as `persist` says.
  plan: (inputs, now) => [
    ...(sameSysctlValue(now.current, inputs.value)
      ? []
      : [
          ...(now.original === undefined ? writeMarker(sysctlMarker(inputs.key), `${now.current}\n`) : []),
          sysctlWrite(inputs.key, inputs.value),
        ]),
    ...bootFileChanges(bootFile(inputs), now.file),
    ...moveLegacy(inputs.key, now),
  ],

  // The value the router has; persist: whether the boot file is there as written.
  observedInputs: (inputs, now) => ({
    ...inputs,
    value: now.current,
    persist: bootFileNow(now) === bootFile(inputs).content,
  }),

  // The marker written ahead of sysctl -w goes when the write fails: nothing was set.
  undoFailed: (inputs, before) =>
    before.original === undefined ? [removeMarker(sysctlMarker(inputs.key))] : [],

  outputs(inputs, now, { previous, before }, keys) {
    const drift = [
      ...(sameSysctlValue(now.current, inputs.value)
        ? []
        : [`${inputs.key} is ${now.current}, wanted ${inputs.value}`]),
      ...bootFileDrift(bootFile(inputs), bootFileNow(now)),
    ].map((d) => `${routerLabel(inputs.connection)}: ${d}`);
    return {
      ...inputs,
      ...keys,
      current: now.current,
      // A run killed after setting the value left the one it found on the router.
      original: previous?.original ?? before.original ?? before.current,
      persisted: bootFileNow(now) !== undefined,
      drift,
    };
  },

  // The value found at create goes back (unless told not to), and the boot file goes.
  // A create a killed run left under way has no state of its own: the router's marker says what
  // the value was.
  planDelete: (state, now) => {
    const original = state.original ?? now.original;
    return {
      changes: [
        ...(state.restoreOnDelete && original !== undefined && !sameSysctlValue(now.current, original)
          ? [sysctlWrite(state.key, original)]
          : []),
        ...(now.file !== undefined ? [removeFile(sysctlFile(state.key))] : []),
        ...moveLegacy(state.key, now),
        ...(now.original !== undefined ? [removeMarker(sysctlMarker(state.key))] : []),
      ],
      notices: [],
    };
  },
});
