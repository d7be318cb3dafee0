/**
 * Changes on one router in one round trip: consecutive `ip` commands go as one `ip -batch`, and a
 * failure is reported as the `ip` command that failed, with what it said.
 *
 * @packageDocumentation
 */
import { batchStderr, failedBatchLine, groupIpCommands, type IpBatch } from "../iproute2/ipBatch";
import { routerLabel, type Connection } from "../transport/connection";
import { outcomeFailed } from "../transport/errors";
import type { CommandOutcome, RemoteCommand } from "../transport/script";
import { runOnRouter, type RunResult } from "../transport";

/**
 * Runs `commands` in order, stopping at the first failure, which it throws naming that command;
 * then, in the same round trip, the reads `then` (what the change left), whose outcomes it returns.
 */
export async function applyOnRouter(
  connection: Connection,
  commands: readonly RemoteCommand[],
  expectedHostKey: string | undefined,
  then: readonly RemoteCommand[] = [],
): Promise<CommandOutcome[]> {
  if (commands.length === 0 && then.length === 0) return [];
  return (await changeThenRead(connection, commands, then, expectedHostKey)).outcomes;
}

/**
 * The changes (if any) and then the reads, in one round trip; returns the reads' outcomes and the
 * router's host key. Without changes the reads may share a round trip with other reads of the
 * router (a refresh reads many resources at once).
 */
export async function changeThenRead(
  connection: Connection,
  changes: readonly RemoteCommand[],
  reads: readonly RemoteCommand[],
  expectedHostKey: string | undefined,
): Promise<RunResult> {
  if (changes.length === 0) {
    return runOnRouter(connection, reads, {
      check: false,
      stopOnError: false,
      expectedHostKey,
      coalesce: true,
    });
  }
  const grouped = groupIpCommands(changes);
  const sent = grouped.map((g) => ("lines" in g ? g.command : g));
  // A read that fails (a file that is not there) must not end the round trip.
  const readsAfter = reads.map((c) => ({ ...c, mayFail: true }));
  const result = await runOnRouter(connection, [...sent, ...readsAfter], {
    check: false,
    stopOnError: true,
    expectedHostKey,
  });
  const failedAt = result.outcomes.slice(0, sent.length).findIndex((o) => o.ran && o.exitCode !== 0);
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
  return { outcomes: result.outcomes.slice(sent.length), hostKey: result.hostKey };
}
