/**
 * What a caller outside the product may attach to the transport of this process: an observer that
 * counts connections and round trips, and a replacement for how a call is run (the benchmark's
 * naive baseline). Process-wide, as the pool is, so that every deserialized provider of the process
 * sees them. The product never installs any.
 *
 * @packageDocumentation
 */
import type { ResolvedConnection } from "./connection";
import type { RoundTripOptions, RunResult } from "./roundTripTypes";
import { processWide } from "../schemas/processState";
import type { RemoteCommand } from "../model/command";

/** Told what the transport does. */
export interface TransportObserver {
  /** An SSH connection was opened (after its handshake). */
  connectionOpened?(router: string): void;
  /** A round trip went out with these commands. */
  roundTrip?(router: string, commands: readonly RemoteCommand[]): void;
}

/** Runs one round trip the product's way, optionally on a connection of its own (closed after). */
export type RoundTrip = (
  connection: ResolvedConnection,
  commands: readonly RemoteCommand[],
  options: RoundTripOptions & { dedicatedConnection?: boolean },
) => Promise<RunResult>;

/** What may be attached. */
export interface TransportHooks {
  observer?: TransportObserver;
  /**
   * Runs a call instead of the product's pooling and coalescing, given the product's own round trip
   * (the benchmark's baseline opens a connection per command with it).
   */
  run?: (
    connection: ResolvedConnection,
    commands: readonly RemoteCommand[],
    options: RoundTripOptions,
    roundTrip: RoundTrip,
  ) => Promise<RunResult>;
}

/** Where the hooks live: a process-wide holder, so that they can be taken off again. */
function holder(): { hooks?: TransportHooks } {
  return processWide("transport.hooks", () => ({}));
}

/** The hooks attached in this process (none by default). */
export function transportHooks(): TransportHooks {
  return holder().hooks ?? {};
}

/** Attaches `hooks` for this process; returns the function that takes them off again. */
export function installTransportHooks(hooks: TransportHooks): () => void {
  const slot = holder();
  const before = slot.hooks;
  slot.hooks = hooks;
  return () => {
    slot.hooks = before;
  };
}
