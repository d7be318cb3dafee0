/**
 * An end's boot files (`persist`), in the form the router's network stack reads at boot: the
 * systemd-networkd `.netdev` and `.network`, or an ifupdown stanza in interfaces.d, ours by name.
 * Read with every other file of ours on the router in one shared process; refused before anything
 * changes when nothing on the router would read them.
 *
 * @packageDocumentation
 */
import {
  formFound,
  parsePersistedFiles,
  persistChanges,
  persistDrift,
  readPersistedFiles,
  tunnelBootFiles,
  tunnelBootPaths,
  type PersistedFiles,
} from "../../../commands/bootStack/persistedFiles";
import {
  bootStackProblem,
  describeBootStack,
  parseBootStack,
  persistStack,
  readBootStack,
  type BootStack,
  type BootStackFound,
} from "../../../commands/bootStack/bootStack";
import type { TunnelEndSpec } from "../../../commands/iproute2/tunnelCommands";
import type { TunnelEndExtra } from "./tunnelEndExtra";

/** What a router has of an end's boot files. */
export interface BootFilesView {
  files: PersistedFiles;
  /** What brings the network up at boot (undefined: not asked, persist is not wanted). */
  stack?: BootStackFound;
}

/** The boot files' part of an end's outputs. */
export interface BootFilesState {
  /** Whether its boot files are there as written (null: persist is off and none is there). */
  persisted: boolean | null;
}

/**
 * The form an end's files are (to be) in: the stack the router runs, or where that was not read or
 * reads none of ours, the form of the files there.
 */
function formOf(name: string, view: BootFilesView): BootStack {
  return (view.stack && persistStack(view.stack)) ?? formFound(tunnelBootPaths(name), view.files);
}

/** The end's files as `persist` wants them (none without it, in either form). */
function wantedFiles(spec: TunnelEndSpec, persist: boolean, view: BootFilesView) {
  return tunnelBootFiles(spec, persist ? formOf(spec.name, view) : undefined);
}

/** The boot files' drift when nothing on the router would read them at boot (someone disabled it). */
function stackDrift(stack: BootStackFound, name: string): string[] {
  return bootStackProblem(stack, name) === undefined
    ? []
    : [`nothing would read its boot files at boot (${describeBootStack(stack)})`];
}

export const bootFiles: TunnelEndExtra<BootFilesView, BootFilesState> = {
  key: "bootFiles",

  reads(_name, wanted, previous) {
    if (!wanted.persist && previous?.persist !== true) return {};
    return {
      files: [readPersistedFiles()],
      ...(wanted.persist ? { stack: [readBootStack()] } : {}),
    };
  },

  parse(_name, outcomes) {
    if (!outcomes.files) return undefined;
    return {
      files: parsePersistedFiles(outcomes.files[0].stdout),
      ...(outcomes.stack ? { stack: parseBootStack(outcomes.stack[0]) } : {}),
    };
  },

  problems(spec, wanted, view) {
    const problem = wanted.persist && view.stack ? bootStackProblem(view.stack, spec.name) : undefined;
    return problem ? [problem] : [];
  },

  changes(spec, wanted, view, deleting) {
    return persistChanges(wantedFiles(spec, wanted.persist, view), view.files, deleting);
  },

  drift(spec, wanted, view) {
    return [
      ...persistDrift(wantedFiles(spec, wanted.persist, view), view.files),
      ...(wanted.persist && view.stack ? stackDrift(view.stack, spec.name) : []),
    ];
  },

  state(spec, wanted, view) {
    if (view === undefined) return { persisted: null };
    const there = tunnelBootPaths(spec.name).some((path) => view.files.has(path));
    if (!wanted.persist && !there) return { persisted: null };
    const files = wantedFiles(spec, true, view);
    const read = view.stack === undefined || stackDrift(view.stack, spec.name).length === 0;
    return { persisted: read && persistDrift(files, view.files).length === 0 };
  },

  restore(name, before, now, deleting) {
    // Files removed with their device are reread at once, or a running networkd would configure
    // the next device of that name (anyone's) from the files it still holds in memory.
    return persistChanges(
      tunnelBootPaths(name).map((path) => ({ path, content: before.files.get(path) })),
      now.files,
      deleting,
    );
  },
};
