import { ProviderHost, resourceUrn, serializeProvider } from "../../tools/providerHost/providerHost";
import { closeAllConnections, runOnRouter } from "../../transport";
import { TransportError } from "../../transport/errors";
import { describeOnLab, labRouter } from "./labEnv";
import { Lab } from "../../lab/lab";
import { repoRoot } from "../../tools/repoRoot";
import { spawnSync } from "child_process";

describeOnLab("foundation on the lab", () => {
  afterAll(() => closeAllConnections());

  it("a trivial provider survives Pulumi's serializer and host, and its create runs on a lab router", async () => {
    const { connection, router } = await labRouter("routerA");
    const provider = await serializeProvider("test/providers/hostnameProvider.ts", "hostnameProvider");
    // Packages are required by name in the serialized text, the project's own code is inlined.
    expect(provider).toContain('require("ssh2/lib/index.js")');
    expect(provider).toContain('require("zod")');
    expect(provider).not.toMatch(/require\("\.{1,2}\//);
    const host = await ProviderHost.start();
    try {
      const urn = resourceUrn("Hostname", "a");
      const news = { connection, __provider: provider };
      const checked = await host.check(urn, {}, news);
      expect(checked.failures).toEqual([]);
      const created = await host.create(urn, checked.inputs);
      expect(created.id).toBe("routerA");
      expect(created.outputs).toMatchObject({
        hostname: "routerA",
        kernel: "6.1.176",
        hostKey: router.hostKey,
      });
      // It ran in the host process, not in this one.
      expect(created.outputs.pid).not.toBe(process.pid);

      const bad = await host.check(
        urn,
        {},
        { connection: { host: "router;reboot", port: 0 }, __provider: provider },
      );
      expect(bad.failures).toEqual([
        { property: "connection.host", reason: "must be a host name or an IP address" },
        { property: "connection.port", reason: "must be 1 or more" },
      ]);
    } finally {
      await host.stop();
    }
  });

  it("runs the field note's first commands on a router: modprobe ip_gre, then ip tunnel add", async () => {
    const a = await labRouter("routerA");
    const b = await labRouter("routerB");
    const lab = new Lab(repoRoot(), () => undefined);
    // The lab's own exec command, as a person would run it.
    const exec = (target: string, ...argv: string[]) =>
      spawnSync("npx", ["ts-node", "--transpile-only", "lab/cli.ts", "exec", target, "--", ...argv], {
        cwd: repoRoot(),
        encoding: "utf8",
      });
    expect(lab.isUp()).toBe(true);
    expect(exec("routerA", "modprobe", "ip_gre").status).toBe(0);
    const add = exec(
      "routerA",
      "ip",
      "tunnel",
      "add",
      "gre9",
      "mode",
      "gre",
      "remote",
      b.router.underlay,
      "local",
      a.router.underlay,
    );
    expect(add.stderr).toBe("");
    expect(add.status).toBe(0);
    const shown = await runOnRouter(a.connection, [{ argv: ["ip", "-j", "-d", "link", "show", "gre9"] }]);
    const link = JSON.parse(shown.outcomes[0].stdout)[0];
    expect(link.linkinfo).toEqual({
      info_kind: "gre",
      info_data: { remote: b.router.underlay, local: a.router.underlay, ttl: 0, pmtudisc: true },
    });
    expect(exec("routerA", "ip", "tunnel", "del", "gre9").status).toBe(0);
    // A failing command returns its status; the PC is reachable as ROUTER:pc.
    expect(exec("routerA", "false").status).toBe(1);
    expect(exec("routerA:pc", "ping", "-c1", "-W2", a.router.lanGateway).status).toBe(0);
  });

  it("names the router, command, status and stderr of a failing command on a real router", async () => {
    const { connection } = await labRouter("routerB");
    let caught: unknown;
    try {
      await runOnRouter(connection, [{ argv: ["ip", "link", "show", "dev", "gre-missing"] }]);
    } catch (e) {
      caught = e;
    }
    expect(TransportError.isInstance(caught)).toBe(true);
    expect((caught as Error).message).toBe(
      'routerB (root@169.254.100.12:22): command `ip link show dev gre-missing` exited with status 1: Device "gre-missing" does not exist.',
    );
  });

  it("kills a remote command that outlives its timeout", async () => {
    const { connection } = await labRouter("routerB");
    let caught: unknown;
    try {
      await runOnRouter(connection, [{ argv: ["sleep", "77"] }], { timeoutSeconds: 2 });
    } catch (e) {
      caught = e;
    }
    expect(TransportError.isInstance(caught) && caught.kind).toBe("command-timeout");
    const left = await runOnRouter(connection, [
      { argv: ["sh", "-c", "pgrep -x sleep -a | grep -c 'sleep 77' || true"] },
    ]);
    expect(left.outcomes[0].stdout.trim()).toBe("0");
  });
});
