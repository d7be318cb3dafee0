/**
 * Errors of the transport. Each carries a brand checked by `isInstance()` rather than `instanceof`:
 * serialized provider code runs in another module instance than the code that catches. Messages
 * name the router, the command, its exit status and stderr, and never a secret.
 *
 * @packageDocumentation
 */

const BRAND = "__pulumiGreTransportError";

/** What went wrong, for code that reacts to a kind of failure. */
export type TransportErrorKind =
  | "command-failed"
  | "command-timeout"
  | "connect-failed"
  | "auth-failed"
  | "host-key-mismatch"
  | "sudo-password-required";

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
 * A failure reaching a router or running a command on it.
 *
 * @example
 * ```ts
 * try { await session.run([{ argv: ["ip", "link", "show", "gre1"] }]); }
 * catch (e) { if (TransportError.isInstance(e) && e.kind === "command-failed") { ... } }
 * ```
 */
export class TransportError extends Error {
  readonly [BRAND] = true;
  readonly kind: TransportErrorKind;
  readonly router: string;
  readonly command?: string;
  readonly exitCode?: number | null;
  readonly signal?: string;
  readonly stderr?: string;
  readonly stdout?: string;

  constructor(message: string, details: TransportErrorDetails) {
    super(message);
    this.name = "TransportError";
    this.kind = details.kind;
    this.router = details.router;
    this.command = details.command;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderr = details.stderr;
    this.stdout = details.stdout;
  }

  /** True for any TransportError, whichever module instance made it. */
  static isInstance(value: unknown): value is TransportError {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[BRAND] === true;
  }
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
    exitCode === null
      ? `was killed${signal ? ` by signal ${signal}` : ""}`
      : `exited with status ${exitCode}`;
  const said = excerpt(stderr) || "(no stderr)";
  return new TransportError(`${router}: command \`${command}\` ${status}: ${said}`, {
    kind: "command-failed",
    router,
    command,
    exitCode,
    signal,
    stderr,
    stdout,
  });
}
