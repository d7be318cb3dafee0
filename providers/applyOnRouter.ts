/**
 * Changes on one router in one round trip, followed by reads of what they left: consecutive `ip`
 * commands go as one `ip -batch`, and a failure is reported as the `ip` command that failed, with
 * what it said. Every step of every provider changes routers through here.
 *
 * @packageDocumentation
 */
import { batchStderr, failedBatchLine, groupIpCommands, type IpBatch } from "../commands/iproute2/ipBatch";
import { changeOnRouter, runOnRouter } from "../transport";
import { routerLabel } from "../transport/connection";
import { type Connection } from "../model/connection";
import { outcomeFailed } from "../transport/errors";
import type { RecordedHostKeys } from "../transport/roundTripTypes";
import type { CommandOutcome, RemoteCommand } from "../model/command";

/** What a change-then-read round trip returned. */
export interface ChangedAndRead {
  /** One outcome per change that was sent (an `ip -batch` counts once); empty without changes. */
  changes: CommandOutcome[];
  /** The reads' outcomes, in order. */
  reads: CommandOutcome[];
  /** The host key the router presented. */
  hostKey: string;
  /** The jump host's key, when the router is reached through one. */
  jumpHostKey?: string;
}

/**
 * The changes (if any) and then the reads, in one round trip. A change that fails stops this call's
 * changes and is thrown, naming that command — unless it `mayFail`, when its outcome is returned
 * for the caller to judge. The round trip may be shared: with changes, with other resources'
 * changes on the router (a hub's tunnel ends), each stopping only its own; without, with other
 * reads of the router (a refresh reads many resources at once).
 */
export async function changeThenRead(
  connection: Connection,
  changes: readonly RemoteCommand[],
  reads: readonly RemoteCommand[],
  recorded: RecordedHostKeys,
): Promise<ChangedAndRead> {
  if (changes.length === 0) {
    const result = await runOnRouter(connection, reads, {
      check: false,
      stopOnError: false,
      recorded,
      coalesce: true,
    });
    return { changes: [], reads: result.outcomes, hostKey: result.hostKey, jumpHostKey: result.jumpHostKey };
  }
  const grouped = groupIpCommands(changes);
  const sent = grouped.map((g) => ("lines" in g ? g.command : g));
  // Shared with other resources' changes on this router; a read that fails (a file that is not
  // there) does not end the round trip.
  const result = await changeOnRouter(connection, sent, reads, { recorded });
  const failedAt = result.outcomes
    .slice(0, sent.length)
    .findIndex((o, i) => o.ran && o.exitCode !== 0 && !sent[i].mayFail);
  if (failedAt >= 0) {
    const outcome = result.outcomes[failedAt];
    const group = grouped[failedAt];
    const line = "lines" in group ? failedBatchLine(outcome.stderr) : undefined;
    const culprit =
      "lines" in group
        ? ((group as IpBatch).lines[(line ?? 1) - 1] ?? (group as IpBatch).command)
        : (group as RemoteCommand);
    const stderr = "lines" in group ? batchStderr(outcome.stderr) : outcome.stderr;
    throw outcomeFailed(routerLabel(connection), { ...outcome, argv: culprit.argv }, stderr);
  }
  return {
    changes: result.outcomes.slice(0, sent.length),
    reads: result.outcomes.slice(sent.length),
    hostKey: result.hostKey,
    jumpHostKey: result.jumpHostKey,
  };
}
