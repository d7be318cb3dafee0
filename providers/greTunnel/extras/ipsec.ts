/**
 * An end's IPsec (`ipsec`): its strongSwan connection and secret files, loaded into charon, and the
 * guard rules that drop GRE to the peer that no IPsec policy covers. Read in the end's round trip:
 * the connection file, the secret file's SHA-256 (never its content), what charon has loaded and
 * its SAs. Bringing the SA up is the pair's business (the lifecycle initiates from one end).
 *
 * @packageDocumentation
 */
import {
  connectionFile,
  connectionLoaded,
  ipsecPaths,
  ipsecReads,
  loadAll,
  STRONGSWAN_SERVICE,
  parseSas,
  secretFile,
  sha256,
  swanctlSaid,
  terminate,
  type IkeSa,
  type IpsecEnd,
} from "../../../commands/ipsec/swanctl";
import {
  guardDrift,
  guardProblem,
  guardReads,
  guardUnit,
  guardUnitContent,
  parseGuard,
  planGuard,
  removeGuard,
  type GuardedEnd,
  type GuardView,
} from "../../../commands/ipsec/guard";
import { enableUnit, unitEnabled } from "../../../commands/firewall/bootClamp";
import {
  bootUnitChanges,
  bootUnitDrift,
  bootUnitReads,
  bootUnitRestore,
  parseBootUnits,
  type BootUnitsView,
  type WantedUnit,
} from "./bootUnits";
import { removeFile, writeFile, writeSecretFile } from "../../../commands/files/bootFile";
import type { TunnelEndSpec } from "../../../commands/iproute2/tunnelCommands";
import type { CommandOutcome, RemoteCommand } from "../../../model/command";
import type { IpFamily } from "../../../model/tunnel";
import type { ExtrasWanted, TunnelEndExtra, WantedIpsec } from "./tunnelEndExtra";

/** What a router has of an end's IPsec. */
export interface IpsecView {
  /** The connection file's content (undefined: not there). */
  connection?: string;
  /** The secret file's SHA-256 and mode (undefined: not there). */
  secret?: { sha256: string; mode: string };
  /** Why swanctl could not reach charon (undefined: it could). */
  charonDown?: string;
  /** Whether charon has our connection loaded. */
  loaded: boolean;
  sas: IkeSa[];
  guard: GuardView;
  /** With persist (now or before): our boot units; and whether strongswan.service starts at boot. */
  boot?: BootUnitsView;
  charonAtBoot?: boolean;
}

/** The IPsec part of an end's outputs. */
export interface IpsecState {
  /**
   * The end's IPsec as found (null: none of ours): the IKE SA's state (null: none), whether GRE is
   * protected (its ESP SA installed), the proposal IKE chose, whether a NAT is on the path (IKE
   * and ESP then run over UDP 4500), and whether its files, charon and guard are as written.
   */
  ipsec: {
    /** The IKE SA's state as charon names it (`ESTABLISHED`, `CONNECTING`, …); null: none. */
    ike: string | null;
    /** Whether GRE is protected: the ESP SA is installed. */
    protected: boolean;
    /** The proposal IKE chose; null before it chose one. */
    proposal: string | null;
    /** Whether a NAT is on the path (IKE and ESP then run over UDP 4500). */
    nat: boolean;
    /** Whether its files, charon and guard are as written. */
    configured: boolean;
    /**
     * With persist: whether it comes back at boot (the guard's unit as written and enabled,
     * strongswan.service enabled); null without persist.
     */
    persisted: boolean | null;
  } | null;
}

/** The end as its files say it, for the tunnel end `spec`. */
function endOf(spec: TunnelEndSpec, ipsec: WantedIpsec): IpsecEnd {
  return {
    name: spec.name,
    local: spec.local,
    remote: spec.remote,
    peerId: ipsec.locals.find((l) => l !== spec.local) ?? spec.remote,
    ike: ipsec.ike,
    esp: ipsec.esp,
  };
}

function guarded(spec: TunnelEndSpec, family: IpFamily): GuardedEnd {
  return { name: spec.name, local: spec.local, remote: spec.remote, family };
}

/** The first line a `sha256sum` printed: the hash. */
const hashOf = (outcome: CommandOutcome | undefined) =>
  outcome?.exitCode === 0 ? outcome.stdout.split(/\s/)[0] : undefined;

/** Whether the files are exactly as wanted (the secret file readable by root only). */
function filesMatch(spec: TunnelEndSpec, ipsec: WantedIpsec, view: IpsecView): boolean {
  const end = endOf(spec, ipsec);
  return (
    view.connection === connectionFile(end) &&
    view.secret?.sha256 === sha256(secretFile(end, ipsec.psk)) &&
    view.secret.mode === "600"
  );
}

