/**
 * Coalesced reads: requests to read one router that arrive while its connection comes up, or within
 * a few milliseconds of each other, go out as one round trip, each distinct command once; every
 * requester gets its own outcomes and its own failures. A refresh reads many resources at once, and
 * this is what makes it cost one round trip per router instead of one per resource.
 *
 * @packageDocumentation
 */
import { expectedHostKeys, routerLabel, type ExpectedHostKeys, type ResolvedConnection } from "./connection";
import { outcomeFailed } from "./errors";
import { checkSharedHostKeys, connectedAndWindow, recordedOf, routerSlot } from "./batching";
import { roundTrip, type RoundTripOptions, type RunResult } from "./exec";
import { commandLine, concurrentTail, mergeCommands, roundTripRanges } from "./script";
import { type CommandOutcome, type RemoteCommand } from "../model/command";

interface ReadRequest {
  commands: readonly RemoteCommand[];
  resolve: (result: RunResult) => void;
  reject: (error: unknown) => void;
}

interface ReadBatch {
  requests: ReadRequest[];
  timeoutSeconds?: number;
  /** When its first request arrived: its deadline runs from there. */
  started: number;
}

/** The reads of one router: the batch that is filling, and the shared round trip under way. */
interface RouterReads {
  filling?: ReadBatch;
  inFlight?: Promise<void>;
}

/** Whether every request of the batch is concurrent probes only. */
function probesOnly(batch: ReadBatch): boolean {
  return batch.requests.every((r) => r.commands.length > 0 && r.commands.every((c) => c.concurrent === true));
}

async function flush(
  conn: ResolvedConnection,
  expected: ExpectedHostKeys,
  reads: RouterReads,
  batch: ReadBatch,
): Promise<void> {
  // The batch's deadline runs from its first request, dialing included.
  const timeoutMs = (batch.timeoutSeconds ?? conn.commandTimeout) * 1000;
  const deadline = batch.started + timeoutMs;
  // Probes alone (a create's health pings) do not wait for the read in flight, and no read waits
  // for them: nothing they read is shared, and a hub's tunnels would otherwise ping in waves.
  let alone = false;
  try {
    await connectedAndWindow(conn, expected, deadline, timeoutMs, () =>
      batch.requests.flatMap((r) => r.commands.map((c) => commandLine(c.argv))).join("; "),
    );
    // One shared read in flight per router: whatever arrives meanwhile waits and goes next, together.
    alone = probesOnly(batch);
    if (!alone) await reads.inFlight;
  } catch (error) {
    if (reads.filling === batch) reads.filling = undefined;
    batch.requests.forEach((r) => r.reject(error));
    return;
  }
  if (reads.filling === batch) reads.filling = undefined;
  const { commands, positions } = mergeCommands(batch.requests.map((r) => r.commands));
  // Many probes (a hub's tunnels) go as several round trips at once on the connection's channels.
  const ranges = roundTripRanges(commands);
  const parts = ranges.map(([start, end]) =>
    roundTrip(conn, commands.slice(start, end), {
      check: false,
      stopOnError: false,
      timeoutSeconds: Math.max(1, (deadline - Date.now()) / 1000),
      recorded: recordedOf(expected),
    }),
  );
  const running = Promise.all(parts).then((done): RunResult => ({
    ...done[0],
    outcomes: done.flatMap((p) => p.outcomes),
  }));
  // The next reads wait for this one's reads, not for its probes (a hub's refresh pings every tunnel).
  const tail = concurrentTail(commands);
  if (!alone)
    reads.inFlight = Promise.all(parts.filter((_, k) => ranges[k][0] < tail)).then(
      () => undefined,
      () => undefined,
    );
  try {
    const result = await running;
    batch.requests.forEach((request, i) =>
      request.resolve({
        outcomes: positions[i].map((at, j): CommandOutcome => ({
          ...result.outcomes[at],
          argv: [...request.commands[j].argv],
        })),
        hostKey: result.hostKey,
      }),
    );
  } catch (error) {
    batch.requests.forEach((r) => r.reject(error));
  }
}

/**
 * Runs read-only `commands` in a round trip shared with other reads of the same router. The host
 * key and (with `check`) each of this request's own commands are checked for this request alone.
 */
export async function coalescedRead(
  conn: ResolvedConnection,
  commands: readonly RemoteCommand[],
  options: RoundTripOptions,
): Promise<RunResult> {
  const label = routerLabel(conn);
  const expected = expectedHostKeys(conn, options.recorded);
  const reads = routerSlot<RouterReads>("reads", conn, expected);
  let batch = reads.filling;
  if (!batch) {
    const fresh: ReadBatch = { requests: [], started: Date.now() };
    reads.filling = batch = fresh;
    void flush(conn, expected, reads, fresh);
  }
  if (options.timeoutSeconds !== undefined)
    batch.timeoutSeconds = Math.max(batch.timeoutSeconds ?? 0, options.timeoutSeconds);
  const shared = await new Promise<RunResult>((resolve, reject) =>
    batch!.requests.push({ commands, resolve, reject }),
  );
  checkSharedHostKeys(conn, shared, expected);
  const failed = shared.outcomes.find((o) => o.exitCode !== 0);
  if (failed && (options.check ?? true)) throw outcomeFailed(label, failed);
  return shared;
}
