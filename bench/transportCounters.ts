/**
 * What the benchmark attaches to the transport (through `transport/hooks.ts`): counters of
 * connections, round trips, commands and processes, and the naive baseline it compares against — a
 * new SSH connection for every command, one round trip each. Nothing of this is in the product.
 *
 * @packageDocumentation
 */
import { routerLabel } from "../transport/connection";
import { outcomeFailed } from "../transport/errors";
import type { TransportHooks, TransportObserver } from "../transport/hooks";
import type { CommandOutcome } from "../model/command";
import { processesStarted } from "../test/support/sim/processCost";

/** Counters of what the transport did in one process. */
export interface TransportCounts {
  connectionsOpened: number;
  roundTrips: number;
  commands: number;
  /** Processes started on routers: a shell per round trip, and each command that is not a builtin. */
  processes: number;
}

/** Zeroed counters. */
export function noCounts(): TransportCounts {
  return { connectionsOpened: 0, roundTrips: 0, commands: 0, processes: 0 };
}

/** An observer that adds what the transport does to `counts`, then calls `changed`. */
export function countingObserver(
  counts: TransportCounts,
  changed: () => void = () => undefined,
): TransportObserver {
  return {
    connectionOpened() {
      counts.connectionsOpened++;
      changed();
    },
    roundTrip(_router, commands) {
      counts.roundTrips++;
      counts.commands += commands.length;
      counts.processes += processesStarted(commands);
      changed();
    },
  };
}

/**
 * The naive way, the benchmark's baseline: every command on a connection of its own, opened and
 * closed around it, one round trip each; no coalescing.
 */
export const naiveRun: NonNullable<TransportHooks["run"]> = async (conn, commands, options, roundTrip) => {
  const outcomes: CommandOutcome[] = [];
  let hostKey = "";
  let stopped = false;
  for (const command of commands) {
    if (stopped) {
      outcomes.push({ argv: [...command.argv], ran: false, exitCode: null, stdout: "", stderr: "" });
      continue;
    }
    const result = await roundTrip(conn, [command], {
      ...options,
      check: false,
      stopOnError: false,
      dedicatedConnection: true,
    });
    hostKey = result.hostKey;
    outcomes.push(result.outcomes[0]);
    if (result.outcomes[0].exitCode !== 0 && (options.stopOnError ?? true) && !command.mayFail)
      stopped = true;
  }
  const failed = outcomes.find((o) => o.ran && o.exitCode !== 0);
  if (failed && (options.check ?? true)) throw outcomeFailed(routerLabel(conn), failed);
  return { outcomes, hostKey };
};
