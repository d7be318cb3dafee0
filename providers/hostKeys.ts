/**
 * The SSH host keys a resource records in its state — the router's and its jump host's — and
 * where each came from: pinned in the connection, seen when the resource was created (trust on
 * first use), or adopted because the state had none (an older or hand-written state). Whatever was
 * recorded is enforced in the handshake from then on.
 *
 * @packageDocumentation
 */
import type { RecordedHostKeys } from "../transport/roundTripTypes";
import { routerLabel } from "../transport/connection";
import { type Connection } from "../model/connection";
import { warning } from "./notices";

export type { RecordedHostKeys };

/** Where a recorded host key came from. */
export type HostKeyOrigin = "pinned" | "first use" | "adopted";

/** What a state keeps of one router's host keys. */
export interface HostKeyState {
  /** The router's host key (SHA256 fingerprint), enforced on every later operation. */
  hostKey: string;
  /** The jump host's key, when the router is reached through one; null otherwise. */
  jumpHostKey: string | null;
  /** Where `hostKey` came from. */
  hostKeyOrigin: HostKeyOrigin;
}

/** The keys to expect, from a state (none before create). */
export function recordedKeys(state: Partial<HostKeyState> | undefined): RecordedHostKeys {
  return { hostKey: state?.hostKey, jumpHostKey: state?.jumpHostKey ?? undefined };
}

/**
 * What to record after a step that saw `seen`: the keys, and where they came from. A state that
 * had no key adopts the one seen now, and the user is told.
 */
export function keysToRecord(
  connection: Connection,
  seen: { hostKey: string; jumpHostKey?: string },
  previous: Partial<HostKeyState> | undefined,
): HostKeyState {
  const adopted = previous !== undefined && !previous.hostKey && !connection.hostKey;
  if (adopted)
    warning(
      `${routerLabel(connection)}: no host key was recorded for this router; adopted ${seen.hostKey} (seen now), enforced from now on. Pin it with connection.hostKey to be sure it is the router's`,
    );
  if (
    previous !== undefined &&
    connection.proxy &&
    !previous.jumpHostKey &&
    !connection.proxy.hostKey &&
    seen.jumpHostKey
  )
    warning(
      `${routerLabel(connection)}: no host key was recorded for its jump host ${connection.proxy.host}; adopted ${seen.jumpHostKey} (seen now), enforced from now on`,
    );
  const origin: HostKeyOrigin = connection.hostKey
    ? "pinned"
    : adopted
      ? "adopted"
      : (previous?.hostKeyOrigin ?? "first use");
  return { hostKey: seen.hostKey, jumpHostKey: seen.jumpHostKey ?? null, hostKeyOrigin: origin };
}
