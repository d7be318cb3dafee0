/**
 * The one module that does remote I/O. Every command the product runs on a router goes through
 * {@link runOnRouter}: one pooled SSH connection per router per process, shared by every resource
 * (and every deserialized provider) in that process, with bounded connect retries, host-key
 * pinning or trust-on-first-use recording, a timeout per round trip, and several commands framed
 * into one exec so they cost one round trip.
 *
 * The pool lives on `globalThis` under a registered symbol: Pulumi deserializes each dynamic
 * provider into its own module instance, so module-level state would not be shared, and a live
 * client must never be captured into a serialized closure.
 *
 * @packageDocumentation
 */
import { spawn } from "child_process";
import { writeFileSync } from "fs";
import { createHash, randomBytes } from "crypto";
import { connect as netConnect } from "net";
import { Duplex } from "stream";
import { Client, type ClientChannel, type ConnectConfig } from "ssh2";
import {
  hostKeyFingerprint,
  pinnedFingerprint,
  resolveConnection,
  routerLabel,
  type Connection,
  type ProxyConnection,
  type ResolvedConnection,
} from "./connection";
import { TransportError, commandFailed, excerpt, outcomeFailed, transportError } from "./errors";
import {
  batchScript,
  commandLine,
  parseBatchOutput,
  parseProcessGroup,
  mergeCommands,
  processesStarted,
  type CommandOutcome,
  type RemoteCommand,
} from "./script";

