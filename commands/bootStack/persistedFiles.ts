/**
 * The boot files of tunnels and routes, in the form the router's network stack reads at boot:
 * systemd-networkd files under /etc/systemd/network, NetworkManager keyfiles and dispatcher scripts
 * under /etc/NetworkManager, or ifupdown stanzas under /etc/network/interfaces.d (and the MSS
 * clamp's units under /etc/systemd/system). Every file of ours, of every form, is read in one
 * process; a resource wants its files in the router's form and none in the others (so a router
 * moved from one stack to another is converged by the next `up`). Pure: commands, parsing, plans
 * and drift.
 *
 * @packageDocumentation
 */
import type { RemoteCommand } from "../../model/command";
import type { TunnelEndSpec } from "../iproute2/tunnelCommands";
import type { RouteSpec } from "../iproute2/route";
import { removeFile, writeFile } from "../files/bootFile";
import {
  NETWORKD_DIR,
  OURS,
  netdevContent,
  networkContent,
  reloadNetworkd,
  routeContent,
  routeFile,
  tunnelFiles,
  type PersistedRoute,
} from "../networkd/networkd";
import {
  IFUPDOWN_DIR,
  routeStanza,
  routeStanzaFile,
  tunnelStanza,
  tunnelStanzaFile,
} from "../ifupdown/ifupdown";
import {
  NM_CONNECTIONS_DIR,
  NM_DISPATCHER_DIR,
  loadKeyfiles,
  networkManagerMode,
  routeDispatcher,
  routeDispatcherFile,
  tunnelDispatcher,
  tunnelDispatcherFile,
  tunnelKeyfile,
  tunnelKeyfileContent,
} from "../networkManager/networkManager";
import { UNIT_DIR } from "../firewall/bootClamp";
import type { BootStack } from "./bootStack";

/** The folders boot files of ours live in (systemd units: the MSS clamp's). */
const FOLDERS = [NETWORKD_DIR, NM_CONNECTIONS_DIR, NM_DISPATCHER_DIR, IFUPDOWN_DIR, UNIT_DIR];

/**
 * Reads every file of ours in these folders in one process, whichever resource asks (so the reads of
 * all tunnels and routes of a router share it): `grep` prints each line as `PATH:LINE`. Exit 1
 * means none; 2, that a folder is not there (the other's lines are still printed).
 */
export function readPersistedFiles(): RemoteCommand {
  return { argv: ["grep", "-r", "-H", `--include=*${OURS}*`, "", ...FOLDERS], mayFail: true };
}

/** What {@link readPersistedFiles} found: each file of ours and its content. */
export type PersistedFiles = Map<string, string>;

/** Parses {@link readPersistedFiles}'s output (each of our files ends with a newline). */
export function parsePersistedFiles(stdout: string): PersistedFiles {
  const files: PersistedFiles = new Map();
  for (const line of stdout.split("\n")) {
    if (!FOLDERS.some((folder) => line.startsWith(`${folder}/`))) continue;
    // Our paths hold no ':'; the first one ends the path.
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const path = line.slice(0, colon);
    files.set(path, (files.get(path) ?? "") + line.slice(colon + 1) + "\n");
  }
  return files;
}

/** A drop-in folder of ours (`….network.d`): made for its first file, removed with its last. */
function dropInFolder(path: string): string | undefined {
  const folder = path.slice(0, path.lastIndexOf("/"));
  return folder.endsWith(".network.d") ? folder : undefined;
}

/** Writes a boot file (with the mode its reader wants, if it wants one), making its drop-in folder first. */
export function writePersistedFile(path: string, content: string): RemoteCommand[] {
  const folder = dropInFolder(path);
  return [
    ...(folder ? [{ argv: ["mkdir", "-p", "--", folder] }] : []),
    writeFile(path, content, networkManagerMode(path)),
  ];
}

/** Removes a boot file of ours, and its drop-in folder when that is left empty. */
export function removePersistedFile(path: string): RemoteCommand[] {
  const folder = dropInFolder(path);
  return [
    removeFile(path),
    ...(folder ? [{ argv: ["rmdir", "--ignore-fail-on-non-empty", "--", folder], mayFail: true }] : []),
  ];
}

/** A file as a resource wants it: its path, and its content (undefined: it must not be there). */
export interface WantedFile {
  path: string;
  content: string | undefined;
}

/** Whether a path is a NetworkManager keyfile (which NetworkManager reads when told to). */
function isKeyfile(path: string): boolean {
  return path.startsWith(`${NM_CONNECTIONS_DIR}/`);
}

/**
 * The changes that make the router's files (as read) what is wanted, and networkd and
 * NetworkManager reread their own.
 *
 * A networkd file written is reread at once. One removed is reread only when its device or route is
 * removed too (`deleting`): a running networkd takes the addresses it configured off a link whose
 * `.network` it no longer finds, so turning persist off leaves it the old files in memory, which
 * match the kernel, until the next boot or delete. Keyfiles likewise: NetworkManager deletes the
 * device of a profile it forgets. ifupdown's stanzas and the dispatcher's scripts are read when used.
 */