/** An established SA of ours with GRE protected. */
export function protectedSa(view: IpsecView): IkeSa | undefined {
  return view.sas.find((sa) => sa.state === "ESTABLISHED" && sa.children.includes("INSTALLED"));
}

/** The guard's boot unit as wanted: with persist and ipsec, for the iptables that holds the guard. */
function unitWanted(spec: TunnelEndSpec, wanted: ExtrasWanted, view: IpsecView): WantedUnit {
  return wanted.persist && wanted.ipsec && view.guard.usable
    ? guardUnitContent(guarded(spec, wanted.ipsec.family), view.guard.usable)
    : undefined;
}

/** What persist asks of charon and the guard's unit, and how it differs. */
function bootDrift(spec: TunnelEndSpec, wanted: ExtrasWanted, view: IpsecView): string[] {
  return [
    ...(view.boot ? bootUnitDrift(guardUnit(spec.name), unitWanted(spec, wanted, view), view.boot) : []),
    ...(wanted.persist && wanted.ipsec && view.charonAtBoot === false
      ? [`${STRONGSWAN_SERVICE} is not enabled at boot (charon would not start)`]
      : []),
  ];
}

/** Removes the end's IPsec: its SA, its files (charon reloaded without them), its guard last. */
function removal(name: string, view: IpsecView): RemoteCommand[] {
  const paths = ipsecPaths(name);
  const files = view.connection !== undefined || view.secret !== undefined;
  return [
    ...(view.sas.length > 0 ? [terminate(name)] : []),
    ...(files ? [removeFile(paths.connection), removeFile(paths.secret)] : []),
    // The key goes from charon's memory too (every other credential is loaded again).
    ...((files || view.loaded) && view.charonDown === undefined ? [loadAll(true)] : []),
    ...removeGuard(view.guard),
    ...(view.boot ? bootUnitChanges(guardUnit(name), undefined, view.boot) : []),
  ];
}

