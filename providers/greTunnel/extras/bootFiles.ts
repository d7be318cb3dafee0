/**
 * An end's boot files (`persist`): the systemd-networkd `.netdev` and `.network` that bring the
 * tunnel back at boot, ours by name. Read with every other file of ours on the router in one
 * shared process; refused before anything changes when nothing on the router would read them.
 *
 * @packageDocumentation
 */
import {
  netdevContent,
  networkContent,
  networkdInstalled,
  parsePersistedFiles,
  persistChanges,
  persistDrift,
  readPersistedFiles,
  tunnelFiles,
  type PersistedFiles,
  type WantedFile,
} from "../../../commands/networkd/networkd";
import type { TunnelEndSpec } from "../../../commands/iproute2/tunnelCommands";
import type { TunnelEndExtra } from "./tunnelEndExtra";

/** What a router has of an end's boot files. */
export interface BootFilesView {
  files: PersistedFiles;
  /** Whether systemd-networkd is installed (undefined: not asked, persist is not wanted). */
  networkd?: boolean;
}

/** The boot files' part of an end's outputs. */
export interface BootFilesState {
  /** Whether both boot files are there as written (null: persist is off and none is there). */
  persisted: boolean | null;
}

/** The boot files of an end, with the content `persist` asks for (undefined: not there). */
export function wantedFiles(spec: TunnelEndSpec, persist: boolean): WantedFile[] {
  const paths = tunnelFiles(spec.name);
  return [
    { path: paths.netdev, content: persist ? netdevContent(spec) : undefined },
    { path: paths.network, content: persist ? networkContent(spec) : undefined },
  ];
}

export const bootFiles: TunnelEndExtra<BootFilesView, BootFilesState> = {
  key: "bootFiles",

  reads(wanted, previous) {
    if (!wanted.persist && previous?.persist !== true) return {};
    return {
      files: [readPersistedFiles()],
      ...(wanted.persist ? { networkd: [networkdInstalled()] } : {}),
    };
  },

  parse(_name, outcomes) {
    if (!outcomes.files) return undefined;
    return {
      files: parsePersistedFiles(outcomes.files[0].stdout),
      ...(outcomes.networkd ? { networkd: outcomes.networkd[0].exitCode === 0 } : {}),
    };
  },

  problems(spec, wanted, view) {
    return wanted.persist && view.networkd === false
      ? [
          `persist: systemd-networkd is not installed, so nothing would bring ${spec.name} back at boot ` +
            "(install systemd and enable systemd-networkd, or set persist: false)",
        ]
      : [];
  },

  changes(spec, wanted, view, deleting) {
    return persistChanges(wantedFiles(spec, wanted.persist), view.files, deleting);
  },

  drift(spec, wanted, view) {
    return persistDrift(wantedFiles(spec, wanted.persist), view.files);
  },

  state(spec, wanted, view) {
    if (view === undefined) return { persisted: null };
    const files = wantedFiles(spec, true);
    const there = files.filter((f) => view.files.get(f.path) !== undefined).length;
    return {
      persisted: !wanted.persist && there === 0 ? null : persistDrift(files, view.files).length === 0,
    };
  },

  restore(name, before, now, deleting) {
    const paths = tunnelFiles(name);
    // Files removed with their device are reread at once, or a running networkd would configure
    // the next device of that name (anyone's) from the files it still holds in memory.
    return persistChanges(
      [paths.netdev, paths.network].map((path) => ({ path, content: before.files.get(path) })),
      now.files,
      deleting,
    );
  },
};
