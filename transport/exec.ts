/**
 * One round trip: several commands framed into one exec on a pooled (or dedicated) connection,
 * collected with a deadline, the remote process group killed when the deadline passes, and the
 * framed output turned back into one outcome per command — or into the error that names the
 * router, the command, its exit status and stderr.
 *
 * @packageDocumentation
 */
import { randomBytes } from "crypto";
import {
  expectedHostKeys,
  type ExpectedHostKey,
  type ExpectedHostKeys,
  type ResolvedConnection,
} from "./connection";
import { hostKeyMismatch } from "./dial";
import { TransportError, commandFailed, excerpt, outcomeFailed, transportError } from "./errors";
import { transportHooks } from "./hooks";
import {
  acquireEntry,
  channelSlot,
  closeEntry,
  dedicatedEntry,
  freeChannelSlot,
  hold,
  release,
  type PoolEntry,
} from "./pool";
import { batchScript, commandLine, parseBatchOutput, parseProcessGroup, type RemoteCommand } from "./script";
import type { RoundTripOptions, RunResult } from "./roundTripTypes";

export type { RoundTripOptions, RunResult };

interface RawExec {
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
}

/** Runs one exec and collects its output, with a deadline. */
function execOnce(
  entry: PoolEntry,
  commandText: string,
  shownCommand: string,
  timeoutMs: number,
  onTimeout: (stdoutSoFar: string) => void,
): Promise<RawExec> {
  return new Promise((resolve, reject) => {
    entry.client!.exec(commandText, (err, channel) => {
      if (err) {
        reject(
          transportError(`${entry.label}: could not start \`${shownCommand}\`: ${err.message}`, {
            kind: "connect-failed",
            router: entry.label,
            command: shownCommand,
          }),
        );
        return;
      }
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let exitCode: number | null = null;
      let signal: string | undefined;
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        const out = Buffer.concat(stdout).toString("utf8");
        const errText = Buffer.concat(stderr).toString("utf8");
        try {
          channel.signal("KILL");
        } catch {
          // Not every server honours signal requests (OpenSSH ignores them); see onTimeout.
        }
        channel.close();
        onTimeout(out);
        reject(
          transportError(
            `${entry.label}: command \`${shownCommand}\` timed out after ${timeoutMs / 1000} s${errText.trim() ? `: ${excerpt(errText)}` : ""}`,
            {
              kind: "command-timeout",
              router: entry.label,
              command: shownCommand,
              stderr: errText,
              stdout: out,
            },
          ),
        );
      }, timeoutMs);
      channel.on("data", (chunk: Buffer) => stdout.push(chunk));
      channel.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
      channel.on("exit", (code: number | null, signalName?: string) => {
        exitCode = typeof code === "number" ? code : null;
        signal = signalName ?? undefined;
      });
      channel.on("close", () => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        resolve({
          exitCode,
          signal,
          stdout: Buffer.concat(stdout).toString("utf8"),
          stderr: Buffer.concat(stderr).toString("utf8"),
        });
      });
    });
  });
}

/** What an exec sends: the text, or under `sudo` the text run by a root shell (no TTY, no password). */
function execText(conn: ResolvedConnection, text: string): string {
  return conn.sudo ? `sudo -n -- sh -c ${commandLine([text])}` : text;
}

/**
 * Kills the process group of a round trip that timed out, over the same connection: closing the
 * channel does not stop a command that writes nothing, and OpenSSH ignores signal requests.
 */
function killProcessGroup(entry: PoolEntry, conn: ResolvedConnection, pgid: number): void {
  // `kill -KILL -PGID` rather than `kill -s KILL -- -PGID`: dash's builtin kill has no `--`.
  const kill = commandLine(["kill", "-KILL", `-${pgid}`]);
  hold(entry);
  execOnce(entry, execText(conn, kill), kill, 10_000, () => undefined)
    .catch(() => undefined)
    .finally(() => release(entry));
}

/** Fails unless the router presented the expected key (checked before anything is sent). */
export function checkHostKey(label: string, presented: string, expected: ExpectedHostKey | undefined): void {
  if (expected && expected.fingerprint !== presented) throw hostKeyMismatch(label, expected, presented);
}

/**
 * Fails unless the router and its jump host presented the expected keys: a pooled connection may
 * have been dialed by a call that expected other keys (or none).
 */
