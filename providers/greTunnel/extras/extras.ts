/**
 * Every extra a tunnel end may own, and GreTunnel's steps over all of them at once: what to read,
 * what was found, what stops a change, the changes, the drift, the outputs and the undo. Each
 * extra's reads travel under `KEY.NAME`, so an end's round trip can carry the device listing,
 * every extra and a health probe, and each gets back only its own outcomes. Pure.
 *
 * @packageDocumentation
 */
import { innerFamily } from "../../../schemas/tunnelRules";
import { underlayFamily, type TunnelMode } from "../../../model/tunnel";
import type { NormalizedGreTunnel } from "../../../model/greTunnel";
import type { RemoteCommand } from "../../../model/command";
import type { TunnelEndSpec } from "../../../commands/iproute2/tunnelCommands";
import type { GroupOutcomes, ReadGroups } from "../../keyedReads";
import { bootFiles, type BootFilesState } from "./bootFiles";
import { mssClamp, type MssClampState } from "./mssClamp";
import { ipsec, type IpsecState } from "./ipsec";
import type { ExtrasWanted, TunnelEndExtra } from "./tunnelEndExtra";

export type { ExtrasWanted };

/** The extras, in the order their changes apply (boot files, the clamp, then IPsec). */
const EXTRAS = { bootFiles, mssClamp, ipsec };
type Extras = typeof EXTRAS;
/** An extra's name. */
export type ExtraKey = keyof Extras;
type ViewOf<E> = E extends TunnelEndExtra<infer V, object> ? V : never;

/** What a router has of an end's extras, by extra (what was not read is absent). */
export type ExtrasView = { [K in ExtraKey]?: ViewOf<Extras[K]> };

/** The extras as a tunnel end's outputs record them. */
export type ExtrasState = BootFilesState & MssClampState & IpsecState;

/** Calls `step` for each extra with what was found of it (skipped when it was not read). */
function eachRead<T>(
  view: ExtrasView,
  step: (extra: TunnelEndExtra<unknown, object>, found: unknown) => T[],
): T[] {
  return (Object.keys(EXTRAS) as ExtraKey[]).flatMap((key) =>
    view[key] === undefined ? [] : step(EXTRAS[key] as TunnelEndExtra<unknown, object>, view[key]),
  );
}

/** What the inputs (or a state) ask of the ends besides the tunnel. */
export function wantedExtras(t: {
  mode?: TunnelMode;
  persist?: boolean;
  tcpMss?: ExtrasWanted["tcpMss"] | null;
  ipsec?: NormalizedGreTunnel["ipsec"] | null;
  endpoints?: ReadonlyArray<{ address?: string; peerAddress?: string; local?: string }>;
}): ExtrasWanted {
  const [a, b] = t.endpoints ?? [];
  return {
    persist: t.persist ?? false,
    tcpMss: t.tcpMss ?? undefined,
    ...(innerFamily(t.endpoints ?? []) === "ipv6" ? { ipv6: true } : {}),
    ...(t.ipsec && a?.local && b?.local
      ? {
          ipsec: {
            family: underlayFamily(t.mode ?? "gre"),
            psk: t.ipsec.psk,
            ike: t.ipsec.proposals,
            esp: t.ipsec.espProposals,
            locals: [a.local, b.local] as const,
          },
        }
      : {}),
  };
}

/**
 * The reads of the end whose interface is `name`, by group: what the inputs want, and what the
 * state says there is (to remove it).
 */
export function extrasToRead(
  name: string,
  wanted: ExtrasWanted,
  previous?: Partial<ExtrasWanted>,
): ReadGroups {
  const groups: ReadGroups = {};
  for (const extra of Object.values(EXTRAS)) {
    for (const [group, commands] of Object.entries(extra.reads(name, wanted, previous)))
      if (commands !== undefined) groups[`${extra.key}.${group}`] = commands;
  }
  return groups;
}

/** What the router has of each extra, from a round trip's outcomes (other groups are ignored). */
export function parseExtras(name: string, outcomes: GroupOutcomes): ExtrasView {
  const view: Record<string, unknown> = {};
  for (const extra of Object.values(EXTRAS)) {
    const own = Object.fromEntries(
      Object.entries(outcomes)
        .filter(([group]) => group.startsWith(`${extra.key}.`))
        .map(([group, found]) => [group.slice(extra.key.length + 1), found]),
    );
    const found = (extra as TunnelEndExtra<unknown, object>).parse(name, own);
    if (found !== undefined) view[extra.key] = found;
  }
  return view as ExtrasView;
}

/** Why the router cannot hold what is wanted (for preflight, before anything changes). */
export function extrasProblems(spec: TunnelEndSpec, wanted: ExtrasWanted, view: ExtrasView): string[] {
  return eachRead(view, (extra, found) => extra.problems(spec, wanted, found));
}

/** The changes that must come before the device's (the IPsec guard: the device sends once it is up). */
export function extrasBefore(spec: TunnelEndSpec, wanted: ExtrasWanted, view: ExtrasView): RemoteCommand[] {
  return eachRead(view, (extra, found) => extra.before?.(spec, wanted, found) ?? []);
}

/** The changes that give the end what is wanted (`deleting`: after its device was removed). */
export function extrasChanges(
  spec: TunnelEndSpec,
  wanted: ExtrasWanted,
  view: ExtrasView,
  deleting = false,
): RemoteCommand[] {
  return eachRead(view, (extra, found) => extra.changes(spec, wanted, found, deleting));
}

/** How the extras differ from what is wanted, as short phrases. */
export function extrasDrift(spec: TunnelEndSpec, wanted: ExtrasWanted, view: ExtrasView): string[] {
  return eachRead(view, (extra, found) => extra.drift(spec, wanted, found));
}

/** The extras' outputs: what is there, and the MSS the clamp gives through a device of MTU `mtu`. */
export function extrasState(
  spec: TunnelEndSpec,
  wanted: ExtrasWanted,
  view: ExtrasView,
  mtu: number | undefined,
): ExtrasState {
  return Object.assign(
    {},
    ...(Object.keys(EXTRAS) as ExtraKey[]).map((key) =>
      (EXTRAS[key] as TunnelEndExtra<unknown, object>).state(spec, wanted, view[key], mtu),
    ),
  ) as ExtrasState;
}

/**
 * The changes that put the extras back as they were (`before`), from how they are (`now`);
 * `deleting`: the device is removed too (it was not there before).
 */
export function extrasRestore(
  name: string,
  before: ExtrasView,
  now: ExtrasView,
  deleting: boolean,
): RemoteCommand[] {
  return eachRead(before, (extra, was) =>
    now[extra.key as ExtraKey] === undefined
      ? []
      : extra.restore(name, was, now[extra.key as ExtraKey], deleting),
  );
}
