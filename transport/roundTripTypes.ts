/**
 * What one round trip takes and returns: the options every call may give, and one outcome per
 * command with the host key the router presented.
 *
 * @packageDocumentation
 */
import type { CommandOutcome } from "../model/command";

/** Options of one round trip. */
export interface RoundTripOptions {
  /** Stop at the first failing command (the rest do not run). Default true. */
  stopOnError?: boolean;
  /** Throw a {@link TransportError} when a command fails. Default true. */
  check?: boolean;
  /** Seconds the round trip may take; default the connection's `commandTimeout`. */
  timeoutSeconds?: number;
  /**
   * The host keys recorded earlier (in resource state) of the router and its jump host. A host
   * presenting another key is refused in the handshake, before it receives any credential; a pin in
   * the connection (`hostKey`) takes precedence over what was recorded.
   */
  recorded?: RecordedHostKeys;
}

/** Host keys a resource recorded: the router's and, when it is reached through one, its jump host's. */
export interface RecordedHostKeys {
  hostKey?: string;
  jumpHostKey?: string;
}

/** What a round trip returned. */
export interface RunResult {
  /** One outcome per command, in order. */
  outcomes: CommandOutcome[];
  /** The fingerprint of the host key the router presented. */
  hostKey: string;
  /** The fingerprint of the jump host's key, when the router is reached through one. */
  jumpHostKey?: string;
}