export function checkHostKeys(
  presented: { label: string; hostKey?: string; jump?: { label: string; hostKey?: string } },
  expected: ExpectedHostKeys,
): void {
  checkHostKey(presented.label, presented.hostKey!, expected.router);
  if (presented.jump) checkHostKey(presented.jump.label, presented.jump.hostKey!, expected.jump);
}

/** Turns the raw exec into outcomes, or the error that says which command failed and how. */
function interpret(
  entry: PoolEntry,
  conn: ResolvedConnection,
  commands: readonly RemoteCommand[],
  nonce: string,
  raw: RawExec,
  check: boolean,
): RunResult {
  const { outcomes, trailingStderr, trailingStdout } = parseBatchOutput(
    commands,
    nonce,
    raw.stdout,
    raw.stderr,
  );
  const firstUnrun = outcomes.findIndex((o) => !o.ran);
  const failed = outcomes.find((o) => o.ran && o.exitCode !== 0);
  if (firstUnrun >= 0 && !failed) {
    // The batch itself died before a command finished: sudo refused, the shell was killed, …
    if (conn.sudo && /sudo:.*(password is required|a terminal is required)/.test(trailingStderr)) {
      throw transportError(
        `${entry.label}: sudo needs a password for user ${conn.user}; commands run as \`sudo -n -- sh -c …\`, so grant that user passwordless sudo for /bin/sh (NOPASSWD: /bin/sh in sudoers), or connect as root`,
        {
          kind: "sudo-password-required",
          router: entry.label,
          command: commandLine(outcomes[firstUnrun].argv),
          stderr: trailingStderr,
        },
      );
    }
    const unrun = commandLine(outcomes[firstUnrun].argv);
    if (raw.exitCode === 0) {
      throw transportError(
        `${entry.label}: the remote shell ended before \`${unrun}\` reported its status${trailingStderr.trim() ? `: ${excerpt(trailingStderr)}` : ""}`,
        { kind: "command-failed", router: entry.label, command: unrun, stderr: trailingStderr },
      );
    }
    throw commandFailed(entry.label, unrun, raw.exitCode, trailingStderr, trailingStdout, raw.signal);
  }
  if (failed && check) throw outcomeFailed(entry.label, failed);
  return { outcomes, hostKey: entry.hostKey!, ...(entry.jump ? { jumpHostKey: entry.jump.hostKey! } : {}) };
}

/**
 * Runs `commands` on the router in one round trip (see `runOnRouter`). On the pooled connection, a
 * connection that died while idle (the router rebooted) is replaced once: a channel that could not
 * even be opened ran nothing. With `dedicatedConnection`, the round trip has a connection of its
 * own, closed afterwards.
 */
export async function roundTrip(
  conn: ResolvedConnection,
  commands: readonly RemoteCommand[],
  options: RoundTripOptions & { dedicatedConnection?: boolean } = {},
): Promise<RunResult> {
  const nonce = randomBytes(12).toString("hex");
  const commandText = execText(conn, batchScript(commands, nonce, options.stopOnError ?? true));
  const shown = commands.map((c) => commandLine(c.argv)).join("; ");
  const timeoutMs = (options.timeoutSeconds ?? conn.commandTimeout) * 1000;
  const expected = expectedHostKeys(conn, options.recorded);
  for (let attempt = 1; ; attempt++) {
    const entry = options.dedicatedConnection ? dedicatedEntry(conn, expected) : acquireEntry(conn, expected);
    hold(entry);
    try {
      await entry.ready;
      checkHostKeys(entry, expected);
      await channelSlot(entry);
      let raw: RawExec;
      try {
        transportHooks().observer?.roundTrip?.(entry.label, commands);
        raw = await execOnce(entry, commandText, shown, timeoutMs, (stdoutSoFar) => {
          const pgid = parseProcessGroup(nonce, stdoutSoFar);
          if (pgid !== undefined) killProcessGroup(entry, conn, pgid);
        });
      } catch (error) {
        const retry =
          attempt === 1 &&
          !options.dedicatedConnection &&
          TransportError.isInstance(error) &&
          error.kind === "connect-failed";
        if (retry) {
          closeEntry(entry);
          continue;
        }
        throw error;
      } finally {
        freeChannelSlot(entry);
      }
      return interpret(entry, conn, commands, nonce, raw, options.check ?? true);
    } finally {
      release(entry);
      if (options.dedicatedConnection) closeEntry(entry);
    }
  }
}