/** Options of one round trip. */
export interface RunOptions {
  /** Stop at the first failing command (the rest do not run). Default true. */
  stopOnError?: boolean;
  /** Throw a {@link TransportError} when a command fails. Default true. */
  check?: boolean;
  /** Seconds the round trip may take; default the connection's `commandTimeout`. */
  timeoutSeconds?: number;
  /**
   * The commands only read: they may share one round trip with other reads of the same router
   * that arrive at about the same time (a refresh reads many resources at once). Default false.
   */
  coalesce?: boolean;
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

/** Counters of what the transport did in this process, for benchmarks. */
export interface TransportStats {
  connectionsOpened: number;
  roundTrips: number;
  commands: number;
  /** Processes started on routers: a shell per round trip, and each command that is not a builtin. */
  processes: number;
}

/** A handle that keeps the process alive while held: a socket or a child process. */
interface Handle {
  ref(): void;
  unref(): void;
}

interface PoolEntry {
  key: string;
  label: string;
  client?: Client;
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
  /** Reads waiting to share the next round trip. */
  readBatch?: ReadBatch;
  /** The shared read round trip under way, if any. */
  readInFlight?: Promise<void>;
}

interface ReadBatch {
  requests: Array<{
    commands: readonly RemoteCommand[];
    resolve: (result: { outcomes: CommandOutcome[]; hostKey: string }) => void;
    reject: (error: unknown) => void;
  }>;
  timeoutSeconds?: number;
}

interface Registry {
  entries: Map<string, PoolEntry>;
  stats: TransportStats;
}

/** At most this many channels at once on one connection (OpenSSH's MaxSessions is 10). */
const MAX_CHANNELS = 8;
/** An idle connection is closed after this long; it never keeps the process alive meanwhile. */
const IDLE_CLOSE_MS = 30_000;

function registry(): Registry {
  const slot = Symbol.for("pulumi-gre.transport.registry");
  const global = globalThis as unknown as Record<symbol, Registry | undefined>;
  let found = global[slot];
  if (!found) {
    found = { entries: new Map(), stats: { connectionsOpened: 0, roundTrips: 0, commands: 0, processes: 0 } };
    global[slot] = found;
  }
  return found;
}

/** Counts a round trip; with $GRE_TRANSPORT_STATS set, the counters also go to that file (benchmarks). */
function countRoundTrip(commands: readonly RemoteCommand[]): void {
  const { stats } = registry();
  stats.roundTrips++;
  stats.commands += commands.length;
  stats.processes += processesStarted(commands);
  reportStats();
}

function reportStats(): void {
  const file = process.env.GRE_TRANSPORT_STATS;
  if (file) writeFileSync(file, JSON.stringify(registry().stats));
}

/**
 * How the transport talks to routers: `pooled` (one connection per router, commands batched) or
 * `naive`, the common way the benchmark compares against: a new connection for every command.
 */
function transportMode(): "pooled" | "naive" {
  return process.env.GRE_TRANSPORT_MODE === "naive" ? "naive" : "pooled";
}

/** What the transport did in this process so far. */
export function transportStats(): TransportStats {
  return { ...registry().stats };
}

/** Which pooled connection serves `connection`: same endpoint, same route, same credentials. */
function poolKey(connection: ProxyConnection & { proxy?: ProxyConnection; proxyCommand?: string[] }): string {
  const identity = {
    host: connection.host,
    port: connection.port ?? 22,
    user: connection.user ?? "root",
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether retrying a failed dial could help. */
function isPermanent(error: unknown): boolean {
  return (
    TransportError.isInstance(error) && (error.kind === "auth-failed" || error.kind === "host-key-mismatch")
  );
}

function hold(entry: PoolEntry): void {
  entry.holds++;
  if (entry.idleTimer) {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
  }
  if (entry.holds === 1) {
    entry.handles.forEach((h) => h.ref());
    if (entry.jump) {
      hold(entry.jump);
    }
  }
}

function release(entry: PoolEntry): void {
  entry.holds--;
  if (entry.holds > 0) {
    return;
  }
  entry.handles.forEach((h) => h.unref());
  if (entry.jump) {
    release(entry.jump);
  }
  entry.idleTimer = setTimeout(() => closeEntry(entry), IDLE_CLOSE_MS);
  entry.idleTimer.unref();
}

function closeEntry(entry: PoolEntry): void {
  if (entry.closed) {
    return;
  }
  entry.closed = true;
  const { entries } = registry();
  if (entries.get(entry.key) === entry) {
    entries.delete(entry.key);
  }
  if (entry.idleTimer) {
    clearTimeout(entry.idleTimer);
  }
  entry.client?.end();
}

/** Closes every pooled connection of this process (tests and the end of a run). */
export function closeAllConnections(): void {
  for (const entry of [...registry().entries.values()]) {
    closeEntry(entry);
  }
}

/** Replaces `%h` and `%p` in a ProxyCommand argv. */
export function proxyCommandArgv(argv: readonly string[], host: string, port: number): string[] {
  return argv.map((word) => word.replace(/%h/g, host).replace(/%p/g, String(port)).replace(/%%/g, "%"));
}

interface Dialed {
  client: Client;
  hostKey: string;
  handles: Handle[];
}

/** Opens the byte stream the SSH session runs over: TCP, a ProxyCommand, or a jump host. */
async function openStream(
  conn: ResolvedConnection,
  label: string,
  jump: PoolEntry | undefined,
): Promise<{ sock: Duplex; handles: Handle[]; diagnostics: () => Promise<string>; dispose: () => void }> {
  if (jump) {
    await jump.ready;
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      jump.client!.forwardOut("127.0.0.1", 0, conn.host, conn.port, (err, stream) =>
        err
          ? reject(
              transportError(
                `${label}: the jump host ${jump.label} could not open a tunnel: ${err.message}`,
                { kind: "connect-failed", router: label },
              ),
            )
          : resolve(stream),
      );
    });
    return { sock: channel, handles: [], diagnostics: async () => "", dispose: () => channel.destroy() };
  }
  if (conn.proxyCommand) {
    const argv = proxyCommandArgv(conn.proxyCommand, conn.host, conn.port);
    const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    let spawnError = "";
    child.on("error", (err) => {
      spawnError = err.message;
    });
    // What the proxy command printed arrives after the stream closes; wait for it (briefly).
    const exited = new Promise<void>((resolve) => {
      child.on("close", () => resolve());
      child.on("error", () => resolve());
    });
    const sock = Duplex.from({ readable: child.stdout, writable: child.stdin });
    const pipes = [child.stdout, child.stdin, child.stderr] as unknown as Handle[];
    const handles: Handle[] = [
      {
        ref: () => {
          child.ref();
          pipes.forEach((p) => p.ref());
        },
        unref: () => {
          child.unref();
          pipes.forEach((p) => p.unref());
        },
      },
    ];
    return {
      sock,
      handles,
      diagnostics: async () => {
        await Promise.race([exited, sleep(1000)]);
        return [
          spawnError && `proxy command \`${commandLine(argv)}\` failed to start: ${spawnError}`,
          stderr && `proxy command said: ${excerpt(stderr, 500)}`,
        ]
          .filter(Boolean)
          .join("; ");
      },
      dispose: () => {
        sock.destroy();
        child.kill();
      },
    };
  }
  const socket = netConnect({ host: conn.host, port: conn.port });
  return { sock: socket, handles: [socket], diagnostics: async () => "", dispose: () => socket.destroy() };
}

function credentials(conn: ProxyConnection): Partial<ConnectConfig> {
  const agent =
    conn.agentSocketPath ?? (conn.password || conn.privateKey ? undefined : process.env.SSH_AUTH_SOCK);
  return {
    username: conn.user ?? "root",
    password: conn.password,
    privateKey: conn.privateKey,
    passphrase: conn.privateKeyPassword,
    agent,
  };
}

/** One connection attempt. */
async function dialOnce(
  conn: ResolvedConnection,
  label: string,
  jump: PoolEntry | undefined,
): Promise<Dialed> {
  const stream = await openStream(conn, label, jump);
  const client = new Client();
  let seen: string | undefined;
  let mismatch = false;
  return new Promise<Dialed>((resolve, reject) => {
    let settled = false;
    const fail = (makeError: (said: string) => TransportError) => {
      if (settled) return;
      settled = true;
      void stream.diagnostics().then((said) => {
        stream.dispose();
        client.end();
        reject(makeError(said ? ` (${said})` : ""));
      });
    };
    client.on("ready", () => {
      if (settled) return;
      settled = true;
      resolve({ client, hostKey: seen!, handles: stream.handles });
    });
    client.on("error", (err: Error & { level?: string }) => {
      if (mismatch) {
        fail(() =>
          transportError(
            `${label}: host key mismatch: expected ${pinnedFingerprint(conn.hostKey!)}, the router presented ${seen}. ` +
              `If the router was reinstalled on purpose, update the pinned hostKey; otherwise someone may be intercepting the connection.`,
            { kind: "host-key-mismatch", router: label },
          ),
        );
      } else if (err.level === "client-authentication") {
        fail((said) =>
          transportError(`${label}: authentication failed for user ${conn.user}: ${err.message}${said}`, {
            kind: "auth-failed",
            router: label,
          }),
        );
      } else {
        fail((said) =>
          transportError(`${label}: connection failed: ${err.message}${said}`, {
            kind: "connect-failed",
            router: label,
          }),
        );
      }
    });
    client.on("close", () =>
      fail((said) =>
        transportError(`${label}: connection closed during the handshake${said}`, {
          kind: "connect-failed",
          router: label,
        }),
      ),
    );
    try {
      client.connect({
        sock: stream.sock,
        ...credentials(conn),
        readyTimeout: conn.perDialTimeout * 1000,
        hostVerifier: (key: Buffer) => {
          seen = hostKeyFingerprint(key);
          if (conn.hostKey && pinnedFingerprint(conn.hostKey) !== seen) {
            mismatch = true;
            return false;
          }
          return true;
        },
      });
    } catch (err) {
      // ssh2 throws synchronously for unusable credentials (an unparsable key, no passphrase).
      fail(() =>
        transportError(`${label}: ${(err as Error).message}`, { kind: "auth-failed", router: label }),
      );
    }
  });
}

/** Dials with the connection's retry budget, returning a pooled entry. */
function openEntry(conn: ResolvedConnection, key: string): PoolEntry {
  const label = routerLabel(conn);
  const jump = conn.proxy ? acquireEntry(resolveConnection(conn.proxy)) : undefined;
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
  };
  entry.ready = (async () => {
    let lastError: unknown;
    for (let attempt = 1; attempt <= conn.dialErrorLimit; attempt++) {
      try {
        const dialed = await dialOnce(conn, label, jump);
        registry().stats.connectionsOpened++;
        reportStats();
        entry.client = dialed.client;
        entry.hostKey = dialed.hostKey;
        entry.handles = dialed.handles;
        if (entry.holds === 0) {
          entry.handles.forEach((h) => h.unref());
        }
        dialed.client.on("close", () => closeEntry(entry));
        dialed.client.on("error", () => closeEntry(entry));
        return;
      } catch (error) {
        lastError = error;
        if (isPermanent(error) || attempt === conn.dialErrorLimit) {
          break;
        }
        await sleep(Math.min(250 * 2 ** (attempt - 1), 4000));
      }
    }
    closeEntry(entry);
    if (isPermanent(lastError)) {
      throw lastError;
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw transportError(`${label}: unreachable after ${conn.dialErrorLimit} attempt(s): ${reason}`, {
      kind: "connect-failed",
      router: label,
    });
  })();
  // A failed dial is reported to whoever awaits `ready`; the pool must not see it as unhandled.
  entry.ready.catch(() => undefined);
  return entry;
}

function acquireEntry(conn: ResolvedConnection): PoolEntry {
  const key = poolKey(conn);
  const { entries } = registry();
  let entry = entries.get(key);
  if (!entry || entry.closed) {
    entry = openEntry(conn, key);
    entries.set(key, entry);
  }
  return entry;
}

async function channelSlot(entry: PoolEntry): Promise<void> {
  if (entry.active < MAX_CHANNELS) {
    entry.active++;
    return;
  }
  await new Promise<void>((resolve) => entry.queue.push(resolve));
  entry.active++;
}

function freeChannelSlot(entry: PoolEntry): void {
  entry.active--;
  entry.queue.shift()?.();
}

/** Runs one exec and collects its output, with a deadline. */
function execOnce(
  entry: PoolEntry,
  commandText: string,
  shownCommand: string,
  timeoutMs: number,
  onTimeout: (stdoutSoFar: string) => void,
): Promise<{ exitCode: number | null; signal?: string; stdout: string; stderr: string }> {
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

/** What an exec sends: the script, or under `sudo` the script run by a root shell (no TTY, no password). */
function execText(conn: ResolvedConnection, script: string): string {
  return conn.sudo ? `sudo -n -- sh -c ${commandLine([script])}` : script;
}

/**
 * Kills the process group of a round trip that timed out, over the same connection: closing the
 * channel does not stop a command that writes nothing, and OpenSSH ignores signal requests.
 */
function killProcessGroup(entry: PoolEntry, conn: ResolvedConnection, pgid: number): void {
  // `kill -KILL -PGID` rather than `kill -s KILL -- -PGID`: dash's builtin kill has no `--`.
  const kill = commandLine(["kill", "-KILL", `-${pgid}`]);
  const text = conn.sudo ? `sudo -n -- ${kill}` : kill;
  hold(entry);
  execOnce(entry, text, kill, 10_000, () => undefined)
    .catch(() => undefined)
    .finally(() => release(entry));
}

/**
 * Runs `commands` on the router in one round trip and returns each command's outcome.
 *
 * Throws a {@link TransportError} naming the router when it cannot be reached, its host key differs
 * from the pinned or recorded one, the round trip times out, sudo wants a password, or (unless
 * `check` is false) a command fails; the error then names that command, its exit status and stderr.
 *
 * @example
 * ```ts
 * const { outcomes } = await runOnRouter(connection, [
 *   { argv: ["ip", "-j", "-d", "link", "show"] },
 *   { argv: ["ip", "-j", "addr", "show"] },
 * ]);
 * ```
 */
export async function runOnRouter(
  connection: Connection,
  commands: readonly RemoteCommand[],
  options: RunOptions = {},
): Promise<RunResult> {
  if (commands.length === 0) {
    throw new Error("runOnRouter needs at least one command");
  }
  const conn = resolveConnection(connection);
  if (transportMode() === "naive") return runNaive(conn, commands, options);
  if (options.coalesce) return coalescedRead(conn, commands, options);
  const nonce = randomBytes(12).toString("hex");
  const script = batchScript(commands, nonce, options.stopOnError ?? true);
  const commandText = execText(conn, script);
  const shown = commands.map((c) => commandLine(c.argv)).join("; ");
  const timeoutMs = (options.timeoutSeconds ?? conn.commandTimeout) * 1000;
  // A pooled connection can have died while idle (the router rebooted); a channel that could not
  // even be opened ran nothing, so one retry on a fresh connection is safe.
  for (let attempt = 1; ; attempt++) {
    const entry = acquireEntry(conn);
    hold(entry);
    try {
      await entry.ready;
      checkHostKey(entry, expectedKey(conn, options));
      await channelSlot(entry);
      let raw: Awaited<ReturnType<typeof execOnce>>;
      try {
        countRoundTrip(commands);
        raw = await execOnce(entry, commandText, shown, timeoutMs, (stdoutSoFar) => {
          const pgid = parseProcessGroup(nonce, stdoutSoFar);
          if (pgid !== undefined) killProcessGroup(entry, conn, pgid);
        });
      } catch (error) {
        if (attempt === 1 && TransportError.isInstance(error) && error.kind === "connect-failed") {
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
    }
  }
}

/** The host key a call expects: the connection's pin, else the one recorded in state. */
function expectedKey(
  conn: ResolvedConnection,
  options: RunOptions,
): { fingerprint: string; source: string } | undefined {
  if (conn.hostKey)
    return { fingerprint: pinnedFingerprint(conn.hostKey), source: "pinned in the connection" };
  if (options.expectedHostKey)
    return { fingerprint: options.expectedHostKey, source: "recorded when the resource was created" };
  return undefined;
}

/** How long a read waits for others to share its round trip, once the connection is up. */
const COALESCE_WINDOW_MS = 10;

/**
 * A read that shares its round trip: requests for one router that arrive while the connection
 * comes up, or within a few milliseconds of each other, go out as one exec, each distinct command
 * once; every requester gets its own outcomes and its own failures.
 */
async function coalescedRead(
  conn: ResolvedConnection,
  commands: readonly RemoteCommand[],
  options: RunOptions,
): Promise<RunResult> {
  const entry = acquireEntry(conn);
  hold(entry);
  try {
    let batch = entry.readBatch;
    if (!batch) {
      const fresh: ReadBatch = { requests: [] };
      entry.readBatch = batch = fresh;
      void flushReads(conn, entry, fresh);
    }
    if (options.timeoutSeconds !== undefined)
      batch.timeoutSeconds = Math.max(batch.timeoutSeconds ?? 0, options.timeoutSeconds);
    const shared = await new Promise<{ outcomes: CommandOutcome[]; hostKey: string }>((resolve, reject) =>
      batch!.requests.push({ commands, resolve, reject }),
    );
    checkHostKey({ label: entry.label, hostKey: shared.hostKey }, expectedKey(conn, options));
    const failed = shared.outcomes.find((o) => o.exitCode !== 0);
    if (failed && (options.check ?? true)) {
      throw outcomeFailed(entry.label, failed);
    }
    return { outcomes: shared.outcomes, hostKey: shared.hostKey };
  } finally {
    release(entry);
  }
}

async function flushReads(conn: ResolvedConnection, entry: PoolEntry, batch: ReadBatch): Promise<void> {
  try {
    await entry.ready;
    await sleep(COALESCE_WINDOW_MS);
    // One shared read in flight per router: whatever arrives meanwhile waits and goes next, together.
    await entry.readInFlight;
  } catch (error) {
    if (entry.readBatch === batch) entry.readBatch = undefined;
    batch.requests.forEach((r) => r.reject(error));
    return;
  }
  if (entry.readBatch === batch) entry.readBatch = undefined;
  const { commands, positions } = mergeCommands(batch.requests.map((r) => r.commands));
  try {
    const running = runOnRouter(conn, commands, {
      check: false,
      stopOnError: false,
      timeoutSeconds: batch.timeoutSeconds,
    });
    entry.readInFlight = running.then(
      () => undefined,
      () => undefined,
    );
    const result = await running;
    batch.requests.forEach((request, i) =>
      request.resolve({
        outcomes: positions[i].map((at, j) => ({
          ...result.outcomes[at],
          argv: [...request.commands[j].argv],
        })),
        hostKey: result.hostKey,
      }),
    );
  } catch (error) {
    batch.requests.forEach((r) => r.reject(error));
  }
}

/**
 * The naive way, for the benchmark's baseline: every command on a connection of its own, opened
 * and closed around it, one round trip each.
 */
async function runNaive(
  conn: ResolvedConnection,
  commands: readonly RemoteCommand[],
  options: RunOptions,
): Promise<RunResult> {
  const outcomes: CommandOutcome[] = [];
  let hostKey = "";
  let stopped = false;
  for (const command of commands) {
    if (stopped) {
      outcomes.push({ argv: [...command.argv], ran: false, exitCode: null, stdout: "", stderr: "" });
      continue;
    }
    const entry = openEntry(conn, `naive:${poolKey(conn)}`);
    hold(entry);
    try {
      await entry.ready;
      checkHostKey(entry, expectedKey(conn, options));
      const nonce = randomBytes(12).toString("hex");
      const script = batchScript([command], nonce, false);
      const text = execText(conn, script);
      countRoundTrip([command]);
      const raw = await execOnce(
        entry,
        text,
        commandLine(command.argv),
        (options.timeoutSeconds ?? conn.commandTimeout) * 1000,
        () => undefined,
      );
      const result = interpret(entry, conn, [command], nonce, raw, false);
      hostKey = result.hostKey;
      outcomes.push(result.outcomes[0]);
      if (result.outcomes[0].exitCode !== 0 && (options.stopOnError ?? true) && !command.mayFail)
        stopped = true;
    } finally {
      release(entry);
      closeEntry(entry);
    }
  }
  const failed = outcomes.find((o) => o.ran && o.exitCode !== 0);
  if (failed && (options.check ?? true)) {
    throw outcomeFailed(routerLabel(conn), failed);
  }
  return { outcomes, hostKey };
}

function checkHostKey(
  entry: Pick<PoolEntry, "label" | "hostKey">,
  expected: { fingerprint: string; source: string } | undefined,
): void {
  if (expected && expected.fingerprint !== entry.hostKey) {
    throw transportError(
      `${entry.label}: host key mismatch: expected ${expected.fingerprint} (${expected.source}), ` +
        `the router presented ${entry.hostKey}. If the router was reinstalled on purpose, set connection.hostKey to the new fingerprint.`,
      { kind: "host-key-mismatch", router: entry.label },
    );
  }
}

/** Turns the raw exec into outcomes, or the error that says which command failed and how. */
function interpret(
  entry: PoolEntry,
  conn: ResolvedConnection,
  commands: readonly RemoteCommand[],
  nonce: string,
  raw: Awaited<ReturnType<typeof execOnce>>,
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
        `${entry.label}: sudo needs a password for user ${conn.user}; grant it passwordless sudo for ip, modprobe and sysctl, or connect as root`,
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
        {
          kind: "command-failed",
          router: entry.label,
          command: unrun,
          stderr: trailingStderr,
        },
      );
    }
    throw commandFailed(entry.label, unrun, raw.exitCode, trailingStderr, trailingStdout, raw.signal);
  }
  if (failed && check) {
    throw outcomeFailed(entry.label, failed);
  }
  return { outcomes, hostKey: entry.hostKey! };
}
