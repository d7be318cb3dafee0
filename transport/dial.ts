/**
 * Dialing a router: the byte stream the SSH session runs over (TCP, a ProxyCommand, or a channel
 * through a jump host), the credentials, and the host key, which is checked inside the handshake so
 * that a host with another key receives no credential. One attempt per call; retries are the pool's.
 *
 * @packageDocumentation
 */
import { setTimeout as sleep } from "timers/promises";
import { spawn } from "child_process";
import { connect as netConnect } from "net";
import { Duplex } from "stream";
import { Client, type ClientChannel, type ConnectConfig } from "ssh2";
import {
  hostKeyFingerprint,
  type ExpectedHostKey,
  type ExpectedHostKeys,
  type ResolvedConnection,
} from "./connection";
import { type ProxyConnection } from "../model/connection";
import { excerpt, transportError, type TransportError } from "./errors";
import { commandLine } from "./script";

/** A handle that keeps the process alive while held: a socket or a child process. */
export interface Handle {
  ref(): void;
  unref(): void;
}

/** An open SSH connection to a jump host, to tunnel through. */
export interface JumpHost {
  label: string;
  ready: Promise<void>;
  client?: Client;
  /** The fingerprint the jump host presented. */
  hostKey?: string;
}

/** A connection that completed its handshake. */
export interface Dialed {
  client: Client;
  hostKey: string;
  handles: Handle[];
}

interface Stream {
  sock: Duplex;
  handles: Handle[];
  /** What the stream's proxy said, once it ended (for the error). */
  diagnostics: () => Promise<string>;
  dispose: () => void;
}

/** SSH keepalives: one every 5 s, the connection given up after 3 unanswered. */
const KEEPALIVE_INTERVAL_MS = 5000;
const KEEPALIVE_COUNT_MAX = 3;

/** Replaces `%h` and `%p` in a ProxyCommand argv. */
export function proxyCommandArgv(argv: readonly string[], host: string, port: number): string[] {
  // One pass, as ssh reads its tokens: `%%h` is a literal `%h`, not `%` and the host.
  const tokens: Record<string, string> = { h: host, p: String(port), "%": "%" };
  return argv.map((word) => word.replace(/%([hp%])/g, (_, token: string) => tokens[token]));
}

async function throughJumpHost(
  conn: ResolvedConnection,
  label: string,
  jump: JumpHost,
  expectedJump: ExpectedHostKey | undefined,
): Promise<Stream> {
  await jump.ready;
  // A pooled jump host may have been dialed by a call that expected nothing: check it before use.
  if (expectedJump && jump.hostKey !== expectedJump.fingerprint)
    throw hostKeyMismatch(jump.label, expectedJump, jump.hostKey ?? "no key");
  const channel = await new Promise<ClientChannel>((resolve, reject) => {
    jump.client!.forwardOut("127.0.0.1", 0, conn.host, conn.port, (err, stream) =>
      err
        ? reject(
            transportError(`${label}: the jump host ${jump.label} could not open a tunnel: ${err.message}`, {
              kind: "connect-failed",
              router: label,
            }),
          )
        : resolve(stream),
    );
  });
  return { sock: channel, handles: [], diagnostics: async () => "", dispose: () => channel.destroy() };
}

function throughProxyCommand(conn: ResolvedConnection, proxyCommand: readonly string[]): Stream {
  const argv = proxyCommandArgv(proxyCommand, conn.host, conn.port);
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
  return {
    sock,
    handles: [
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
    ],
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

/** Opens the byte stream the SSH session runs over: TCP, a ProxyCommand, or a jump host. */
async function openStream(
  conn: ResolvedConnection,
  label: string,
  jump: JumpHost | undefined,
  expectedJump: ExpectedHostKey | undefined,
): Promise<Stream> {
  if (jump) return throughJumpHost(conn, label, jump, expectedJump);
  if (conn.proxyCommand) return throughProxyCommand(conn, conn.proxyCommand);
  const socket = netConnect({ host: conn.host, port: conn.port });
  return { sock: socket, handles: [socket], diagnostics: async () => "", dispose: () => socket.destroy() };
}

function credentials(conn: ProxyConnection & { user: string }): Partial<ConnectConfig> {
  const agent =
    conn.agentSocketPath ?? (conn.password || conn.privateKey ? undefined : process.env.SSH_AUTH_SOCK);
  return {
    username: conn.user,
    password: conn.password,
    privateKey: conn.privateKey,
    passphrase: conn.privateKeyPassword,
    agent,
  };
}

/** The error for a host that presented another key than the one expected. */
export function hostKeyMismatch(label: string, expected: ExpectedHostKey, presented: string): TransportError {
  return transportError(
    `${label}: host key mismatch: expected ${expected.fingerprint} (${expected.source}), the router presented ${presented}. ` +
      `If the router was reinstalled on purpose, set connection.hostKey to the new fingerprint; otherwise someone may be intercepting the connection.`,
    { kind: "host-key-mismatch", router: label },
  );
}

/**
 * One connection attempt. With `expected` keys, a router presenting another key is refused inside
 * the handshake, before authentication, so it receives no credential; a jump host with another key
 * is not used at all.
 */
export async function dialOnce(
  conn: ResolvedConnection,
  label: string,
  jump: JumpHost | undefined,
  expected: ExpectedHostKeys,
  abandon: { onAbandon?: () => void } = {},
): Promise<Dialed> {
  const stream = await openStream(conn, label, jump, expected.jump);
  const client = new Client();
  // Whoever gave up on this dial (the pool closing the entry) ends it at once.
  abandon.onAbandon = () => {
    client.end();
    stream.dispose();
  };
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
        fail(() => hostKeyMismatch(label, expected.router!, seen!));
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
        // 0: no maximum (ssh2 sets no timer), as @pulumi/command reads it.
        readyTimeout: conn.perDialTimeout * 1000,
        // A router that died silently (power cut, frozen kernel, cut link) is noticed within about
        // 15 s, and its connection leaves the pool.
        keepaliveInterval: KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        hostVerifier: (key: Buffer) => {
          seen = hostKeyFingerprint(key);
          if (expected.router && expected.router.fingerprint !== seen) {
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