export const ipsec: TunnelEndExtra<IpsecView, IpsecState> = {
  key: "ipsec",

  reads(name, wanted, previous) {
    const ipsec = wanted.ipsec ?? previous?.ipsec;
    if (!ipsec) return {};
    const persisted = (w?: Partial<ExtrasWanted>) => w?.persist === true && w.ipsec !== undefined;
    return {
      ...ipsecReads(name),
      guard: guardReads(ipsec.family),
      ...(persisted(wanted) || persisted(previous) ? bootUnitReads() : {}),
      ...(persisted(wanted) ? { charonBoot: [unitEnabled(STRONGSWAN_SERVICE)] } : {}),
    };
  },

  parse(name, outcomes) {
    const { files, conns, sas, guard } = outcomes;
    if (!files || !conns || !sas || !guard) return undefined;
    const family: IpFamily = guard[0].argv[0].startsWith("ip6") ? "ipv6" : "ipv4";
    const secretHash = hashOf(files[1]);
    return {
      ...(files[0].exitCode === 0 ? { connection: files[0].stdout } : {}),
      ...(secretHash ? { secret: { sha256: secretHash, mode: files[2].stdout.trim() } } : {}),
      ...(conns[0].exitCode === 0
        ? {}
        : { charonDown: swanctlSaid(conns[0]) || `swanctl exited with ${conns[0].exitCode}` }),
      loaded: conns[0].exitCode === 0 && connectionLoaded(name, conns[0].stdout),
      sas: sas[0].exitCode === 0 ? parseSas(name, sas[0].stdout) : [],
      guard: parseGuard(name, family, guard),
      ...(outcomes.boot ? { boot: parseBootUnits(outcomes) } : {}),
      ...(outcomes.charonBoot ? { charonAtBoot: outcomes.charonBoot[0].stdout.trim() === "enabled" } : {}),
    };
  },

  problems(_spec, wanted, view) {
    if (!wanted.ipsec) return [];
    const problems: string[] = [];
    if (view.charonDown !== undefined)
      problems.push(
        /not found|No such file or directory.*swanctl|exited with 127/.test(view.charonDown)
          ? "ipsec: swanctl is not installed (apt-get install strongswan-swanctl charon-systemd)"
          : `ipsec: charon is not running (systemctl start strongswan): ${view.charonDown}`,
      );
    if (view.guard.usable === undefined) problems.push(guardProblem(wanted.ipsec.family));
    return problems;
  },

  // The guard first: a device that comes up sends at once (an IPv6 router solicitation, seen leaving
  // in clear on the lab when the guard came after it).
  before(spec, wanted, view) {
    return wanted.ipsec ? planGuard(guarded(spec, wanted.ipsec.family), view.guard) : [];
  },

  changes(spec, wanted, view) {
    if (!wanted.ipsec) return removal(spec.name, view);
    const end = endOf(spec, wanted.ipsec);
    const paths = ipsecPaths(spec.name);
    const connection = connectionFile(end);
    const secret = secretFile(end, wanted.ipsec.psk);
    const rewrite = [
      ...(view.connection === connection ? [] : [writeFile(paths.connection, connection, "0600")]),
      ...(view.secret?.sha256 === sha256(secret) && view.secret.mode === "600"
        ? []
        : [writeSecretFile(paths.secret, secret)]),
    ];
    return [
      ...rewrite,
      ...(rewrite.length > 0 || !view.loaded ? [loadAll()] : []),
      // An SA up with what the files said before is taken down: the next one is made as they say now.
      ...(rewrite.length > 0 && view.sas.length > 0 ? [terminate(spec.name)] : []),
      ...(view.boot ? bootUnitChanges(guardUnit(spec.name), unitWanted(spec, wanted, view), view.boot) : []),
      ...(wanted.persist && view.charonAtBoot === false ? [enableUnit(STRONGSWAN_SERVICE)] : []),
    ];
  },

  drift(spec, wanted, view) {
    if (!wanted.ipsec) {
      const left = view.connection !== undefined || view.secret !== undefined || view.loaded;
      return [
        ...(left ? ["its IPsec connection is there but not wanted"] : []),
        ...guardDrift(undefined, view.guard),
        ...bootDrift(spec, wanted, view),
      ];
    }
    const end = endOf(spec, wanted.ipsec);
    const paths = ipsecPaths(spec.name);
    const drift: string[] = [];
    if (view.connection === undefined) drift.push(`${paths.connection} is missing`);
    else if (view.connection !== connectionFile(end)) drift.push(`${paths.connection} differs`);
    if (view.secret === undefined) drift.push(`${paths.secret} is missing`);
    else if (view.secret.sha256 !== sha256(secretFile(end, wanted.ipsec.psk)))
      drift.push(`the pre-shared key in ${paths.secret} differs`);
    else if (view.secret.mode !== "600")
      drift.push(`${paths.secret} has mode ${view.secret.mode}, wanted 600`);
    if (view.charonDown !== undefined) drift.push(`charon is not running (${view.charonDown})`);
    else if (!view.loaded) drift.push("its IPsec connection is not loaded in charon");
    else if (!protectedSa(view)) drift.push("its IPsec SA is not up");
    drift.push(...guardDrift(guarded(spec, wanted.ipsec.family), view.guard));
    drift.push(...bootDrift(spec, wanted, view));
    return drift;
  },

  state(spec, wanted, view) {
    if (view === undefined) return { ipsec: null };
    const there = view.connection !== undefined || view.secret !== undefined || view.loaded;
    if (!there && !wanted.ipsec) return { ipsec: null };
    const sa = protectedSa(view) ?? view.sas[0];
    return {
      ipsec: {
        ike: sa?.state ?? null,
        protected: protectedSa(view) !== undefined,
        proposal: sa?.proposal || null,
        nat: sa?.nat ?? false,
        configured:
          wanted.ipsec !== undefined &&
          filesMatch(spec, wanted.ipsec, view) &&
          view.loaded &&
          guardDrift(guarded(spec, wanted.ipsec.family), view.guard).length === 0,
        persisted: wanted.persist && view.boot ? bootDrift(spec, wanted, view).length === 0 : null,
      },
    };
  },

  // The secret file's content was never read: an end that had a key of its own before keeps the
  // one written now (its connection file and guard are put back).
  restore(name, before, now) {
    const paths = ipsecPaths(name);
    if (before.connection === undefined && before.secret === undefined) return removal(name, now);
    const commands: RemoteCommand[] = [];
    if (now.connection !== before.connection)
      commands.push(
        before.connection === undefined
          ? removeFile(paths.connection)
          : writeFile(paths.connection, before.connection, "0600"),
      );
    if (commands.length > 0) commands.push(loadAll(), terminate(name));
    if (before.guard.rules.length === 0) commands.push(...removeGuard(now.guard));
    if (before.boot && now.boot) commands.push(...bootUnitRestore(guardUnit(name), before.boot, now.boot));
    return commands;
  },
};
