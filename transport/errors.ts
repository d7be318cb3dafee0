/**
 * Errors of the transport. Each carries a brand checked by `isInstance()` rather than `instanceof`:
 * serialized provider code runs in another module instance than the code that catches. Messages
 * name the router, the command, its exit status and stderr, and never a secret.
 *
 * @packageDocumentation
 */

import { commandLine } from "./script";
import { type CommandOutcome } from "../model/command";

const BRAND = "__pulumiGreTransportError";

/** What went wrong, for code that reacts to a kind of failure. */
export type TransportErrorKind =
  | "command-failed"
  | "command-timeout"
  | "connect-failed"
  | "auth-failed"
  | "host-key-mismatch"
  | "sudo-password-required"
  | "connection-lost";

/** Details that travel with a {@link TransportError}. */
export interface TransportErrorDetails {
  kind: TransportErrorKind;
  /** The router's display name (its name, or `user@host:port`). */
  router: string;
  /** The quoted command line, when a command was involved. */
  command?: string;
  exitCode?: number | null;
  signal?: string;
  stderr?: string;
  stdout?: string;
}

/**
 * A failure reaching a router or running a command on it: a plain `Error` with the details as
 * properties and a brand. Not a subclass: Pulumi's closure serializer turns classes into plain
 * functions, and an `Error` subclass then loses its message. Recognize one with
 * `TransportError.isInstance(error)`, then react to `error.kind` ("command-failed", …).
 */
export interface TransportError extends Error, TransportErrorDetails {
  readonly [BRAND]: true;
}

/** Makes a {@link TransportError}. */
export function transportError(message: string, details: TransportErrorDetails): TransportError {
  const error = new Error(message) as Error & Record<string, unknown>;
  error.name = "TransportError";
  Object.assign(error, details);
  error[BRAND] = true;
  return error as unknown as TransportError;
}

/** Recognizes a {@link TransportError}, whichever module instance made it. */
export const TransportError = {
  isInstance(value: unknown): value is TransportError {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[BRAND] === true;
  },
};

/** The error for a command outcome that failed: its quoted command line, status, stderr. */
export function outcomeFailed(
  router: string,
  outcome: CommandOutcome,
  stderr = outcome.stderr,
): TransportError {
  return commandFailed(router, commandLine(outcome.argv), outcome.exitCode, stderr, outcome.stdout);
}

/** Trims command output for an error message: whole lines, at most `limit` characters. */
export function excerpt(text: string, limit = 2000): string {
  const trimmed = text.trim();
  return trimmed.length <= limit
    ? trimmed
    : `${trimmed.slice(0, limit)}… (${trimmed.length - limit} more characters)`;
}

/** The error for a command that ran and failed. */
export function commandFailed(
  router: string,
  command: string,
  exitCode: number | null,
  stderr: string,
  stdout: string,
  signal?: string,
): TransportError {
  const status =
    exitCode !== null
      ? `exited with status ${exitCode}`
      : signal
        ? `was killed by signal ${signal}`
        : "ended without an exit status (its session was cut off)";
  const said = excerpt(stderr) || "(no stderr)";
  return transportError(`${router}: command \`${command}\` ${status}: ${said}`, {
    kind: "command-failed",
    router,
    command,
    exitCode,
    signal,
    stderr,
    stdout,
  });
}
