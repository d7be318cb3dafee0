/**
 * The field note's last chapter on the lab: routerB behind a NAT router (`npm run lab -- up --nat
 * routerB`: natB source-NATs routerB's traffic and forwards GRE arriving at its public address to
 * it). A tunnel declared naively fails at create with the NAT diagnosis and leaves nothing; declared
 * with remote = the NAT's public address (and the NAT's GRE tracking loaded by KernelModule under the
 * field note's module names) it carries traffic; when the NAT stops forwarding GRE, refresh and
 * create name the NAT; over IPsec (NAT traversal: ESP in UDP 4500) the tunnel crosses a NAT that
 * drops GRE. This suite boots its own lab and puts the usual two routers back after.
 */
import { inventoryRouter, labConnection, readInventory } from "../../lab/inventory";
import { repoRoot } from "../../tools/repoRoot";
import { Lab } from "../../lab/lab";
import { closeAllConnections } from "../../transport";
import { Lifecycle, type ResourceState } from "../../tools/providerHost/lifecycle";
import { ProviderHost, serializeProvider, type Props } from "../../tools/providerHost/providerHost";
import { describeOnLab, type LabSide, runOn, runStatus } from "./labEnv";

const A = "routerA (root@169.254.100.11:22)";
const B = "routerB (root@169.254.100.12:22)";
const PSK = "a pre-shared key for the NAT test";

