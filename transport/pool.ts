/**
 * The connection pool: one SSH connection per router per process, shared by every resource (and
 * every deserialized provider) in the process, dialed with a bounded number of attempts, held open
 * while in use, closed after a while idle, and never keeping the process alive when idle.
 *
 * The pool is process-wide (`processState.ts`): a live client must never be captured into a
 * serialized closure, and every deserialized provider of the process shares it.
 *
 * @packageDocumentation
 */
import { setTimeout as sleep } from "timers/promises";
import { createHash } from "crypto";
import type { Client } from "ssh2";
import { resolveConnection, routerLabel, type ExpectedHostKeys, type ResolvedConnection } from "./connection";
import { type ProxyConnection } from "../model/connection";
import { dialOnce, type Handle, type JumpHost } from "./dial";
import { TransportError, transportError } from "./errors";
import { transportHooks } from "./hooks";
import { processWide } from "../schemas/processState";

/** One pooled (or dedicated) connection. */
export interface PoolEntry extends JumpHost {
  key: string;
  label: string;
  client?: Client;
  /** The fingerprint the router presented. */
  hostKey?: string;
  ready: Promise<void>;
  closed: boolean;
  /** Round trips in flight; channels are limited below sshd's MaxSessions (10). */
  active: number;
  queue: Array<() => void>;
  holds: number;
  idleTimer?: NodeJS.Timeout;
  handles: Handle[];
  jump?: PoolEntry;
  /** Why the last attempt to dial failed, while attempts go on (for an error that cannot wait). */
  lastDialError?: string;
  /** Ends a dial under way, when the entry is closed before it connects. */
  dialing: { onAbandon?: () => void };
}

/** At most this many channels at once on one connection (OpenSSH's MaxSessions is 10). */
const MAX_CHANNELS = 8;
/**
 * An idle connection is closed after this long. Its SSH keepalives keep the process alive
 * meanwhile (ssh2's keepalive timer cannot be unref'd), so it is short.
 */
const IDLE_CLOSE_MS = 10_000;

/** The pool of this process. */
function entries(): Map<string, PoolEntry> {
  return processWide("transport.pool", () => new Map<string, PoolEntry>());
}

/** Which pooled connection serves `connection`: same endpoint, same route, same credentials. */
export function poolKey(
  connection: ProxyConnection & { proxy?: ProxyConnection; proxyCommand?: string[] },
): string {
  const resolved = resolveConnection(connection);
  const identity = {
    host: resolved.host,
    port: resolved.port,
    user: resolved.user,
    proxy: connection.proxy ? poolKey(connection.proxy) : undefined,
    proxyCommand: connection.proxyCommand,
    credentials: createHash("sha256")
      .update(
        JSON.stringify([
          connection.password,
          connection.privateKey,
          connection.privateKeyPassword,
          connection.agentSocketPath,
        ]),
      )
      .digest("hex"),
  };
  return JSON.stringify(identity);
}

/** Whether retrying a failed dial could help. */
function isPermanent(error: unknown): boolean {
  return (
    TransportError.isInstance(error) && (error.kind === "auth-failed" || error.kind === "host-key-mismatch")
  );
}

/** Keeps the entry (and its jump host) open and the process alive while it is used. */
export function hold(entry: PoolEntry): void {
  entry.holds++;
  if (entry.idleTimer) {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
  }
  if (entry.holds === 1) {
    entry.handles.forEach((h) => h.ref());
    if (entry.jump) hold(entry.jump);
  }
}

/** Ends a {@link hold}; the last release starts the idle timer. */
export function release(entry: PoolEntry): void {
  entry.holds--;
  if (entry.holds > 0) return;
  entry.handles.forEach((h) => h.unref());
  if (entry.jump) release(entry.jump);
  entry.idleTimer = setTimeout(() => closeEntry(entry), IDLE_CLOSE_MS);
  entry.idleTimer.unref();
}

/** Closes the connection and takes it out of the pool. */
export function closeEntry(entry: PoolEntry): void {
  if (entry.closed) return;
  entry.closed = true;
  const pool = entries();
  if (pool.get(entry.key) === entry) pool.delete(entry.key);
  if (entry.idleTimer) clearTimeout(entry.idleTimer);
  entry.client?.end();
  entry.dialing.onAbandon?.();
}

/** Closes every pooled connection of this process (tests and the end of a run). */
export function closeAllConnections(): void {
  for (const entry of [...entries().values()]) closeEntry(entry);
}

