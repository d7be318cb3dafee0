/**
 * What one round trip takes and returns: the options every call may give, and one outcome per
 * command with the host key the router presented.
 *
 * @packageDocumentation
 */
import type { CommandOutcome } from "./script";

/** Options of one round trip. */
export interface RoundTripOptions {
  /** Stop at the first failing command (the rest do not run). Default true. */
  stopOnError?: boolean;
  /** Throw a {@link TransportError} when a command fails. Default true. */
  check?: boolean;
  /** Seconds the round trip may take; default the connection's `commandTimeout`. */
  timeoutSeconds?: number;
  /**
   * The host key recorded earlier (in resource state). A different key is a hard error; the
   * connection's own `hostKey` pin, when set, takes precedence.
   */
  expectedHostKey?: string;
}

/** What a round trip returned. */
export interface RunResult {
  /** One outcome per command, in order. */
  outcomes: CommandOutcome[];
  /** The fingerprint of the host key the router presented. */
  hostKey: string;
}
