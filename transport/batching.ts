/**
 * What coalesced reads (`reads.ts`) and coalesced changes (`changes.ts`) share: a slot per router
 * and expected host keys, and the wait before a batch goes — for the router's connection, then a
 * few milliseconds more for others to join.
 *
 * @packageDocumentation
 */
import { setTimeout as sleep } from "timers/promises";
import { routerLabel, type ExpectedHostKeys, type ResolvedConnection } from "./connection";
import { checkHostKeys, connectTimedOut, type RunResult } from "./exec";
import { acquireEntry, beforeDeadline, hold, poolKey, release } from "./pool";
import { processWide } from "../schemas/processState";
import type { RecordedHostKeys } from "./roundTripTypes";

/** How long a request waits for others to share its round trip. */
export const COALESCE_WINDOW_MS = 10;

/**
 * The slot named `kind` of one router and expected host keys, on `globalThis`: the providers of
 * one process share it, and a request that expects a recorded key never shares a round trip with
 * one that does not.
 */
export function routerSlot<T extends object>(
  kind: string,
  conn: ResolvedConnection,
  expected: ExpectedHostKeys,
): T {
  const all = processWide(`transport.${kind}`, () => new Map<string, T>());
  const key = `${poolKey(conn)}\u0000${expected.router?.fingerprint ?? ""}\u0000${expected.jump?.fingerprint ?? ""}`;
  let slot = all.get(key);
  if (!slot) {
    slot = {} as T;
    all.set(key, slot);
  }
  return slot;
}

/**
 * Waits, before `deadline`, for the router's connection to be up (requests that arrive meanwhile
 * join the batch), then for the coalescing window. Rejects with the connect timeout naming `shown`.
 */
export async function connectedAndWindow(
  conn: ResolvedConnection,
  expected: ExpectedHostKeys,
  deadline: number,
  timeoutMs: number,
  shown: () => string,
): Promise<void> {
  const entry = acquireEntry(conn, expected);
  hold(entry);
  try {
    await beforeDeadline(entry.ready, deadline, () => connectTimedOut(entry, shown(), timeoutMs));
    await sleep(COALESCE_WINDOW_MS);
  } finally {
    release(entry);
  }
}

/** The keys a batch's round trip expects, in the form a round trip takes them. */
export function recordedOf(expected: ExpectedHostKeys): RecordedHostKeys {
  return { hostKey: expected.router?.fingerprint, jumpHostKey: expected.jump?.fingerprint };
}

/** Checks, for one requester, the host keys its shared round trip met against what it expected. */
export function checkSharedHostKeys(
  conn: ResolvedConnection,
  shared: RunResult,
  expected: ExpectedHostKeys,
): void {
  checkHostKeys(
    {
      label: routerLabel(conn),
      hostKey: shared.hostKey,
      jump: conn.proxy ? { label: routerLabel(conn.proxy), hostKey: shared.jumpHostKey } : undefined,
    },
    expected,
  );
}