/** Dials with the connection's retry budget. The entry is not in the pool; {@link acquireEntry} puts it there. */
export function openEntry(conn: ResolvedConnection, key: string, expected: ExpectedHostKeys): PoolEntry {
  const label = routerLabel(conn);
  const proxy = conn.proxy ? resolveConnection(conn.proxy) : undefined;
  const jump = proxy ? acquireEntry(proxy, { router: expected.jump }) : undefined;
  const entry: PoolEntry = {
    key,
    label,
    ready: Promise.resolve(),
    closed: false,
    active: 0,
    queue: [],
    holds: 0,
    handles: [],
    jump,
    dialing: {},
  };
  entry.ready = (async () => {
    let lastError: unknown;
    // @pulumi/command's meaning: -1 (any negative) without limit, 0 still dials once.
    const limit = conn.dialErrorLimit < 0 ? Infinity : Math.max(1, conn.dialErrorLimit);
    let attempts = 0;
    for (let attempt = 1; attempt <= limit; attempt++) {
      attempts = attempt;
      try {
        if (entry.closed) break;
        const dialed = await dialOnce(conn, label, jump, expected, entry.dialing);
        if (entry.closed) {
          // Given up on while the handshake completed: nobody holds this connection.
          dialed.client.end();
          break;
        }
        transportHooks().observer?.connectionOpened?.(label);
        entry.client = dialed.client;
        entry.hostKey = dialed.hostKey;
        entry.handles = dialed.handles;
        if (entry.holds === 0) entry.handles.forEach((h) => h.unref());
        dialed.client.on("close", () => closeEntry(entry));
        dialed.client.on("error", () => closeEntry(entry));
        return;
      } catch (error) {
        lastError = error;
        entry.lastDialError = error instanceof Error ? error.message : String(error);
        if (isPermanent(error) || attempt === limit) break;
        await sleep(Math.min(250 * 2 ** (attempt - 1), 4000));
      }
    }
    const abandoned = entry.closed;
    closeEntry(entry);
    if (isPermanent(lastError)) throw lastError;
    if (abandoned && lastError === undefined)
      throw transportError(`${label}: the connection was closed while it was being opened`, {
        kind: "connect-failed",
        router: label,
      });
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw transportError(`${label}: unreachable after ${attempts} attempt(s): ${reason}`, {
      kind: "connect-failed",
      router: label,
    });
  })();
  // A failed dial is reported to whoever awaits `ready`; the pool must not see it as unhandled.
  entry.ready.catch(() => undefined);
  return entry;
}

/** The pooled connection for `conn`, dialed if there is none. */
export function acquireEntry(conn: ResolvedConnection, expected: ExpectedHostKeys): PoolEntry {
  const key = poolKey(conn);
  const pool = entries();
  let entry = pool.get(key);
  if (!entry || entry.closed) {
    entry = openEntry(conn, key, expected);
    pool.set(key, entry);
  }
  return entry;
}

/** A connection of its own, outside the pool (closed by its user with {@link closeEntry}). */
export function dedicatedEntry(conn: ResolvedConnection, expected: ExpectedHostKeys): PoolEntry {
  return openEntry(conn, `dedicated:${poolKey(conn)}`, expected);
}

/**
 * Waits for a free channel on the connection, at most until `deadline` (a time in ms): then it
 * gives up its place in the queue and throws what `expired` makes.
 */
export async function channelSlot(entry: PoolEntry, deadline: number, expired: () => Error): Promise<void> {
  if (entry.active < MAX_CHANNELS) {
    entry.active++;
    return;
  }
  await new Promise<void>((resolve, reject) => {
    // Declared before the closure that clears it: Pulumi's closure serializer needs that order.
    let timer: NodeJS.Timeout | undefined = undefined;
    const waiter = () => {
      clearTimeout(timer);
      resolve();
    };
    timer = setTimeout(
      () => {
        entry.queue = entry.queue.filter((w) => w !== waiter);
        reject(expired());
      },
      Math.max(0, deadline - Date.now()),
    );
    entry.queue.push(waiter);
  });
  entry.active++;
}

/** Gives a channel back; the next waiting round trip gets it. */
export function freeChannelSlot(entry: PoolEntry): void {
  entry.active--;
  entry.queue.shift()?.();
}

/** Waits for `promise`, at most until `deadline`; then throws what `expired` makes. */
export function beforeDeadline<T>(promise: Promise<T>, deadline: number, expired: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(expired()), Math.max(0, deadline - Date.now()));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
