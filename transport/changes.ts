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
import { commandLine, mergeCommands, SCRIPT_BYTES, scriptBytes } from "./script";
import type { RecordedHostKeys } from "./roundTripTypes";
import { type CommandOutcome, type RemoteCommand } from "../model/command";

interface ChangeRequest {
  changes: readonly RemoteCommand[];
  reads: readonly RemoteCommand[];
  /** At least what it adds to a shared script (see {@link requestBytes}). */
  bytes: number;
  resolve: (result: RunResult) => void;
  reject: (error: unknown) => void;
}

interface ChangeBatch {
  requests: ChangeRequest[];
  timeoutSeconds?: number;
  started: number;
}

/**
 * What a request adds to a shared script, at most: its commands framed as a script of their own
 * (the script's first line counted again, a read another request shares counted again), with room
 * for longer command numbers.
 */
function requestBytes(changes: readonly RemoteCommand[], reads: readonly RemoteCommand[]): number {
  const commands = [...changes, ...reads];
  return scriptBytes(commands, true, [changes.length]) + 8 * commands.length;
}

/** The requests in groups whose scripts stay under {@link SCRIPT_BYTES}, in order (a larger request alone). */
function scriptGroups(requests: readonly ChangeRequest[]): ChangeRequest[][] {
  const groups: ChangeRequest[][] = [];
  let bytes = 0;
  for (const request of requests) {
    const last = groups.at(-1);
    if (last && bytes + request.bytes <= SCRIPT_BYTES) {
      last.push(request);
      bytes += request.bytes;
    } else {
      groups.push([request]);
      bytes = request.bytes;
    }
  }
  return groups;
}

/** One group's changes as segments and their reads once, in one round trip; each requester gets its own. */
async function runGroup(
  conn: ResolvedConnection,
  expected: ExpectedHostKeys,
  requests: readonly ChangeRequest[],
  deadline: number,
): Promise<void> {
  const segments = requests.flatMap((r) => r.changes);
  const segmentEnds: number[] = [];
  for (const r of requests) segmentEnds.push((segmentEnds.at(-1) ?? 0) + r.changes.length);
  const reads = mergeCommands(requests.map((r) => r.reads));
  try {
    const result = await roundTrip(conn, [...segments, ...reads.commands], {
      check: false,
      stopOnError: true,
      segmentEnds,
      timeoutSeconds: Math.max(1, (deadline - Date.now()) / 1000),
      recorded: recordedOf(expected),
    });
    requests.forEach((request, i) => {
      const from = i === 0 ? 0 : segmentEnds[i - 1];
      const own = result.outcomes.slice(from, segmentEnds[i]);
      const read = reads.positions[i].map((at, j): CommandOutcome => ({
        ...result.outcomes[segments.length + at],
        argv: [...request.reads[j].argv],
      }));
      request.resolve({ ...result, outcomes: [...own, ...read] });
    });
  } catch (error) {
    requests.forEach((r) => r.reject(error));
  }
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
  // A hub's many tunnel ends may not fit one script: the groups go at once, on channels of their own.
  await Promise.all(scriptGroups(batch.requests).map((group) => runGroup(conn, expected, group, deadline)));
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
  let batch = slot.batch;
  if (!batch) {
    const fresh: ChangeBatch = { requests: [], started: Date.now() };
    slot.batch = batch = fresh;
    void flush(conn, expected, slot, fresh);
  }
  if (options.timeoutSeconds !== undefined)
    batch.timeoutSeconds = Math.max(batch.timeoutSeconds ?? 0, options.timeoutSeconds);
  const shared = await new Promise<RunResult>((resolve, reject) =>
    batch!.requests.push({
      changes,
      reads: readsAfter,
      bytes: requestBytes(changes, readsAfter),
      resolve,
      reject,
    }),
  );
  checkSharedHostKeys(conn, shared, expected);
  return shared;
}
