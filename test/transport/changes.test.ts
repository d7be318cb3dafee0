/**
 * Changes of several resources on one router that arrive together share one round trip, each in a
 * segment of its own: a failing change stops only its own segment, the reads after them run once.
 */
import { type Connection } from "../../model/connection";
import { type RemoteCommand } from "../../model/command";
import { changeOnRouter, closeAllConnections } from "../../transport";
import { SCRIPT_BYTES } from "../../transport/script";
import { startTestServer, type TestServer } from "./sshTestServer";

describe("coalesced changes against an in-process ssh2 server", () => {
  let server: TestServer;
  let conn: Connection;

  beforeEach(async () => {
    server = await startTestServer({});
    conn = { host: "127.0.0.1", port: server.port, privateKey: server.clientPrivateKey, name: "routerT" };
  });
  afterEach(async () => {
    closeAllConnections();
    await server.close();
  });

  const echo = (word: string): RemoteCommand => ({ argv: ["echo", word] });

  it("sends the changes of requests that arrive together as one script; each gets its own outcomes", async () => {
    const [a, b, c] = await Promise.all([
      changeOnRouter(conn, [echo("a1"), echo("a2")], [echo("links"), echo("addrs")]),
      changeOnRouter(conn, [{ argv: ["sh", "-c", "echo b1 >&2; exit 2"] }, echo("b2")], [echo("links")]),
      changeOnRouter(conn, [echo("c1")], [echo("routes")]),
    ]);
    expect(server.execs).toHaveLength(1);
    const summary = (r: typeof a) => r.outcomes.map((o) => [o.argv.join(" "), o.ran, o.exitCode]);
    expect(summary(a)).toEqual([
      ["echo a1", true, 0],
      ["echo a2", true, 0],
      ["echo links", true, 0],
      ["echo addrs", true, 0],
    ]);
    // b's failing change stops b's next change, and nothing of a's or c's.
    expect(summary(b)).toEqual([
      ["sh -c echo b1 >&2; exit 2", true, 2],
      ["echo b2", false, null],
      ["echo links", true, 0],
    ]);
    expect(b.outcomes[0].stderr).toBe("b1\n");
    expect(summary(c)).toEqual([
      ["echo c1", true, 0],
      ["echo routes", true, 0],
    ]);
    // Each distinct read once, after every change.
    const script = server.execs[0];
    expect(script.match(/echo links/g)).toHaveLength(1);
    expect(script.indexOf("echo c1")).toBeLessThan(script.indexOf("echo links"));
  });

  it("sends a change that arrives alone at once, and one with secret input in a round trip of its own", async () => {
    await changeOnRouter(conn, [echo("alone")], []);
    await Promise.all([
      changeOnRouter(conn, [{ argv: ["cat"], secretInput: "s3cret\n" }], []),
      changeOnRouter(conn, [echo("other")], []),
    ]);
    expect(server.execs).toHaveLength(3);
    expect(server.execs.filter((s) => s.includes("head -c"))).toHaveLength(1);
    expect(server.execs.find((s) => s.includes("head -c"))).not.toContain("echo other");
  });

  it("starts another script before one grows past the SSH packet every server must take", async () => {
    const big = "x".repeat(8 * 1024);
    const requests = Array.from({ length: 12 }, (_, i) =>
      changeOnRouter(conn, [{ argv: ["cat"], stdin: `${i}${big}\n` }], []),
    );
    const results = await Promise.all(requests);
    expect(results.map((r) => r.outcomes[0].stdout.slice(0, 2))).toEqual(
      Array.from({ length: 12 }, (_, i) => `${i}x`.slice(0, 2)),
    );
    expect(server.execs.length).toBeGreaterThan(1);
    for (const script of server.execs) expect(Buffer.byteLength(script)).toBeLessThan(SCRIPT_BYTES + 4096);
  });

  it("splits a hub's many small changes, each with reads of its own, into scripts every server takes", async () => {
    // The hub of a fleet's destroy: each tunnel end a short change and a read of its own device.
    const requests = Array.from({ length: 300 }, (_, i) =>
      changeOnRouter(conn, [echo(`del g${i}`)], [echo(`show g${i}`), echo("shared read")]),
    );
    const results = await Promise.all(requests);
    results.forEach((r, i) =>
      expect(r.outcomes.map((o) => o.stdout.trim())).toEqual([`del g${i}`, `show g${i}`, "shared read"]),
    );
    expect(server.execs.length).toBeGreaterThan(1);
    for (const script of server.execs) expect(Buffer.byteLength(script)).toBeLessThanOrEqual(SCRIPT_BYTES);
  });
});
