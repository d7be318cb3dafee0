/**
 * One round trip: several commands framed into one exec on a pooled (or dedicated) connection,
 * collected with a deadline, the remote process group killed when the deadline passes, and the
 * framed output turned back into one outcome per command — or into the error that names the
 * router, the command, its exit status and stderr.
 *
 * @packageDocumentation
 */
import { randomBytes } from "crypto";
import type { ClientChannel } from "ssh2";
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
  beforeDeadline,
  channelSlot,
  closeEntry,
  dedicatedEntry,
  freeChannelSlot,
  hold,
  release,
  type PoolEntry,
} from "./pool";
import { batchScript, channelInput, commandLine, parseBatchOutput, parseProcessGroup } from "./script";
import { type RemoteCommand } from "../model/command";
import type { RoundTripOptions, RunResult } from "./roundTripTypes";

export type { RoundTripOptions, RunResult };

interface RawExec {
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
}

/** The error for a round trip that passed its deadline, at `stage`. */
function timedOut(
  entry: Pick<PoolEntry, "label">,
  shown: string,
  timeoutMs: number,
  stage: string,
  output: { stdout?: string; stderr?: string } = {},
): Error {
  const said = output.stderr?.trim() ? `: ${excerpt(output.stderr)}` : "";
  return transportError(
    `${entry.label}: command \`${shown}\` timed out after ${timeoutMs / 1000} s${stage ? ` ${stage}` : ""}${said}`,
    {
      kind: "command-timeout",
      router: entry.label,
      command: shown,
      stderr: output.stderr,
      stdout: output.stdout,
    },
  );
}

/**
 * Runs one exec and collects its output, until `deadline` (a time in ms) — counted before the
 * channel opens, so that a connection that died silently cannot hold a round trip forever.
 */
function execOnce(
  entry: PoolEntry,
  commandText: string,
  shownCommand: string,
  deadline: number,
  timeoutMs: number,
  onTimeout: (stdoutSoFar: string) => void,
  input?: string,
): Promise<RawExec> {
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let exitCode: number | null = null;
    let signal: string | undefined;
    let settled = false;
    let channel: ClientChannel | undefined;
    const timer = setTimeout(
      () => {
        settled = true;
        const out = Buffer.concat(stdout).toString("utf8");
        const errText = Buffer.concat(stderr).toString("utf8");
        if (!channel) {
          // The router never opened a channel: the connection is dead; the next call dials anew.
          closeEntry(entry);
          reject(timedOut(entry, shownCommand, timeoutMs, "(the router did not answer: no channel opened)"));
          return;
        }
        try {
          channel.signal("KILL");
        } catch {
          // Not every server honours signal requests (OpenSSH ignores them); see onTimeout.
        }
        channel.close();
        onTimeout(out);
        reject(timedOut(entry, shownCommand, timeoutMs, "", { stdout: out, stderr: errText }));
      },
      Math.max(0, deadline - Date.now()),
    );
    entry.client!.exec(commandText, (err, opened) => {
      if (settled) {
        opened?.close();
        return;
      }
      if (err) {
        settled = true;
        clearTimeout(timer);
        reject(
          transportError(`${entry.label}: could not start \`${shownCommand}\`: ${err.message}`, {
            kind: "connect-failed",
            router: entry.label,
            command: shownCommand,
          }),
        );
        return;
      }
      channel = opened;
      // Secret inputs go on the channel, never in the command line (see channelInput).
      if (input !== undefined) opened.end(input);
      opened.on("data", (chunk: Buffer) => stdout.push(chunk));
      opened.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
      opened.on("exit", (code: number | null, signalName?: string) => {
        exitCode = typeof code === "number" ? code : null;
        signal = signalName ?? undefined;
      });
      opened.on("close", () => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        if (entry.closed && exitCode === null && signal === undefined) {
          // The connection went away under the command (keepalives unanswered, the router gone):
          // whether it ran is unknown, so this is never retried.
          reject(
            transportError(
              `${entry.label}: the SSH connection was lost during \`${shownCommand}\` (the router stopped answering, rebooted, or the network dropped); whether it ran is unknown`,
              { kind: "connection-lost", router: entry.label, command: shownCommand },
            ),
          );
          return;
        }
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

/** The error for a round trip whose deadline passed while its connection was still being dialed. */
export function connectTimedOut(entry: PoolEntry, shown: string, timeoutMs: number): Error {
  const last = entry.lastDialError ? `; the last attempt: ${entry.lastDialError}` : "";
  return timedOut(
    entry,
    shown,
    timeoutMs,
    `(while connecting: the router did not complete the SSH handshake${last})`,
  );
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
  execOnce(entry, execText(conn, kill), kill, Date.now() + 10_000, 10_000, () => undefined)
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
  options: RoundTripOptions & { dedicatedConnection?: boolean; segmentEnds?: readonly number[] } = {},
): Promise<RunResult> {
  const nonce = randomBytes(12).toString("hex");
  const script = batchScript(commands, nonce, options.stopOnError ?? true, options.segmentEnds);
  const commandText = execText(conn, script);
  const shown = commands.map((c) => commandLine(c.argv)).join("; ");
  const timeoutMs = (options.timeoutSeconds ?? conn.commandTimeout) * 1000;
  // One deadline for the whole round trip: dialing, waiting for a channel, and the commands.
  const deadline = Date.now() + timeoutMs;
  const expected = expectedHostKeys(conn, options.recorded);
  for (let attempt = 1; ; attempt++) {
    const entry = options.dedicatedConnection ? dedicatedEntry(conn, expected) : acquireEntry(conn, expected);
    hold(entry);
    try {
      await beforeDeadline(entry.ready, deadline, () => connectTimedOut(entry, shown, timeoutMs));
      checkHostKeys(entry, expected);
      await channelSlot(entry, deadline, () =>
        timedOut(entry, shown, timeoutMs, "(waiting for a free channel on the connection)"),
      );
      let raw: RawExec;
      try {
        transportHooks().observer?.roundTrip?.(entry.label, commands);
        raw = await execOnce(
          entry,
          commandText,
          shown,
          deadline,
          timeoutMs,
          (stdoutSoFar) => {
            const pgid = parseProcessGroup(nonce, stdoutSoFar);
            if (pgid !== undefined) killProcessGroup(entry, conn, pgid);
          },
          channelInput(commands),
        );
      } catch (error) {
        // A pooled connection that died while idle (the router rebooted) could not even open a
        // channel: nothing ran, so one retry on a fresh connection is safe.
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
