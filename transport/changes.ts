/**
 * Coalesced changes: change requests for one router that arrive while its connection comes up, or
 * within a few milliseconds of each other (a hub's many tunnel ends and routes), go out as one
 * script. Each request's changes are a segment of their own: a failing change stops its own
 * segment, never another's. The reads that follow the changes run once, after every segment, each
 * distinct read once; every requester gets back its own changes' outcomes and its reads'.
 *
 * @packageDocumentation
 */
import { expectedHostKeys, type ExpectedHostKeys, type ResolvedConnection } from "./connection";
import { checkSharedHostKeys, connectedAndWindow, recordedOf, routerSlot } from "./batching";
import { roundTrip, type RunResult } from "./exec";
import { commandLine, mergeCommands } from "./script";
import type { RecordedHostKeys } from "./roundTripTypes";
import { type CommandOutcome, type RemoteCommand } from "../model/command";

/**
 * At most about this many bytes of commands in one shared script. An exec's command travels in one
 * SSH packet, and the packets every implementation must take are up to 32,768 bytes (RFC 4253,
 * section 6.1; OpenSSH takes more, other servers do not): room is left for the framing. A single
 * request larger than this still goes, alone.
 */
export const CHANGE_SCRIPT_BYTES = 24 * 1024;

interface ChangeRequest {
  changes: readonly RemoteCommand[];
  reads: readonly RemoteCommand[];
  resolve: (result: RunResult) => void;
  reject: (error: unknown) => void;
}

interface ChangeBatch {
  requests: ChangeRequest[];
  bytes: number;
  timeoutSeconds?: number;
  started: number;
}

/** What a command adds to a script, roughly: its line, its input, its framing. */
function size(commands: readonly RemoteCommand[]): number {
  return commands.reduce((n, c) => n + commandLine(c.argv).length + (c.stdin?.length ?? 0) + 120, 0);
}

async function flush(
  conn: ResolvedConnection,
  expected: ExpectedHostKeys,
  slot: { batch?: ChangeBatch },
  batch: ChangeBatch,
): Promise<void> {
  const timeoutMs = (batch.timeoutSeconds ?? conn.commandTimeout) * 1000;
  const deadline = batch.started + timeoutMs;
  try {
    // Changes that arrive while the connection comes up join this batch too.
    await connectedAndWindow(conn, expected, deadline, timeoutMs, () =>
      batch.requests.flatMap((r) => r.changes.map((c) => commandLine(c.argv))).join("; "),
    );
  } catch (error) {
    if (slot.batch === batch) slot.batch = undefined;
    batch.requests.forEach((r) => r.reject(error));
    return;
  }
  if (slot.batch === batch) slot.batch = undefined;
  const segments = batch.requests.flatMap((r) => r.changes);
  const segmentEnds: number[] = [];
  for (const r of batch.requests) segmentEnds.push((segmentEnds.at(-1) ?? 0) + r.changes.length);
  const reads = mergeCommands(batch.requests.map((r) => r.reads));
  try {
    const result = await roundTrip(conn, [...segments, ...reads.commands], {
      check: false,
      stopOnError: true,
      segmentEnds,
      timeoutSeconds: Math.max(1, (deadline - Date.now()) / 1000),
      recorded: recordedOf(expected),
    });
    batch.requests.forEach((request, i) => {
      const from = i === 0 ? 0 : segmentEnds[i - 1];
      const own = result.outcomes.slice(from, segmentEnds[i]);
      const read = reads.positions[i].map((at, j): CommandOutcome => ({
        ...result.outcomes[segments.length + at],
        argv: [...request.reads[j].argv],
      }));
      request.resolve({ ...result, outcomes: [...own, ...read] });
    });
  } catch (error) {
    batch.requests.forEach((r) => r.reject(error));
  }
}

/**
 * Runs `changes` (stopping at the first that fails and may not) and then `reads` (each allowed to
 * fail) on the router, in a round trip shared with other changes of the same router that arrive at
 * about the same time. Returns the outcomes of `changes` then `reads`, as one round trip of its own
 * with `check: false` would; the host key is checked for this request alone.
 */
export async function coalescedChange(
  conn: ResolvedConnection,
  changes: readonly RemoteCommand[],
  reads: readonly RemoteCommand[],
  options: { timeoutSeconds?: number; recorded?: RecordedHostKeys },
): Promise<RunResult> {
  if (changes.length === 0) throw new Error("a coalesced change needs at least one change");
  const readsAfter = reads.map((c) => ({ ...c, mayFail: true }));
  // Secret input is read from the channel by length, in order: a segment that stopped early would
  // leave its bytes to the next one. Such a change goes alone.
  if ([...changes, ...reads].some((c) => c.secretInput !== undefined))
    return roundTrip(conn, [...changes, ...readsAfter], { ...options, check: false, stopOnError: true });
  const expected = expectedHostKeys(conn, options.recorded);
  const slot = routerSlot<{ batch?: ChangeBatch }>("changes", conn, expected);
  const bytes = size(changes) + size(reads);
  let batch = slot.batch;
  // A full batch goes as it is; this request starts the next one.
  if (batch && batch.requests.length > 0 && batch.bytes + bytes > CHANGE_SCRIPT_BYTES) batch = undefined;
  if (!batch) {
    const fresh: ChangeBatch = { requests: [], bytes: 0, started: Date.now() };
    slot.batch = batch = fresh;
    void flush(conn, expected, slot, fresh);
  }
  batch.bytes += bytes;
  if (options.timeoutSeconds !== undefined)
    batch.timeoutSeconds = Math.max(batch.timeoutSeconds ?? 0, options.timeoutSeconds);
  const shared = await new Promise<RunResult>((resolve, reject) =>
    batch!.requests.push({ changes, reads: readsAfter, resolve, reject }),
  );
  checkSharedHostKeys(conn, shared, expected);
  return shared;
}
