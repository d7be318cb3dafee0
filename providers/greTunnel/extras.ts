/**
 * What a tunnel end may own besides its device: the systemd-networkd files that bring it back at
 * boot (`persist`) and the firewall rule that clamps TCP's MSS (`tcpMss`). What to read for them
 * (only what the inputs or the state mention, so a plain tunnel's refresh costs nothing more), what
 * to change, the drift, the outputs, and how to put them back. Pure: no SSH here.
 *
 * @packageDocumentation
 */
import {
  clampDrift,
  effectiveMss,
  firewallReads,
  parseFirewall,
  planClamp,
  type Firewall,
  type FirewallView,
} from "../../commands/firewall/mssClamp";
import { type TcpMss } from "../../model/tunnel";
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
} from "../../commands/networkd/networkd";
import type { TunnelEndSpec } from "../../commands/iproute2/tunnelCommands";
import type { CommandOutcome, RemoteCommand } from "../../model/command";

/** What the inputs ask of an end besides the tunnel itself. */
export interface ExtrasWanted {
  persist: boolean;
  tcpMss?: TcpMss;
}

/** Which extras to read on a router. */
export interface ExtrasReads {
  files: boolean;
  networkd: boolean;
  firewall: boolean;
}

/** What a router has of an end's extras (what was not read is undefined). */
export interface ExtrasView {
  files?: PersistedFiles;
  /** Whether systemd-networkd is installed. */
  networkd?: boolean;
  firewall?: FirewallView;
}

/** The extras as a tunnel end's outputs record them. */
export interface ExtrasState {
  /** Whether both boot files are there as written (null: persist is off and none is there). */
  persisted: boolean | null;
  /** The clamp found: where, what it sets, and the MSS it gives (null: no rule of ours). */
  tcpMss: { firewall: Firewall; setting: TcpMss | "other"; mss: number | null } | null;
}

/** What to read: what the inputs want, and what the state says there is (to remove it). */
export function extrasToRead(wanted: ExtrasWanted, previous?: Partial<ExtrasWanted>): ExtrasReads {
  return {
    files: wanted.persist || previous?.persist === true,
    networkd: wanted.persist,
    firewall: wanted.tcpMss !== undefined || (previous?.tcpMss !== undefined && previous.tcpMss !== null),
  };
}

/** The read commands (each shared with the other tunnels of the router). */
export function extrasReads(reads: ExtrasReads): RemoteCommand[] {
  return [
    ...(reads.files ? [readPersistedFiles()] : []),
    ...(reads.networkd ? [networkdInstalled()] : []),
    ...(reads.firewall ? firewallReads() : []),
  ];
}

/** Parses {@link extrasReads}'s outcomes for tunnel `name`. */
export function parseExtras(name: string, reads: ExtrasReads, outcomes: CommandOutcome[]): ExtrasView {
  const rest = [...outcomes];
  const view: ExtrasView = {};
  if (reads.files) view.files = parsePersistedFiles(rest.shift()!.stdout);
  if (reads.networkd) view.networkd = rest.shift()!.exitCode === 0;
  if (reads.firewall) view.firewall = parseFirewall(name, rest.splice(0, firewallReads().length));
  return view;
}

/** The boot files of an end, with the content `persist` asks for (undefined: not there). */
export function wantedFiles(spec: TunnelEndSpec, persist: boolean): WantedFile[] {
  const paths = tunnelFiles(spec.name);
  return [
    { path: paths.netdev, content: persist ? netdevContent(spec) : undefined },
    { path: paths.network, content: persist ? networkContent(spec) : undefined },
  ];
}

/** Why the router cannot hold what is wanted (for preflight, before anything changes). */
export function extrasProblems(spec: TunnelEndSpec, wanted: ExtrasWanted, view: ExtrasView): string[] {
  const problems: string[] = [];
  if (wanted.persist && view.networkd === false) {
    problems.push(
      `persist: systemd-networkd is not installed, so nothing would bring ${spec.name} back at boot ` +
        "(install systemd and enable systemd-networkd, or set persist: false)",
    );
  }
  if (wanted.tcpMss !== undefined && view.firewall && !view.firewall.usable) {
    problems.push(
      "tcpMss: no firewall here can hold the clamp (nftables cannot use this kernel's ip family and no iptables works); " +
        "install nftables or iptables",
    );
  }
  return problems;
}

/** The changes that give the end what is wanted (`deleting`: after its device was removed). */
export function extrasChanges(
  spec: TunnelEndSpec,
  wanted: ExtrasWanted,
  view: ExtrasView,
  deleting = false,
): RemoteCommand[] {
  return [
    ...(view.files ? persistChanges(wantedFiles(spec, wanted.persist), view.files, deleting) : []),
    ...(view.firewall ? planClamp(spec.name, wanted.tcpMss, view.firewall) : []),
  ];
}

/** How the extras differ from what is wanted, as short phrases. */
export function extrasDrift(spec: TunnelEndSpec, wanted: ExtrasWanted, view: ExtrasView): string[] {
  return [
    ...(view.files ? persistDrift(wantedFiles(spec, wanted.persist), view.files) : []),
    ...(view.firewall ? clampDrift(spec.name, wanted.tcpMss, view.firewall) : []),
  ];
}

/** The extras' outputs: what is there, and the MSS the clamp gives through a device of MTU `mtu`. */
export function extrasState(
  spec: TunnelEndSpec,
  wanted: ExtrasWanted,
  view: ExtrasView,
  mtu: number | undefined,
): ExtrasState {
  const files = wantedFiles(spec, true);
  const there = view.files ? files.filter((f) => view.files!.get(f.path) !== undefined).length : 0;
  const rule = view.firewall?.rules[0];
  return {
    persisted:
      view.files === undefined || (!wanted.persist && there === 0)
        ? null
        : persistDrift(wantedFiles(spec, true), view.files).length === 0,
    tcpMss: rule
      ? {
          firewall: rule.firewall,
          setting: rule.setting,
          mss: rule.setting === "other" ? null : effectiveMss(rule.setting, mtu),
        }
      : null,
  };
}

/** The changes that put the extras back as they were (`before`), from how they are (`now`). */
export function extrasRestore(name: string, before: ExtrasView, now: ExtrasView): RemoteCommand[] {
  const commands: RemoteCommand[] = [];
  if (before.files && now.files) {
    const paths = tunnelFiles(name);
    commands.push(
      ...persistChanges(
        [paths.netdev, paths.network].map((path) => ({ path, content: before.files!.get(path) })),
        now.files,
      ),
    );
  }
  if (before.firewall && now.firewall) {
    const was = before.firewall.rules.length === 1 ? before.firewall.rules[0].setting : undefined;
    commands.push(...planClamp(name, was === "other" ? undefined : was, now.firewall));
  }
  return commands;
}