describeOnLab("GRE through a NAT (the field note's failing topology)", () => {
  let lab: Lab;
  let a: LabSide;
  let b: LabSide;
  let nat: LabSide;
  let publicAddress: string;
  let host: ProviderHost;
  let tunnels: Lifecycle;
  let modules: Lifecycle;
  const made: Array<[Lifecycle, ResourceState]> = [];

  const tunnel = (remoteOfA?: string): Props => ({
    name: "gre1",
    key: 1,
    endpoints: [
      {
        connection: a.connection,
        local: a.router.underlay,
        address: "10.10.10.2",
        ...(remoteOfA ? { remote: remoteOfA } : {}),
      },
      { connection: b.connection, local: b.router.underlay, address: "10.10.10.1" },
    ],
  });
  const hasGre1 = async () => [
    await runStatus(a, "ip", "link", "show", "dev", "gre1"),
    await runStatus(b, "ip", "link", "show", "dev", "gre1"),
  ];

  beforeAll(async () => {
    lab = new Lab(repoRoot(), () => undefined);
    await lab.down(true);
    await lab.up(2, "routerB");
    // Straight from this lab's inventory: the shared helper would put the usual lab back.
    const side = (name: string): LabSide => {
      const router = inventoryRouter(readInventory(), name);
      return { router, connection: labConnection(router) };
    };
    a = side("routerA");
    b = side("routerB");
    nat = side("natB");
    publicAddress = readInventory().routers.find((r) => r.name === "routerB")!.behindNat!.publicAddress;
    host = await ProviderHost.start();
    tunnels = new Lifecycle(
      host,
      await serializeProvider("providers/greTunnel/lifecycle.ts", "greTunnelProvider"),
      "GreTunnel",
    );
    modules = new Lifecycle(
      host,
      await serializeProvider("providers/oneRouter/kernelModule.ts", "kernelModuleProvider"),
      "KernelModule",
    );
    for (const side of [a, b]) {
      made.push([
        modules,
        await modules.create(`${side.router.name}-ip_gre`, { connection: side.connection, name: "ip_gre" }),
      ]);
    }
  }, 180_000);

  afterAll(async () => {
    for (const [lifecycle, state] of made.reverse()) await lifecycle.delete(state).catch(() => undefined);
    await host?.stop();
    closeAllConnections();
    // The other suites share the usual two routers.
    await lab.down(true);
    await lab.up(2);
  }, 180_000);

  it("puts routerB on a private (RFC 6598) address behind natB's public one", () => {
    expect(b.router.underlay).toBe("100.64.0.12");
    expect(publicAddress).toBe("198.51.100.112");
    expect(nat.router.role).toBe("nat");
  });

  it("declared naively, create fails at preflight saying routerB is behind a NAT, and nothing is left", async () => {
    await expect(tunnels.create("gre1", tunnel())).rejects.toThrow(
      new RegExp(
        `${A.replace(/[()]/g, "\\$&")}: cannot reach 100\\.64\\.0\\.12 from 198\\.51\\.100\\.11 over the underlay \\(ping: 0 of \\d+ answered\\)\\. ` +
          `100\\.64\\.0\\.12 is a shared \\(RFC 6598, carrier-grade NAT\\) address: ${B.replace(/[()]/g, "\\$&")} is behind a NAT`,
      ),
    );
    expect(await hasGre1()).toEqual([1, 1]);
  }, 120_000);

  it("declared with the NAT's public address, with GRE tracking loaded on the NAT, it carries traffic both ways", async () => {
    // The field note's module names: on this kernel nf_conntrack and nf_nat provide them.
    for (const name of ["nf_conntrack_proto_gre", "nf_nat_proto_gre"]) {
      const state = await modules.create(`natB-${name}`, { connection: nat.connection, name });
      made.push([modules, state]);
      expect(state.outputs.providedBy).toBe(name === "nf_conntrack_proto_gre" ? "nf_conntrack" : "nf_nat");
    }
    const state = await tunnels.create("gre1", tunnel(publicAddress));
    made.push([tunnels, state]);
    expect(state.outputs.health).toMatchObject({ reachable: true, loss: 0, from: [A, B] });
    const refreshed = await tunnels.refresh(state);
    expect((refreshed.outputs.ends as Array<{ drift: string[] }>).flatMap((e) => e.drift)).toEqual([]);
    expect(refreshed.outputs.drift).toEqual([]);
  }, 120_000);

  it("when the NAT stops forwarding GRE, refresh names the NAT, a create fails naming it and leaves nothing, and GRE over IPsec crosses it", async () => {
    expect(await runStatus(nat, "iptables-legacy", "-w", "-I", "FORWARD", "-p", "47", "-j", "DROP")).toBe(0);
    try {
      const [, state] = made.find(([l]) => l === tunnels)!;
      const refreshed = await tunnels.refresh(state);
      const drift = refreshed.outputs.drift as string[];
      expect(drift).toContainEqual(expect.stringContaining("gre1 does not carry traffic"));
      expect(drift).toContainEqual(
        expect.stringContaining(`the NAT at ${publicAddress} does not forward GRE (IP protocol 47) to ${B}`),
      );
      await tunnels.delete(state);
      made.splice(
        made.findIndex(([l]) => l === tunnels),
        1,
      );
      await expect(tunnels.create("gre1", tunnel(publicAddress))).rejects.toThrow(
        `the NAT at ${publicAddress} does not forward GRE (IP protocol 47) to ${B}`,
      );
      expect(await hasGre1()).toEqual([1, 1]);

      // The field note's NAT chapter solved: over IPsec, GRE rides in ESP in UDP 4500 (NAT
      // traversal), which the NAT passes as any UDP; routerB, behind it, brings the SA up.
      const capture = runOn(
        a,
        ...["timeout", "20", "tcpdump", "-n", "-l", "-c", "8", "-i", "eth1"],
        `host ${publicAddress} and (ip proto 47 or ip proto 50 or udp port 4500)`,
      );
      await new Promise((r) => setTimeout(r, 1000));
      // 1430: what ESP (AES-GCM) in UDP 4500 leaves of a 1500-byte path, with the key.
      const overIpsec = await tunnels.create("gre1", {
        ...tunnel(publicAddress),
        mtu: 1430,
        ipsec: { psk: PSK },
      });
      made.push([tunnels, overIpsec]);
      expect(overIpsec.outputs.health).toMatchObject({ reachable: true, loss: 0, fullSize: true });
      expect((overIpsec.outputs.ends as Array<{ ipsec: unknown }>).map((e) => e.ipsec)).toEqual([
        expect.objectContaining({ protected: true, nat: true, configured: true }),
        expect.objectContaining({ protected: true, nat: true, configured: true }),
      ]);
      const lines = (await capture).stdout.split("\n").filter((l) => l.trim() !== "");
      expect(lines.some((l) => /\.4500 > .*\.4500: UDP-encap: ESP/.test(l))).toBe(true);
      expect(lines.filter((l) => /GRE/.test(l))).toEqual([]);
      const again = await tunnels.refresh(overIpsec);
      expect((again.outputs.ends as Array<{ drift: string[] }>).flatMap((e) => e.drift)).toEqual([]);
      expect(again.outputs.drift).toEqual([]);
    } finally {
      await runStatus(nat, "iptables-legacy", "-w", "-D", "FORWARD", "-p", "47", "-j", "DROP");
    }
  }, 180_000);
});