export function persistChanges(
  wanted: WantedFile[],
  files: PersistedFiles,
  deleting = false,
): RemoteCommand[] {
  let written = false;
  let removed = false;
  const keyfiles: string[] = [];
  const changes = wanted.flatMap((file) => {
    const current = files.get(file.path);
    const networkd = file.path.startsWith(`${NETWORKD_DIR}/`);
    if (file.content !== undefined && current !== file.content) {
      written ||= networkd;
      if (isKeyfile(file.path)) keyfiles.push(file.path);
      return writePersistedFile(file.path, file.content);
    }
    if (file.content === undefined && current !== undefined) {
      removed ||= networkd;
      if (isKeyfile(file.path) && deleting) keyfiles.push(file.path);
      return removePersistedFile(file.path);
    }
    return [];
  });
  return [
    ...changes,
    ...(written || (removed && deleting) ? [reloadNetworkd()] : []),
    ...(keyfiles.length > 0 ? [loadKeyfiles(keyfiles)] : []),
  ];
}

/** How the router's files differ from what is wanted, as short phrases; empty when they match. */
export function persistDrift(wanted: WantedFile[], files: PersistedFiles): string[] {
  return wanted.flatMap((file) => {
    const current = files.get(file.path);
    if (file.content !== undefined && current === undefined) return [`${file.path} is missing`];
    if (file.content !== undefined && current !== file.content) return [`${file.path} was changed`];
    if (file.content === undefined && current !== undefined) return [`${file.path} should not be there`];
    return [];
  });
}

/** Each form's files of one thing, with their content. */
type Forms = Record<BootStack, Array<{ path: string; content: () => string }>>;

/** The files of `forms` with content in the form of `stack` only (none when `stack` is undefined). */
function wantedIn(forms: Forms, stack: BootStack | undefined): WantedFile[] {
  return (Object.keys(forms) as BootStack[]).flatMap((form) =>
    forms[form].map((f) => ({ path: f.path, content: form === stack ? f.content() : undefined })),
  );
}

/** A tunnel end's boot files: in the form `stack` reads (undefined: none wanted, in either form). */
export function tunnelBootFiles(spec: TunnelEndSpec, stack: BootStack | undefined): WantedFile[] {
  const networkd = tunnelFiles(spec.name);
  return wantedIn(
    {
      "systemd-networkd": [
        { path: networkd.netdev, content: () => netdevContent(spec) },
        { path: networkd.network, content: () => networkContent(spec) },
      ],
      NetworkManager: [
        { path: tunnelKeyfile(spec.name), content: () => tunnelKeyfileContent(spec) },
        { path: tunnelDispatcherFile(spec.name), content: () => tunnelDispatcher(spec) },
      ],
      ifupdown: [{ path: tunnelStanzaFile(spec.name), content: () => tunnelStanza(spec) }],
    },
    stack,
  );
}

/** The paths of a tunnel end's boot files, in every form. */
export function tunnelBootPaths(name: string): string[] {
  const networkd = tunnelFiles(name);
  return [
    networkd.netdev,
    networkd.network,
    tunnelKeyfile(name),
    tunnelDispatcherFile(name),
    tunnelStanzaFile(name),
  ];
}

/** A route's boot file: in the form `stack` reads (undefined: none wanted, in either form). */
export function routeBootFiles(route: PersistedRoute, stack: BootStack | undefined): WantedFile[] {
  const spec: RouteSpec & { device: string } = {
    destination: route.destination,
    device: route.device,
    metric: route.metric,
    table: route.table,
    ...(route.gateway === undefined ? {} : { gateway: route.gateway }),
    ...(route.source === undefined ? {} : { source: route.source }),
  };
  return wantedIn(
    {
      "systemd-networkd": [{ path: routeFile(route), content: () => routeContent(route) }],
      NetworkManager: [{ path: routeDispatcherFile(spec), content: () => routeDispatcher(spec) }],
      ifupdown: [{ path: routeStanzaFile(spec), content: () => routeStanza(spec) }],
    },
    stack,
  );
}

/** The file a route's tunnel must have for the route's file to be read with it, in `stack`'s form. */
export function deviceBootFile(device: string, stack: BootStack): string {
  if (stack === "ifupdown") return tunnelStanzaFile(device);
  if (stack === "NetworkManager") return tunnelDispatcherFile(device);
  return tunnelFiles(device).network;
}

/**
 * The form the files of ours in `paths` are in, for a router whose stack was not read (persist is
 * off): ifupdown or NetworkManager when one of theirs is there, else systemd-networkd.
 */
export function formFound(paths: string[], files: PersistedFiles): BootStack {
  const there = (folder: string) => paths.some((p) => p.startsWith(`${folder}/`) && files.has(p));
  if (there(IFUPDOWN_DIR)) return "ifupdown";
  if (there(NM_CONNECTIONS_DIR) || there(NM_DISPATCHER_DIR)) return "NetworkManager";
  return "systemd-networkd";
}
