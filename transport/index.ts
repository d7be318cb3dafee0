/**
 * The one public way to run commands on a router. Every command the product runs on a router goes
 * through {@link runOnRouter}: one pooled SSH connection per router per process (`pool.ts`), dialed
 * through TCP, a ProxyCommand or a jump host with the host key checked in the handshake
 * (`dial.ts`), several commands framed into one exec with one deadline (`exec.ts`), and reads of
 * many resources coalesced into one round trip (`reads.ts`), and so are their changes (`changes.ts`).
 *
 * @packageDocumentation
 */
import { resolveConnection } from "./connection";
import { type Connection } from "../model/connection";
import { roundTrip, type RoundTripOptions, type RunResult } from "./exec";
import { transportHooks } from "./hooks";
import { coalescedChange } from "./changes";
import { coalescedRead } from "./reads";
import type { RemoteCommand } from "../model/command";

export { closeAllConnections } from "./pool";
export type { RunResult } from "./exec";

/** Options of one call. */
export interface RunOptions extends RoundTripOptions {
  /**
   * The commands only read: they may share one round trip with other reads of the same router
   * that arrive at about the same time (a refresh reads many resources at once). Default false.
   */
  coalesce?: boolean;
}

/**
 * Runs `commands` on the router in one round trip and returns each command's outcome.
 *
 * Throws a {@link TransportError} naming the router when it cannot be reached, its host key differs
 * from the pinned or recorded one, the round trip times out, sudo wants a password, or (unless
 * `check` is false) a command fails; the error then names that command, its exit status and stderr.
 * For instance, `runOnRouter(connection, [{ argv: ["ip", "-j", "-d", "link", "show"] }, { argv: ["ip",
 * "-j", "addr", "show"] }])` reads links and addresses in one round trip.
 */
export async function runOnRouter(
  connection: Connection,
  commands: readonly RemoteCommand[],
  options: RunOptions = {},
): Promise<RunResult> {
  if (commands.length === 0) throw new Error("runOnRouter needs at least one command");
  const conn = resolveConnection(connection);
  const { coalesce, ...rest } = options;
  const replacement = transportHooks().run;
  if (replacement) return replacement(conn, commands, rest, roundTrip);
  return coalesce ? coalescedRead(conn, commands, rest) : roundTrip(conn, commands, rest);
}

/**
 * Runs `changes` on the router, stopping at the first that fails (unless it `mayFail`), then `reads`
 * (each allowed to fail), and returns their outcomes in that order, failures included (`check` is
 * false). Changes of other resources on the same router that arrive at about the same time share the
 * round trip, each in a segment of its own: one request's failing change never stops another's.
 */
export async function changeOnRouter(
  connection: Connection,
  changes: readonly RemoteCommand[],
  reads: readonly RemoteCommand[],
  options: Pick<RoundTripOptions, "timeoutSeconds" | "recorded"> = {},
): Promise<RunResult> {
  const conn = resolveConnection(connection);
  const replacement = transportHooks().run;
  if (replacement) {
    const commands = [...changes, ...reads.map((c) => ({ ...c, mayFail: true }))];
    return replacement(conn, commands, { ...options, check: false, stopOnError: true }, roundTrip);
  }
  return coalescedChange(conn, changes, reads, options);
}
