/**
 * Both ends of a tunnel at once: reading both routers in one round trip each, the host keys to
 * expect of them and the ones they presented, and taking one end back to how it was.
 *
 * @packageDocumentation
 */
import { planRestore, type ObservedEnd } from "../../commands/iproute2/planTunnel";
import { extrasRestore, parseExtras, type ExtrasView } from "./extras/extras";
import type { Connection } from "../../model/connection";
import type { ReadGroups } from "../keyedReads";
import { changeThenRead } from "../applyOnRouter";
import { endKeys, type GreTunnelOutputs } from "./spec";
import { type NormalizedGreTunnel } from "../../model/greTunnel";
import { recordedKeys, type RecordedHostKeys } from "../hostKeys";
import { observeRouter, type RouterView } from "../observeRouter";
import { both, undoBoth, undoneReport } from "../pairOperation";
import { endLabels, endName } from "./spec";

/** One value per end of a tunnel. */
export type Pair<T> = [T, T];

/** Both routers, read at once (each with its `extras` reads, by name, in the same round trip). */
export function observeBoth(
  t: Pick<NormalizedGreTunnel, "endpoints">,
  recorded: Pair<RecordedHostKeys>,
  extras: Pair<ReadGroups> = [{}, {}],
): Promise<Pair<RouterView>> {
  return Promise.all(
    both((i) => observeRouter<string>(t.endpoints[i].connection, recorded[i], extras[i])),
  ) as Promise<Pair<RouterView>>;
}

/** The keys a state recorded, per end, to expect. */
export function recordedPair(t: Partial<GreTunnelOutputs> | undefined): Pair<RecordedHostKeys> {
  return both((i) => recordedKeys(endKeys(t, i)));
}

/** What each router presented in a view, to record or to expect next. */
export function seenPair(views: Pair<RouterView>): Pair<RecordedHostKeys & { hostKey: string }> {
  return both((i) => ({ hostKey: views[i].hostKey, jumpHostKey: views[i].jumpHostKey }));
}

/** An end as it was before a change: its device, and the extras that were read. */
export interface EndBefore {
  end: ObservedEnd;
  /** The extras' reads, by name (to read them again the same way). */
  reads: ReadGroups;
  extras: ExtrasView;
}

/** Takes one end (its device, boot files and MSS rule) back to `before`; says what it did. */
export async function restoreEnd(
  connection: Connection,
  recorded: RecordedHostKeys,
  name: string,
  before: EndBefore,
): Promise<string> {
  const now = await observeRouter<string>(connection, recorded, before.reads);
  const commands = [
    ...planRestore(name, before.end, now.observation),
    ...extrasRestore(name, before.extras, parseExtras(name, now.extra), !before.end.link),
  ];
  if (commands.length === 0) return "nothing to undo";
  await changeThenRead(connection, commands, [], recorded);
  return before.end.link ? `${name} put back as it was` : `${name} removed`;
}

/** Puts both ends back as they were before a change (`befores`); says what was done. */
export async function undoEnds(
  t: NormalizedGreTunnel,
  recorded: Pair<RecordedHostKeys>,
  befores: Pair<EndBefore>,
): Promise<string> {
  const labels = endLabels(t);
  const undone = await undoBoth(
    both((i) => ({
      label: labels[i],
      restore: () => restoreEnd(t.endpoints[i].connection, recorded[i], endName(t, i), befores[i]),
    })),
  );
  return undoneReport(undone);
}
