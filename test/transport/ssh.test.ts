import { execFileSync, spawn, spawnSync } from "child_process";
import { connect, createServer, type AddressInfo, type Server as NetServer } from "net";
import * as path from "path";
import { hostKeyFingerprint } from "../../transport/connection";
import { type Connection } from "../../model/connection";
import { TransportError } from "../../transport/errors";
import { batchScript } from "../../transport/script";
import { type RemoteCommand } from "../../model/command";
import { closeAllConnections, runOnRouter } from "../../transport";
import { installTransportHooks } from "../../transport/hooks";
import { countingObserver, naiveRun, noCounts } from "../../bench/transportCounters";
import { generateKeyPair, startTestServer, type TestServer } from "./sshTestServer";

/** The error a promise rejected with; fails the test when it resolved. */
async function rejection(promise: Promise<unknown>): Promise<TransportError> {
  try {
    await promise;
  } catch (e) {
    if (!TransportError.isInstance(e)) throw e;
    return e;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** Counts what the transport does while `work` runs. */
async function counted<T>(work: () => Promise<T>) {
  const counts = noCounts();
  const detach = installTransportHooks({ observer: countingObserver(counts) });
  try {
    return { result: await work(), counts };
  } finally {
    detach();
  }
}

function nonceOf(script: string): string {
  const match = /@@([0-9a-f]+):0@@/.exec(script);
  if (!match) throw new Error(`no nonce in ${script}`);
  return match[1];
}

describe("transport against an in-process ssh2 server", () => {
  let server: TestServer;
  let conn: Connection;

  beforeEach(async () => {
    server = await startTestServer({ password: "correct horse battery staple" });
    conn = {
      host: "127.0.0.1",
      port: server.port,
      privateKey: server.clientPrivateKey,
      name: "routerT",
      dialErrorLimit: 1,
    };
  });
  afterEach(async () => {
    closeAllConnections();
    await server.close();
  });

  it("sends exactly the framed script of the argv it was given", async () => {
    const commands: RemoteCommand[] = [
      { argv: ["echo", "gre1;reboot", "$(id)"] },
      { argv: ["printf", "%s", "it's"] },
    ];
    const result = await runOnRouter(conn, commands);
    expect(server.execs).toHaveLength(1);
    expect(server.execs[0]).toBe(batchScript(commands, nonceOf(server.execs[0]), true));
    expect(result.outcomes.map((o) => o.stdout)).toEqual(["gre1;reboot $(id)\n", "it's"]);
    expect(result.hostKey).toBe(hostKeyFingerprint(server.hostKeyBlob));
  });

  it("returns exit status, stdout and stderr of each command in one round trip", async () => {
    const { result, counts } = await counted(() =>
      runOnRouter(
        conn,
        [{ argv: ["sh", "-c", "echo one; echo warn >&2; exit 2"] }, { argv: ["cat"], stdin: "piped\n" }],
        { stopOnError: false, check: false },
      ),
    );
    expect(result.outcomes).toEqual([
      {
        argv: ["sh", "-c", "echo one; echo warn >&2; exit 2"],
        ran: true,
        exitCode: 2,
        stdout: "one\n",
        stderr: "warn\n",
      },
      { argv: ["cat"], ran: true, exitCode: 0, stdout: "piped\n", stderr: "" },
    ]);
    expect([counts.roundTrips, counts.commands, counts.connectionsOpened]).toEqual([1, 2, 1]);
  });

  it("feeds each command its secret input from the channel, in order, never in the script it sends", async () => {
    const secret = "a pre-shared key: 'quoted' $(not run)\nsecond line";
    const result = await runOnRouter(conn, [
      { argv: ["echo", "before"] },
      { argv: ["cat"], secretInput: secret },
      { argv: ["echo", "between"] },
      { argv: ["wc", "-c"], secretInput: "0123456789" },
      { argv: ["cat"], stdin: "plain input\n" },
    ]);
    expect(result.outcomes.map((o) => o.stdout)).toEqual([
      "before\n",
      secret,
      "between\n",
      "10\n",
      "plain input\n",
    ]);
    expect(server.execs).toHaveLength(1);
    expect(server.execs[0]).not.toContain("pre-shared");
    expect(server.execs[0]).not.toContain("0123456789");
  });

  it("names router, command, exit status and stderr when a command fails", async () => {
    const error = await rejection(
      runOnRouter(conn, [
        { argv: ["true"] },
        { argv: ["sh", "-c", "echo 'add tunnel \"gre1\" failed: File exists' >&2; exit 2"] },
        { argv: ["touch", "/tmp/never"] },
      ]),
    );
    expect(error.kind).toBe("command-failed");
    expect(error.message).toBe(
      `routerT (root@127.0.0.1:${server.port}): command \`sh -c 'echo '\\''add tunnel "gre1" failed: File exists'\\'' >&2; exit 2'\` exited with status 2: add tunnel "gre1" failed: File exists`,
    );
    expect(error.exitCode).toBe(2);
  });

  it("reports an unframed failure of the whole exec with its status and stderr", async () => {
    server.handler = () => ({ stderr: "sh: 1: ip: not found\n", exitCode: 127 });
    const error = await rejection(runOnRouter(conn, [{ argv: ["ip", "link", "show"] }]));
    expect(error.message).toBe(
      `routerT (root@127.0.0.1:${server.port}): command \`ip link show\` exited with status 127: sh: 1: ip: not found`,
    );
  });

  it("reports a command killed by a signal", async () => {
    server.handler = () => ({ signal: "KILL" });
    const error = await rejection(runOnRouter(conn, [{ argv: ["ip", "monitor"] }]));
    expect(error.kind).toBe("command-failed");
    expect(error.exitCode).toBeNull();
    expect(error.signal).toBe("SIGKILL");
    expect(error.message).toBe(
      `routerT (root@127.0.0.1:${server.port}): command \`ip monitor\` was killed by signal SIGKILL: (no stderr)`,
    );
  });

  it("gives up on a command that hangs past its timeout, and tells the server to kill it", async () => {
    server.handler = () => ({ hang: true });
    const error = await rejection(runOnRouter(conn, [{ argv: ["sleep", "1000"] }], { timeoutSeconds: 1 }));
    expect(error.kind).toBe("command-timeout");
    expect(error.message).toBe(
      `routerT (root@127.0.0.1:${server.port}): command \`sleep 1000\` timed out after 1 s`,
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(server.signalsReceived).toEqual(["KILL"]);
    expect(server.closedEarly).toBe(1);
  });

  it("ends a round trip within its deadline when the router never opens a channel, and drops the connection", async () => {
    await runOnRouter(conn, [{ argv: ["true"] }]);
    server.stallSessions = true;
    const started = Date.now();
    const error = await rejection(
      runOnRouter(conn, [{ argv: ["ip", "link", "show"] }], { timeoutSeconds: 2 }),
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error.kind).toBe("command-timeout");
    expect(error.message).toBe(
      `routerT (root@127.0.0.1:${server.port}): command \`ip link show\` timed out after 2 s (the router did not answer: no channel opened)`,
    );
    server.stallSessions = false;
    await runOnRouter(conn, [{ argv: ["true"] }]);
    expect(server.connections).toBe(2);
  });

  it("ends a round trip within its deadline when the router does not finish the handshake", async () => {
    // Accepts TCP, reads, and says nothing: a router whose sshd froze.
    const silent = createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
    try {
      const port = (silent.address() as AddressInfo).port;
      const started = Date.now();
      const error = await rejection(
        runOnRouter({ ...conn, port, perDialTimeout: 30 }, [{ argv: ["true"] }], { timeoutSeconds: 2 }),
      );
      expect(Date.now() - started).toBeLessThan(3000);
      expect(error.message).toContain(
        "timed out after 2 s (while connecting: the router did not complete the SSH handshake)",
      );
    } finally {
      closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("says the connection was lost, never retrying, when the router goes away under a command", async () => {
    server.handler = () => ({ dropConnection: true });
    const error = await rejection(runOnRouter(conn, [{ argv: ["ip", "tunnel", "add", "name", "gre1"] }]));
    expect(error.kind).toBe("connection-lost");
    expect(error.message).toBe(
      `routerT (root@127.0.0.1:${server.port}): the SSH connection was lost during \`ip tunnel add name gre1\` (the router stopped answering, rebooted, or the network dropped); whether it ran is unknown`,
    );
    expect(server.execs).toHaveLength(1);
  });

  it("kills the whole process group of a round trip that timed out", async () => {
    const marker = `gre-timeout-${process.pid}-${Date.now()}`;
    const error = await rejection(
      runOnRouter(conn, [{ argv: ["sh", "-c", `sleep 30; echo ${marker}`] }], { timeoutSeconds: 1 }),
    );
    expect(error.kind).toBe("command-timeout");
    await new Promise((r) => setTimeout(r, 500));
    expect(server.execs).toHaveLength(2);
    expect(server.execs[1]).toMatch(/^kill -KILL -\d+$/);
    // pgrep leaves itself out; status 1 means no process matched.
    const survivors = spawnSync("pgrep", ["-f", marker], { encoding: "utf8" });
    expect([survivors.status, survivors.stdout]).toEqual([1, ""]);
  });

  it("shares one connection among parallel callers and queues channels beyond sshd's limit", async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => runOnRouter(conn, [{ argv: ["echo", String(i)] }])),
    );
    expect(results.map((r) => r.outcomes[0].stdout)).toEqual(Array.from({ length: 12 }, (_, i) => `${i}\n`));
    expect(server.connections).toBe(1);
    closeAllConnections();
    await runOnRouter(conn, [{ argv: ["true"] }]);
    expect(server.connections).toBe(2);
  });

  it("lets reads of one router that arrive together share one round trip, each distinct command once", async () => {
    const { result: reads, counts } = await counted(() =>
      Promise.all([
        runOnRouter(conn, [{ argv: ["echo", "links"] }, { argv: ["echo", "addrs"] }], {
          coalesce: true,
          check: false,
        }),
        runOnRouter(conn, [{ argv: ["echo", "addrs"] }, { argv: ["echo", "routes"] }], {
          coalesce: true,
          check: false,
        }),
        runOnRouter(conn, [{ argv: ["echo", "links"] }], { coalesce: true, check: false }),
      ]),
    );
    expect(reads.map((r) => r.outcomes.map((o) => [o.argv.join(" "), o.stdout]))).toEqual([
      [
        ["echo links", "links\n"],
        ["echo addrs", "addrs\n"],
      ],
      [
        ["echo addrs", "addrs\n"],
        ["echo routes", "routes\n"],
      ],
      [["echo links", "links\n"]],
    ]);
    expect(server.execs).toHaveLength(1);
    expect(server.execs[0]).toBe(
      batchScript(
        [{ argv: ["echo", "links"] }, { argv: ["echo", "addrs"] }, { argv: ["echo", "routes"] }],
        nonceOf(server.execs[0]),
        false,
      ),
    );
    expect([counts.roundTrips, counts.commands, counts.processes]).toEqual([1, 3, 1]);
  });

  it("sends reads that arrive while a shared read is under way together, in the next round trip", async () => {
    const first = runOnRouter(conn, [{ argv: ["sh", "-c", "sleep 0.5; echo first"] }], { coalesce: true });
    // Once the first round trip is on the wire (after the dial, however long that takes here).
    const sent = server.execs.length + 1;
    while (server.execs.length < sent) await new Promise((r) => setTimeout(r, 10));
    const later = await Promise.all(
      ["x", "y", "z"].map((word) => runOnRouter(conn, [{ argv: ["echo", word] }], { coalesce: true })),
    );
    expect((await first).outcomes[0].stdout).toBe("first\n");
    expect(later.map((r) => r.outcomes[0].stdout)).toEqual(["x\n", "y\n", "z\n"]);
    expect(server.execs).toHaveLength(2);
  });

  it("sends probes alone at once while a shared read is under way, and reads arriving later still wait", async () => {
    let firstDone = false;
    const first = runOnRouter(conn, [{ argv: ["sh", "-c", "sleep 0.8; echo first"] }], { coalesce: true });
    void first.then(() => (firstDone = true));
    const sent = server.execs.length + 1;
    while (server.execs.length < sent) await new Promise((r) => setTimeout(r, 10));
    const probe = (word: string) => ({ argv: ["echo", word], concurrent: true, mayFail: true });
    const started = Date.now();
    const pings = await Promise.all(
      ["p", "q"].map((word) => runOnRouter(conn, [probe(word), probe(`${word}2`)], { coalesce: true })),
    );
    // Answered while the first read still runs: they did not wait for it.
    expect(Date.now() - started).toBeLessThan(600);
    expect(pings.map((r) => r.outcomes.map((o) => o.stdout))).toEqual([
      ["p\n", "p2\n"],
      ["q\n", "q2\n"],
    ]);
    const read = await runOnRouter(conn, [{ argv: ["echo", "later"] }], { coalesce: true });
    expect(read.outcomes[0].stdout).toBe("later\n");
    expect(firstDone).toBe(true);
    expect((await first).outcomes[0].stdout).toBe("first\n");
    expect(server.execs).toHaveLength(3);
  });

  it("reads arriving later wait for a shared read's reads, not for its many probes", async () => {
    const probe = (i: number) => ({
      argv: ["sh", "-c", `sleep 1; echo ${i}`],
      concurrent: true,
      mayFail: true,
    });
    const before = server.execs.length;
    const first = runOnRouter(
      conn,
      [{ argv: ["echo", "first"] }, ...Array.from({ length: 40 }, (_, i) => probe(i))],
      { coalesce: true },
    );
    let firstDone = false;
    void first.then(() => (firstDone = true));
    while (server.execs.length < before + 2) await new Promise((r) => setTimeout(r, 10));
    const read = await runOnRouter(conn, [{ argv: ["echo", "later"] }], { coalesce: true });
    expect(read.outcomes[0].stdout).toBe("later\n");
    expect(firstDone).toBe(false);
    expect((await first).outcomes.map((o) => o.stdout)).toEqual([
      "first\n",
      ...Array.from({ length: 40 }, (_, i) => `${i}\n`),
    ]);
    // The read alone, the probes 32 and 8 at a time, the later read.
    expect(server.execs).toHaveLength(before + 4);
  });

  it("fails only the reader whose own command failed in a shared round trip", async () => {
    const [ok, failed] = await Promise.allSettled([
      runOnRouter(conn, [{ argv: ["echo", "fine"] }], { coalesce: true }),
      runOnRouter(conn, [{ argv: ["sh", "-c", "echo nope >&2; exit 3"] }], { coalesce: true }),
    ]);
    expect(ok.status === "fulfilled" && ok.value.outcomes[0].stdout).toBe("fine\n");
    expect(failed.status === "rejected" && (failed.reason as Error).message).toBe(
      `routerT (root@127.0.0.1:${server.port}): command \`sh -c 'echo nope >&2; exit 3'\` exited with status 3: nope`,
    );
    expect(server.execs).toHaveLength(1);
  });

  it("opens a connection for every command in the naive mode the benchmark attaches", async () => {
    const detach = installTransportHooks({ run: naiveRun });
    try {
      const result = await runOnRouter(
        conn,
        [{ argv: ["echo", "a"] }, { argv: ["echo", "b"] }, { argv: ["echo", "c"] }],
        { coalesce: true },
      );
      expect(result.outcomes.map((o) => o.stdout)).toEqual(["a\n", "b\n", "c\n"]);
      expect(server.connections).toBe(3);
      expect(server.execs).toHaveLength(3);
    } finally {
      detach();
    }
  });

  it("authenticates with a password and never puts it in an error", async () => {
    const withPassword = {
      host: "127.0.0.1",
      port: server.port,
      password: "correct horse battery staple",
      dialErrorLimit: 1,
    };
    await expect(runOnRouter(withPassword, [{ argv: ["true"] }])).resolves.toBeDefined();
    const wrong = { ...withPassword, password: "s3cret-wrong-password" };
    const error = await rejection(runOnRouter(wrong, [{ argv: ["true"] }]));
    expect(error.kind).toBe("auth-failed");
    expect(error.message).toContain("authentication failed for user root");
    expect(error.message).not.toContain("s3cret");
    expect(JSON.stringify(error)).not.toContain("s3cret");
  });

  it("does not retry a rejected key", async () => {
    const stranger = generateKeyPair().private;
    const error = await rejection(
      runOnRouter({ ...conn, privateKey: stranger, dialErrorLimit: 5 }, [{ argv: ["true"] }]),
    );
    expect(error.kind).toBe("auth-failed");
    expect(server.connections).toBe(1);
  });

  describe("host keys", () => {
    it("enforces a pinned fingerprint during the handshake, without retrying", async () => {
      const pinned = "SHA256:" + "A".repeat(43);
      const error = await rejection(
        runOnRouter({ ...conn, hostKey: pinned, dialErrorLimit: 3 }, [{ argv: ["true"] }]),
      );
      expect(error.kind).toBe("host-key-mismatch");
      expect(error.message).toContain(
        `expected ${pinned} (pinned in the connection), the router presented ${hostKeyFingerprint(server.hostKeyBlob)}`,
      );
      expect(server.connections).toBe(1);
      expect(server.execs).toEqual([]);
    });

    it("accepts the pinned key", async () => {
      const pinned = hostKeyFingerprint(server.hostKeyBlob);
      await expect(runOnRouter({ ...conn, hostKey: pinned }, [{ argv: ["true"] }])).resolves.toMatchObject({
        hostKey: pinned,
      });
    });

    it("takes a pin written as a public key line, as @pulumi/command users write hostKey", async () => {
      const line = `ssh-ed25519 ${server.hostKeyBlob.toString("base64")} router@example`;
      await expect(runOnRouter({ ...conn, hostKey: line }, [{ argv: ["true"] }])).resolves.toMatchObject({
        hostKey: hostKeyFingerprint(server.hostKeyBlob),
      });
      closeAllConnections();
      const other = generateKeyPair().public.trim();
      const error = await rejection(
        runOnRouter({ ...conn, hostKey: other, dialErrorLimit: 2 }, [{ argv: ["true"] }]),
      );
      expect(error.kind).toBe("host-key-mismatch");
      expect(error.message).toContain(`the router presented ${hostKeyFingerprint(server.hostKeyBlob)}`);
    });

    it("records the first key and refuses a router whose key changed since", async () => {
      const first = (await runOnRouter(conn, [{ argv: ["true"] }])).hostKey;
      closeAllConnections();
      const port = server.port;
      await server.close();
      server = await startTestServer({});
      // Same address, new key: what a reinstalled router (or an impostor) looks like.
      const moved = { ...conn, port: server.port, privateKey: server.clientPrivateKey };
      const error = await rejection(
        runOnRouter(moved, [{ argv: ["true"] }], { recorded: { hostKey: first } }),
      );
      expect(port).not.toBe(0);
      expect(error.kind).toBe("host-key-mismatch");
      expect(error.message).toContain(`expected ${first} (recorded when the resource was created)`);
      expect(error.message).toContain(`the router presented ${hostKeyFingerprint(server.hostKeyBlob)}`);
      expect(server.execs).toEqual([]);
      expect(server.authAttempts).toEqual([]);
    });

    it("sends an impostor at a router's address nothing — no password, no key, no command — when a key was recorded", async () => {
      const recorded = hostKeyFingerprint(server.hostKeyBlob);
      const impostor = await startTestServer({ password: "correct horse battery staple" });
      try {
        const victim = {
          host: "127.0.0.1",
          port: impostor.port,
          password: "correct horse battery staple",
          dialErrorLimit: 3,
        };
        const direct = await rejection(
          runOnRouter(victim, [{ argv: ["true"] }], { recorded: { hostKey: recorded } }),
        );
        const shared = await rejection(
          runOnRouter(victim, [{ argv: ["cat", "/proc/modules"] }], {
            recorded: { hostKey: recorded },
            coalesce: true,
          }),
        );
        expect([direct.kind, shared.kind]).toEqual(["host-key-mismatch", "host-key-mismatch"]);
        expect(direct.message).toContain(`expected ${recorded} (recorded when the resource was created)`);
        expect(impostor.authAttempts).toEqual([]);
        expect(impostor.execs).toEqual([]);
        expect(impostor.connections).toBe(2);
      } finally {
        await impostor.close();
      }
    });

    it("refuses an impostor jump host whose key differs from the recorded or pinned one, sending it nothing", async () => {
      const jump = await startTestServer({ password: "jump secret" });
      const impostor = await startTestServer({ password: "jump secret" });
      try {
        const viaJump = (port: number, pin?: string): Connection => ({
          ...conn,
          proxy: {
            host: "127.0.0.1",
            port,
            password: "jump secret",
            dialErrorLimit: 2,
            ...(pin ? { hostKey: pin } : {}),
          },
        });
        const first = await runOnRouter(viaJump(jump.port), [{ argv: ["echo", "hop"] }]);
        expect(first.jumpHostKey).toBe(hostKeyFingerprint(jump.hostKeyBlob));
        closeAllConnections();
        const recorded = await rejection(
          runOnRouter(viaJump(impostor.port), [{ argv: ["true"] }], {
            recorded: { hostKey: first.hostKey, jumpHostKey: first.jumpHostKey },
          }),
        );
        const pinned = await rejection(
          runOnRouter(viaJump(impostor.port, first.jumpHostKey), [{ argv: ["true"] }]),
        );
        expect([recorded.kind, pinned.kind]).toEqual(["host-key-mismatch", "host-key-mismatch"]);
        expect(recorded.message).toContain(
          `expected ${first.jumpHostKey} (recorded when the resource was created)`,
        );
        expect(pinned.message).toContain(`expected ${first.jumpHostKey} (pinned in the connection)`);
        expect(impostor.authAttempts).toEqual([]);
        expect(impostor.forwards).toEqual([]);
        expect(server.execs).toHaveLength(1);
      } finally {
        closeAllConnections();
        await Promise.all([jump.close(), impostor.close()]);
      }
    });
  });

  describe("sudo", () => {
    it("wraps the script in sudo -n without a TTY", async () => {
      // The server plays sudo: it runs what follows `sudo -n --`.
      server.handler = (command) => ({ shell: command.replace(/^sudo -n -- /, "") });
      const result = await runOnRouter({ ...conn, user: "netops", sudo: true }, [
        { argv: ["echo", "as root"] },
      ]);
      expect(result.outcomes[0].stdout).toBe("as root\n");
      expect(server.execs[0].startsWith("sudo -n -- sh -c '")).toBe(true);
      const script = server.execs[0].slice("sudo -n -- sh -c ".length);
      expect(execFileSync("sh", ["-c", `printf '%s' ${script}`], { encoding: "utf8" })).toBe(
        batchScript([{ argv: ["echo", "as root"] }], nonceOf(server.execs[0]), true),
      );
    });

    it("says clearly that sudo wants a password instead of hanging", async () => {
      server.handler = () => ({ stderr: "sudo: a password is required\n", exitCode: 1 });
      const error = await rejection(
        runOnRouter({ ...conn, user: "netops", sudo: true }, [{ argv: ["ip", "link", "show"] }]),
      );
      expect(error.kind).toBe("sudo-password-required");
      expect(error.message).toBe(
        `routerT (netops@127.0.0.1:${server.port}): sudo needs a password for user netops; commands run as \`sudo -n -- sh -c …\`, so grant that user passwordless sudo for /bin/sh (NOPASSWD: /bin/sh in sudoers), or connect as root`,
      );
    });
  });

  describe("routes to the router", () => {
    it("goes through a ProxyCommand", async () => {
      const viaProxy = {
        ...conn,
        host: "127.0.0.1",
        port: server.port,
        proxyCommand: ["socat", "-", "TCP:%h:%p"],
      };
      const result = await runOnRouter(viaProxy, [{ argv: ["echo", "through socat"] }]);
      expect(result.outcomes[0].stdout).toBe("through socat\n");
    });

    it("reports what a failing ProxyCommand said", async () => {
      const broken = { ...conn, proxyCommand: ["sh", "-c", "echo 'no route to lab' >&2; exit 1"] };
      const error = await rejection(runOnRouter(broken, [{ argv: ["true"] }]));
      expect(error.kind).toBe("connect-failed");
      expect(error.message).toContain("unreachable after 1 attempt(s)");
      expect(error.message).toContain("proxy command said: no route to lab");
    });

    it("goes through a jump host", async () => {
      const jump = await startTestServer({});
      try {
        const viaJump: Connection = {
          ...conn,
          proxy: { host: "127.0.0.1", port: jump.port, privateKey: jump.clientPrivateKey },
        };
        const result = await runOnRouter(viaJump, [{ argv: ["echo", "hop"] }]);
        expect(result.outcomes[0].stdout).toBe("hop\n");
        expect(jump.forwards).toEqual([`127.0.0.1:${server.port}`]);
        expect(jump.execs).toEqual([]);
      } finally {
        closeAllConnections();
        await jump.close();
      }
    });
  });
});

describe("connect retries", () => {
  let flaky: NetServer;
  let accepted = 0;
  beforeAll(async () => {
    // Accepts TCP and hangs up at once: every SSH dial fails before the handshake.
    flaky = createServer((socket) => {
      accepted++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => flaky.listen(0, "127.0.0.1", () => resolve()));
  });
  afterAll(() => new Promise<void>((resolve) => flaky.close(() => resolve())));

  it("dials at most dialErrorLimit times, then names the router and the reason", async () => {
    const port = (flaky.address() as AddressInfo).port;
    const error = await rejection(
      runOnRouter(
        { host: "127.0.0.1", port, password: "x", dialErrorLimit: 3, perDialTimeout: 2, name: "routerX" },
        [{ argv: ["true"] }],
      ),
    );
    expect(accepted).toBe(3);
    expect(error.kind).toBe("connect-failed");
    expect(error.message).toMatch(
      new RegExp(`^routerX \\(root@127\\.0\\.0\\.1:${port}\\): unreachable after 3 attempt\\(s\\): `),
    );
  });
});

describe("connect retries as @pulumi/command reads dialErrorLimit and perDialTimeout", () => {
  it("dials once with dialErrorLimit 0", async () => {
    let accepted = 0;
    const refusing = createServer((socket) => {
      accepted++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", () => resolve()));
    try {
      const port = (refusing.address() as AddressInfo).port;
      const error = await rejection(
        runOnRouter({ host: "127.0.0.1", port, password: "x", dialErrorLimit: 0, name: "routerX" }, [
          { argv: ["true"] },
        ]),
      );
      expect(accepted).toBe(1);
      expect(error.message).toMatch(/^routerX \(root@127\.0\.0\.1:\d+\): unreachable after 1 attempt\(s\): /);
    } finally {
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });

  it("retries without limit with dialErrorLimit -1 and no per-dial maximum with perDialTimeout 0, until the router answers", async () => {
    const server = await startTestServer({});
    // Hangs up on the first four dials (more than a limit of 1 would allow), then passes through.
    let accepted = 0;
    const gate = createServer((socket) => {
      accepted++;
      if (accepted <= 4) return void socket.destroy();
      const upstream = connect(server.port, "127.0.0.1");
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve) => gate.listen(0, "127.0.0.1", () => resolve()));
    try {
      const port = (gate.address() as AddressInfo).port;
      const result = await runOnRouter(
        {
          host: "127.0.0.1",
          port,
          privateKey: server.clientPrivateKey,
          dialErrorLimit: -1,
          perDialTimeout: 0,
        },
        [{ argv: ["echo", "up"] }],
      );
      expect(result.outcomes[0].stdout).toBe("up\n");
      expect(accepted).toBe(5);
    } finally {
      closeAllConnections();
      await new Promise<void>((resolve) => gate.close(() => resolve()));
      await server.close();
    }
  }, 30_000);
});

describe("process lifetime", () => {
  it("lets the process exit while a connection is pooled and idle", async () => {
    const server = await startTestServer({});
    try {
      const program = `
        const { runOnRouter } = require(${JSON.stringify(path.resolve(__dirname, "../../transport"))});
        runOnRouter({ host: "127.0.0.1", port: ${server.port}, privateKey: process.env.KEY }, [{ argv: ["echo", "done"] }])
          .then((r) => process.stdout.write(r.outcomes[0].stdout), (e) => { console.error(e.message); process.exitCode = 1; });
      `;
      const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", program], {
        env: { ...process.env, KEY: server.clientPrivateKey },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      // The idle close comes after 10 s; a process held by its pooled connection would still be
      // running at 20 s and fail this test.
      const code = await new Promise<number | null>((resolve, reject) => {
        const t = setTimeout(() => {
          child.kill();
          reject(new Error("the process was still alive 20 s after its last command"));
        }, 20_000);
        child.on("exit", (c) => {
          clearTimeout(t);
          resolve(c);
        });
      });
      expect(code).toBe(0);
      expect(out).toBe("done\n");
      expect(server.connections).toBe(1);
    } finally {
      await server.close();
    }
  });
});
