/**
 * Both ends of a tunnel at once: reading both routers in one round trip each, the host keys to
 * expect of them and the ones they presented, and taking one end back to how it was.
 *
 * @packageDocumentation
 */
import { planRestore, type ObservedEnd } from "../../commands/iproute2/planTunnel";
import { extrasReads, extrasRestore, parseExtras, type ExtrasReads, type ExtrasView } from "./extras";
import type { Connection } from "../../transport/connection";
import type { RemoteCommand } from "../../model/command";
import { changeThenRead } from "../applyOnRouter";
import { endKeys, type GreTunnelOutputs, type NormalizedGreTunnel } from "./spec";
import { recordedKeys, type RecordedHostKeys } from "../hostKeys";
import { observeRouter, type RouterView } from "../observeRouter";
import { both } from "../pairOperation";

/** One value per end of a tunnel. */
export type Pair<T> = [T, T];

/** Both routers, read at once (each with `extras` in the same round trip). */
export function observeBoth(
  t: Pick<NormalizedGreTunnel, "endpoints">,
  recorded: Pair<RecordedHostKeys>,
  extras: Pair<RemoteCommand[]> = [[], []],
): Promise<Pair<RouterView>> {
  return Promise.all(
    both((i) => observeRouter(t.endpoints[i].connection, recorded[i], extras[i])),
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
  reads: ExtrasReads;
  extras: ExtrasView;
}

/** Takes one end (its device, boot files and MSS rule) back to `before`; says what it did. */
export async function restoreEnd(
  connection: Connection,
  recorded: RecordedHostKeys,
  name: string,
  before: EndBefore,
): Promise<string> {
  const now = await observeRouter(connection, recorded, extrasReads(before.reads));
  const commands = [
    ...planRestore(name, before.end, now.observation),
    ...extrasRestore(name, before.extras, parseExtras(name, before.reads, now.extra)),
  ];
  if (commands.length === 0) return "nothing to undo";
  await changeThenRead(connection, commands, [], recorded);
  return before.end.link ? `${name} put back as it was` : `${name} removed`;
}
