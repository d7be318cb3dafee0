/**
 * The real providers after Pulumi's closure serializer, in Pulumi's dynamic-provider host, talking
 * to in-process SSH servers that run commands in a local shell. Needs no root and no lab, so it
 * catches serialization breakage (a captured Set, a class that loses its message) everywhere.
 */
import { execFileSync } from "child_process";
import { hostKeyFingerprint } from "../../transport/connection";
import { type Connection } from "../../model/connection";
import { ProviderHost, resourceUrn, serializeProvider } from "../../tools/providerHost/providerHost";
import { startTestServer, type TestServer } from "./sshTestServer";

describe("serialized providers in Pulumi's dynamic-provider host", () => {
  let host: ProviderHost;
  let a: TestServer;
  let b: TestServer;
  const connectionOf = (server: TestServer, name: string): Connection => ({
    name,
    host: "127.0.0.1",
    port: server.port,
    privateKey: server.clientPrivateKey,
    dialErrorLimit: 1,
  });

  /** A GreTunnel's state between the two stand-in routers, as create would have stored it. */
  const tunnelState = (name: string) => ({
    name,
    key: 1,
    ttl: 255,
    verify: true,
    endpoints: [
      {
        connection: connectionOf(a, "routerA"),
        local: "198.51.100.11",
        remote: "198.51.100.12",
        address: "10.10.10.2",
        peerAddress: "10.10.10.1",
      },
      {
        connection: connectionOf(b, "routerB"),
        local: "198.51.100.12",
        remote: "198.51.100.11",
        address: "10.10.10.1",
        peerAddress: "10.10.10.2",
      },
    ],
    hostKeys: [hostKeyFingerprint(a.hostKeyBlob), hostKeyFingerprint(b.hostKeyBlob)],
    ends: [],
  });

  beforeAll(async () => {
    [host, a, b] = await Promise.all([ProviderHost.start(), startTestServer(), startTestServer()]);
  });
  afterAll(async () => {
    await host?.stop();
    await Promise.all([a?.close(), b?.close()]);
  });

  it("checks GreTunnel input in the host: defaults filled, bad input named", async () => {
    const provider = await serializeProvider("providers/greTunnel/lifecycle.ts", "greTunnelProvider");
    const urn = resourceUrn("GreTunnel", "gre1");
    const endpoints = [
      { connection: connectionOf(a, "routerA"), local: "198.51.100.11", address: "10.10.10.2" },
      { connection: connectionOf(b, "routerB"), local: "198.51.100.12", address: "10.10.10.1" },
    ];
    const good = await host.check(urn, {}, { name: "gre1", key: 1, endpoints, __provider: provider });
    expect(good.failures).toEqual([]);
    expect(good.inputs).toMatchObject({
      ttl: 255,
      verify: true,
      endpoints: [{ remote: "198.51.100.12", peerAddress: "10.10.10.1" }, { remote: "198.51.100.11" }],
    });
    const bad = await host.check(urn, {}, { name: "gre1;reboot", key: -1, endpoints, __provider: provider });
    expect(bad.failures).toEqual([
      {
        property: "name",
        reason: "must be 1 to 15 letters, digits, `_`, `.` or `-` (a Linux interface name)",
      },
      { property: "key", reason: "must be 0 or more" },
    ]);
  });

  it("reads both ends of a GreTunnel with one round trip per router, and reports the missing ends as drift", async () => {
    const provider = await serializeProvider("providers/greTunnel/lifecycle.ts", "greTunnelProvider");
    const urn = resourceUrn("GreTunnel", "gre-test");
    const state = { ...tunnelState("gre-test"), __provider: provider };
    const read = await host.read(urn, "gre-test:127.0.0.1:127.0.0.1", state, state);
    const ends = read.outputs.ends as Array<{ present: boolean; drift: string[] }>;
    // The stand-in routers have no /sys/module/ip_gre: the drift says why the ends are missing.
    const noGre = "GRE is not available: the ip_gre module is not loaded";
    expect(ends.map((e) => [e.present, e.drift])).toEqual([
      [
        false,
        [
          `routerA (root@127.0.0.1:${a.port}): gre-test is missing`,
          `routerA (root@127.0.0.1:${a.port}): ${noGre}`,
        ],
      ],
      [
        false,
        [
          `routerB (root@127.0.0.1:${b.port}): gre-test is missing`,
          `routerB (root@127.0.0.1:${b.port}): ${noGre}`,
        ],
      ],
    ]);
    expect([a.execs.length, b.execs.length]).toEqual([1, 1]);
    expect(a.execs[0]).toContain("ip -d -j addr show </dev/null");
  });

  it("never contacts a router the configuration names decommissioned: delete drops its end, create is refused", async () => {
    const gone = await ProviderHost.start({
      config: { "pulumi-gre:decommissioned": JSON.stringify(["routerB"]) },
    });
    try {
      const [tunnels, sysctls] = await Promise.all([
        serializeProvider("providers/greTunnel/lifecycle.ts", "greTunnelProvider"),
        serializeProvider("providers/oneRouter/sysctl.ts", "sysctlProvider"),
      ]);
      const state = tunnelState("gre-gone");
      const [aBefore, bBefore] = [a.execs.length, b.execs.length];
      // Read keeps the state as it is, contacting neither router.
      const stored = { ...state, __provider: tunnels };
      const read = await gone.read(resourceUrn("GreTunnel", "gre-gone"), "gre-gone", stored, stored);
      expect(read.outputs).toMatchObject({ name: "gre-gone", ends: [] });
      expect([a.execs.length, b.execs.length]).toEqual([aBefore, bBefore]);
      // Delete reads and cleans the live end only.
      await gone.delete(resourceUrn("GreTunnel", "gre-gone"), "gre-gone", stored);
      expect(a.execs.length).toBeGreaterThan(aBefore);
      expect(b.execs.length).toBe(bBefore);
      expect(gone.logs()).toContain(
        `routerB (root@127.0.0.1:${b.port}) is decommissioned: gre-gone's end dropped from the state without contacting it`,
      );
      const sysctl = {
        connection: connectionOf(b, "routerB"),
        key: "net.ipv4.ip_forward",
        value: "1",
        persist: false,
        restoreOnDelete: true,
        __provider: sysctls,
      };
      await expect(gone.create(resourceUrn("Sysctl", "forwarding"), sysctl)).rejects.toThrow(
        `routerB (root@127.0.0.1:${b.port}) is decommissioned (pulumi-gre:routers or pulumi-gre:decommissioned)`,
      );
      await gone.delete(resourceUrn("Sysctl", "forwarding"), "x", { ...sysctl, original: "0" });
      expect(b.execs.length).toBe(bBefore);
    } finally {
      await gone.stop();
    }
  });

  it("refuses a router whose host key differs from the one in state, naming both", async () => {
    const provider = await serializeProvider("providers/oneRouter/sysctl.ts", "sysctlProvider");
    const urn = resourceUrn("Sysctl", "forwarding");
    const recorded = "SHA256:" + "Z".repeat(43);
    const state = {
      connection: connectionOf(a, "routerA"),
      key: "net.ipv4.ip_forward",
      value: "1",
      persist: false,
      restoreOnDelete: true,
      original: "0",
      hostKey: recorded,
      __provider: provider,
    };
    await expect(host.read(urn, "x", state, state)).rejects.toThrow(
      `routerA (root@127.0.0.1:${a.port}): host key mismatch: expected ${recorded} (recorded when the resource was created), the router presented ${hostKeyFingerprint(a.hostKeyBlob)}`,
    );
  });

  it("adopts the host key of a state that had none, says so in its outputs, and enforces it from then on", async () => {
    const provider = await serializeProvider("providers/oneRouter/sysctl.ts", "sysctlProvider");
    const urn = resourceUrn("Sysctl", "forwarding");
    const here = execFileSync("sysctl", ["-n", "net.ipv4.ip_forward"], { encoding: "utf8" }).trim();
    const old = {
      connection: connectionOf(b, "routerB"),
      key: "net.ipv4.ip_forward",
      value: here,
      persist: false,
      restoreOnDelete: true,
      original: here,
      __provider: provider,
    };
    const read = await host.read(urn, "x", old, old);
    expect(read.outputs).toMatchObject({
      hostKey: hostKeyFingerprint(b.hostKeyBlob),
      hostKeyOrigin: "adopted",
    });
    expect(host.logs()).toContain(
      `routerB (root@127.0.0.1:${b.port}): no host key was recorded for this router; adopted ${hostKeyFingerprint(b.hostKeyBlob)} (seen now), enforced from now on`,
    );
    // The same state pointed at another host (what an impostor looks like) is refused.
    const moved = { ...read.outputs, connection: connectionOf(a, "routerB"), __provider: provider };
    await expect(host.read(urn, "x", moved, moved)).rejects.toThrow(
      `host key mismatch: expected ${hostKeyFingerprint(b.hostKeyBlob)} (recorded when the resource was created)`,
    );
  });

  it("records a newly pinned key on update, replacing the one recorded at create", async () => {
    const provider = await serializeProvider("providers/oneRouter/sysctl.ts", "sysctlProvider");
    const urn = resourceUrn("Sysctl", "forwarding");
    const here = execFileSync("sysctl", ["-n", "net.ipv4.ip_forward"], { encoding: "utf8" }).trim();
    const inputs = { key: "net.ipv4.ip_forward", value: here, persist: false, restoreOnDelete: true };
    const state = {
      connection: connectionOf(a, "routerA"),
      ...inputs,
      original: here,
      hostKey: "SHA256:" + "Z".repeat(43),
      jumpHostKey: null,
      hostKeyOrigin: "first use",
      drift: [],
    };
    const pinned = hostKeyFingerprint(a.hostKeyBlob);
    const news = {
      connection: { ...connectionOf(a, "routerA"), hostKey: pinned },
      ...inputs,
      __provider: provider,
    };
    const updated = await host.update(urn, "x", { ...state, __provider: provider }, news);
    expect(updated.outputs).toMatchObject({ hostKey: pinned, jumpHostKey: null, hostKeyOrigin: "pinned" });
  });

  it("reads a sysctl through the serialized transport", async () => {
    const provider = await serializeProvider("providers/oneRouter/sysctl.ts", "sysctlProvider");
    const urn = resourceUrn("Sysctl", "forwarding");
    const here = execFileSync("sysctl", ["-n", "net.ipv4.ip_forward"], { encoding: "utf8" }).trim();
    const wanted = here === "1" ? "0" : "1";
    const state = {
      connection: connectionOf(b, "routerB"),
      key: "net.ipv4.ip_forward",
      value: wanted,
      persist: false,
      restoreOnDelete: true,
      original: here,
      hostKey: hostKeyFingerprint(b.hostKeyBlob),
      __provider: provider,
    };
    const read = await host.read(urn, "x", state, state);
    expect(read.outputs).toMatchObject({
      current: here,
      drift: [`routerB (root@127.0.0.1:${b.port}): net.ipv4.ip_forward is ${here}, wanted ${wanted}`],
    });
  });

  it("checks KernelModule and TunnelRoute input in the host", async () => {
    const [modules, routes] = await Promise.all([
      serializeProvider("providers/oneRouter/kernelModule.ts", "kernelModuleProvider"),
      serializeProvider("providers/oneRouter/tunnelRoute.ts", "tunnelRouteProvider"),
    ]);
    const module = await host.check(
      resourceUrn("KernelModule", "m"),
      {},
      { connection: connectionOf(a, "routerA"), name: "ip_gre;reboot", __provider: modules },
    );
    expect(module.failures).toEqual([
      {
        property: "name",
        reason: "must be a kernel module name: letters, digits, `_` or `-`, starting with a letter or digit",
      },
    ]);
    const route = await host.check(
      resourceUrn("TunnelRoute", "r"),
      {},
      {
        connection: connectionOf(a, "routerA"),
        destination: "198.51.100.0/24",
        tunnel: {
          name: "gre1",
          local: "198.51.100.11",
          remote: "198.51.100.12",
          address: "10.10.10.2",
          peerAddress: "10.10.10.1",
        },
        __provider: routes,
      },
    );
    expect(route.failures).toEqual([
      {
        property: "destination",
        reason:
          "contains 198.51.100.12, the tunnel's underlay peer: the tunnel's own GRE packets would be routed into the tunnel (recursive routing); route the LAN behind the peer, not its underlay address",
      },
    ]);
  });
});
