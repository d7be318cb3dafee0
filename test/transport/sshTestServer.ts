/**
 * An in-process ssh2 server for transport tests. It records every exec request exactly as received
 * and answers it either by running it in a local `sh` (so the transport's framing meets a real
 * shell) or by a scripted reply: stdout, stderr, exit status, a signal, or a hang.
 */
import { spawn } from "child_process";
import { connect as netConnect, type AddressInfo } from "net";
import { Server, utils, type ServerChannel } from "ssh2";
import { generateKeyPair } from "../../tools/sshKeys";
import { timingSafeEqual } from "crypto";

export { generateKeyPair };

/** A scripted answer to one exec. */
export interface ScriptedReply {
  stdout?: string;
  stderr?: string;
  exitCode?: number;
  signal?: string;
  /** Never answer (until the client closes the channel). */
  hang?: boolean;
  /** Cut the whole SSH connection while the command runs (a router that went away). */
  dropConnection?: boolean;
}

/** "shell" runs the command as received in a local sh; `{ shell }` runs that text instead. */
export type ExecHandler = (command: string) => ScriptedReply | "shell" | { shell: string };

export interface TestServer {
  port: number;
  /** Raw host public key blob, as the client's hostVerifier sees it. */
  hostKeyBlob: Buffer;
  clientPrivateKey: string;
  execs: string[];
  /** How many SSH connections were accepted. */
  connections: number;
  /** Channels closed by the client before their command finished. */
  closedEarly: number;
  signalsReceived: string[];
  /** Destinations of direct-tcpip channels (the server acting as a jump host). */
  forwards: string[];
  /** Every authentication attempt: its method, user and (for passwords) the password. */
  authAttempts: Array<{ method: string; username: string; password?: string }>;
  handler: ExecHandler;
  /** Leave session requests unanswered: a router that died silently after the handshake. */
  stallSessions: boolean;
  close(): Promise<void>;
}

function runInShell(command: string, channel: ServerChannel, onDone: () => void): void {
  // A session of its own, as sshd gives every exec.
  const child = spawn("sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"], detached: true });
  child.stdout.on("data", (d: Buffer) => channel.write(d));
  child.stderr.on("data", (d: Buffer) => channel.stderr.write(d));
  channel.on("data", (d: Buffer) => child.stdin.write(d));
  channel.on("eof", () => child.stdin.end());
  child.on("close", (code, signal) => {
    onDone();
    if (signal) {
      channel.exit(signal.replace(/^SIG/, ""), false, "");
    } else {
      channel.exit(code ?? 0);
    }
    channel.end();
  });
}

/** Starts a server with a fresh host key; `password` enables password auth too. */
export async function startTestServer(
  options: { password?: string; hostKey?: string } = {},
): Promise<TestServer> {
  const hostKey = options.hostKey ?? generateKeyPair().private;
  const clientKey = generateKeyPair();
  const allowedPub = utils.parseKey(clientKey.public);
  if (allowedPub instanceof Error) throw allowedPub;
  const parsedHost = utils.parseKey(hostKey);
  if (parsedHost instanceof Error) throw parsedHost;

  const state: Omit<TestServer, "port" | "close"> = {
    hostKeyBlob: parsedHost.getPublicSSH(),
    clientPrivateKey: clientKey.private,
    execs: [],
    connections: 0,
    closedEarly: 0,
    signalsReceived: [],
    forwards: [],
    authAttempts: [],
    stallSessions: false,
    handler: () => "shell",
  };

  const clients = new Set<{ end(): void }>();
  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    state.connections++;
    clients.add(client);
    client.on("close", () => clients.delete(client));
    client.on("authentication", (ctx) => {
      state.authAttempts.push({
        method: ctx.method,
        username: ctx.username,
        ...(ctx.method === "password" ? { password: ctx.password } : {}),
      });
      if (ctx.method === "password" && options.password !== undefined && ctx.password === options.password) {
        return ctx.accept();
      }
      if (
        ctx.method === "publickey" &&
        ctx.key.algo === allowedPub.type &&
        timingSafeEqual(ctx.key.data, allowedPub.getPublicSSH())
      ) {
        if (ctx.signature && ctx.blob && allowedPub.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
          return ctx.reject();
        }
        return ctx.accept();
      }
      return ctx.reject(["publickey", "password"]);
    });
    client.on("ready", () => {
      // As a jump host: direct-tcpip channels to loopback ports only.
      client.on("tcpip", (accept, reject, info) => {
        if (info.destIP !== "127.0.0.1") return reject();
        state.forwards.push(`${info.destIP}:${info.destPort}`);
        const upstream = netConnect(info.destPort, info.destIP, () => {
          const channel = accept();
          channel.pipe(upstream).pipe(channel);
        });
        upstream.on("error", () => reject());
      });
      client.on("session", (accept) => {
        if (state.stallSessions) return;
        const session = accept();
        session.on("signal", (_accept, _reject, info) => state.signalsReceived.push(info.name));
        session.on("exec", (acceptExec, _reject, info) => {
          const channel = acceptExec();
          state.execs.push(info.command);
          const reply = state.handler(info.command);
          let finished = false;
          session.once("close", () => {
            if (!finished) state.closedEarly++;
          });
          if (reply === "shell" || "shell" in reply) {
            runInShell(reply === "shell" ? info.command : reply.shell, channel, () => (finished = true));
            return;
          }
          if (reply.hang) {
            return;
          }
          if (reply.dropConnection) {
            client.end();
            return;
          }
          finished = true;
          if (reply.stdout) channel.write(reply.stdout);
          if (reply.stderr) channel.stderr.write(reply.stderr);
          if (reply.signal) {
            channel.exit(reply.signal, false, "");
          } else {
            channel.exit(reply.exitCode ?? 0);
          }
          channel.end();
        });
      });
    });
    client.on("error", () => undefined);
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const result = state as TestServer;
  result.port = port;
  result.close = () =>
    new Promise<void>((resolve) => {
      // Connections the client keeps pooled are cut so close() does not wait for their idle timeout.
      clients.forEach((c) => c.end());
      server.close(() => resolve());
    });
  return result;
}
