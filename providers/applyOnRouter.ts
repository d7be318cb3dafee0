/**
 * Changes on one router in one round trip: consecutive `ip` commands go as one `ip -batch`, and a
 * failure is reported as the `ip` command that failed, with what it said.
 *
 * @packageDocumentation
 */
import { batchStderr, failedBatchLine, groupIpCommands, type IpBatch } from "../iproute2/ipBatch";
import { routerLabel, type Connection } from "../transport/connection";
import { commandFailed } from "../transport/errors";
import { commandLine, type CommandOutcome, type RemoteCommand } from "../transport/script";
import { runOnRouter } from "../transport/ssh";

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
  const grouped = groupIpCommands(commands);
  const sent = grouped.map((g) => ("lines" in g ? g.command : g));
  const reads = then.map((c) => ({ ...c, mayFail: true }));
  const result = await runOnRouter(connection, [...sent, ...reads], {
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
    throw commandFailed(
      routerLabel(connection),
      commandLine(culprit.argv),
      outcome.exitCode,
      stderr,
      outcome.stdout,
    );
  }
  return result.outcomes.slice(sent.length);
}
