/**
 * The whole field note on the default lab, through Pulumi's dynamic-provider host: ip_gre on both
 * routers, forwarding, the tunnel, routes both ways, PC1 and PC2 ping each other, a capture on
 * routerA's gre1 sees the ICMP; then everything is deleted in reverse and the routers are as the
 * lab booted them. Plus KernelModule, Sysctl and TunnelRoute on their own.
 */
import { parseProcModules } from "../../commands/modprobe/kernelModule";
import { repoRoot } from "../../tools/repoRoot";
import { Lab } from "../../lab/lab";
import { closeAllConnections, runOnRouter } from "../../transport";
import { Lifecycle, type ResourceState } from "../../tools/providerHost/lifecycle";
import { ProviderHost, serializeProvider, type Props } from "../../tools/providerHost/providerHost";
import { describeOnLab, labRouter, type LabSide, runOn, routerState } from "./labEnv";

describeOnLab("the field note on lab routers", () => {
  let a: LabSide;
  let b: LabSide;
  let host: ProviderHost;
  let modules: Lifecycle;
  let sysctls: Lifecycle;
  let tunnels: Lifecycle;
  let routes: Lifecycle;

  beforeAll(async () => {
    a = await labRouter("routerA");
    b = await labRouter("routerB");
    // Fresh kernels: the scenario starts from routers exactly as the lab boots them.
    const lab = new Lab(repoRoot(), () => undefined);
    await Promise.all([lab.restart("routerA"), lab.restart("routerB")]);
    closeAllConnections();
    host = await ProviderHost.start();
    const [m, s, t, r] = await Promise.all([
      serializeProvider("providers/oneRouter/kernelModule.ts", "kernelModuleProvider"),
      serializeProvider("providers/oneRouter/sysctl.ts", "sysctlProvider"),
      serializeProvider("providers/greTunnel/lifecycle.ts", "greTunnelProvider"),
      serializeProvider("providers/oneRouter/tunnelRoute.ts", "tunnelRouteProvider"),
    ]);
    modules = new Lifecycle(host, m, "KernelModule");
    sysctls = new Lifecycle(host, s, "Sysctl");
    tunnels = new Lifecycle(host, t, "GreTunnel");
    routes = new Lifecycle(host, r, "TunnelRoute");
  });

  afterAll(async () => {
    await host?.stop();
    closeAllConnections();
  });

  it("connects PC1 and PC2 through gre1, and leaves the routers as booted after delete", async () => {
    const booted = await Promise.all([routerState(a), routerState(b)]);
    expect(booted.map((s) => (s as { modules: string[] }).modules.includes("ip_gre"))).toEqual([
      false,
      false,
    ]);
    expect(booted.map((s) => (s as { forwarding: string }).forwarding)).toEqual(["0/0", "0/0"]);

    const created: Array<[Lifecycle, ResourceState]> = [];
    const make = async (kind: Lifecycle, name: string, inputs: Props) => {
      const state = await kind.create(name, inputs);
      created.push([kind, state]);
      return state;
    };
    // The field note's order: module, forwarding, tunnel, routes.
    const greA = await make(modules, "routerA-ip_gre", {
      connection: a.connection,
      name: "ip_gre",
      unloadOnDelete: true,
    });
    await make(modules, "routerB-ip_gre", { connection: b.connection, name: "ip_gre", unloadOnDelete: true });
    expect(greA.outputs).toMatchObject({ status: "loaded", providedBy: "ip_gre", drift: [] });
    expect((greA.outputs.loadedByUs as string[]).sort()).toEqual(["gre", "ip_gre", "ip_tunnel"]);
    await make(sysctls, "routerA-forwarding", {
      connection: a.connection,
      key: "net.ipv4.ip_forward",
      value: 1,
    });
    const fwdB = await make(sysctls, "routerB-forwarding", {
      connection: b.connection,
      key: "net.ipv4.ip_forward",
      value: 1,
    });
    expect(fwdB.outputs).toMatchObject({ current: "1", original: "0", drift: [] });
    await make(tunnels, "gre1", {
      name: "gre1",
      key: 1,
      ttl: 255,
      endpoints: [
        { connection: a.connection, local: a.router.underlay, address: "10.10.10.2" },
        { connection: b.connection, local: b.router.underlay, address: "10.10.10.1" },
      ],
    });
    // routerB ip route add 10.2.1.0/24 via 10.10.10.2; routerA ip route add 10.1.1.0/24 via 10.10.10.1
    await make(routes, "routerB-to-lan-A", {
      connection: b.connection,
      destination: a.router.lanPrefix,
      tunnel: {
        name: "gre1",
        local: b.router.underlay,
        remote: a.router.underlay,
        address: "10.10.10.1",
        peerAddress: "10.10.10.2",
      },
    });
    await make(routes, "routerA-to-lan-B", {
      connection: a.connection,
      destination: b.router.lanPrefix,
      tunnel: {
        name: "gre1",
        local: a.router.underlay,
        remote: b.router.underlay,
        address: "10.10.10.2",
        peerAddress: "10.10.10.1",
      },
    });

    // PC2 ping 10.2.1.2 and PC1 ping 10.1.1.2, while routerA captures on gre1.
    const capture = runOnRouter(
      a.connection,
      [{ argv: ["timeout", "20", "tcpdump", "-n", "-l", "-i", "gre1", "-c", "2", "icmp"] }],
      {
        check: false,
        timeoutSeconds: 30,
      },
    );
    await new Promise((r) => setTimeout(r, 3000));
    const pc2 = await runOn(b, "ip", "netns", "exec", "pc", "ping", "-c", "2", "-W", "2", a.router.pc);
    const pc1 = await runOn(a, "ip", "netns", "exec", "pc", "ping", "-c", "2", "-W", "2", b.router.pc);
    expect([pc2.exitCode, pc1.exitCode]).toEqual([0, 0]);
    const captured = (await capture).outcomes[0];
    expect(captured.stdout).toMatch(
      new RegExp(
        `IP ${b.router.pc.replace(/\./g, "\\.")} > ${a.router.pc.replace(/\./g, "\\.")}: ICMP echo request`,
      ),
    );
    expect(captured.stdout).toMatch(
      new RegExp(
        `IP ${a.router.pc.replace(/\./g, "\\.")} > ${b.router.pc.replace(/\./g, "\\.")}: ICMP echo reply`,
      ),
    );

    // Tear it all down again, in reverse order.
    for (const [kind, state] of created.reverse()) {
      await kind.delete(state);
    }
    expect(await Promise.all([routerState(a), routerState(b)])).toEqual(booted);
  });

  describe("TunnelRoute", () => {
    const route = () => ({ connection: a.connection, destination: "10.7.0.0/16", via: b.router.underlay });

    it("sees a route deleted out of band as drift, and repairs it", async () => {
      let state = await routes.create("drift", route());
      expect(state.outputs).toMatchObject({ present: true, drift: [] });
      expect((await runOn(a, "ip", "route", "del", "10.7.0.0/16")).exitCode).toBe(0);
      state = await routes.refresh(state);
      expect(state.outputs).toMatchObject({
        present: false,
        drift: ["routerA (root@169.254.100.11:22): route to 10.7.0.0/16 is missing"],
      });
      expect(await routes.preview(state, route())).toEqual({
        changes: "some",
        replaces: [],
        deleteBeforeReplace: false,
      });
      const up = await routes.up(state, route());
      expect(up.operation).toBe("update");
      expect((await runOn(a, "ip", "-N", "route", "show", "10.7.0.0/16")).stdout.trim()).toBe(
        `10.7.0.0/16 via ${b.router.underlay} dev eth1 proto 176`,
      );
      await routes.delete(up.state);
      expect((await runOn(a, "ip", "route", "show", "10.7.0.0/16")).stdout.trim()).toBe("");
    });

    it("does not clobber a route someone else made, unless asked to take it over", async () => {
      expect((await runOn(a, "ip", "route", "add", "10.7.0.0/16", "via", b.router.underlay)).exitCode).toBe(
        0,
      );
      try {
        await expect(
          routes.create("foreign", { ...route(), via: undefined, device: "eth1" }),
        ).rejects.toThrow(
          `routerA (root@169.254.100.11:22): a route to 10.7.0.0/16 via ${b.router.underlay} (protocol 3, metric 0) already exists and was not made by pulumi-gre; it is left alone. Set takeOver: true to replace it, or use another metric or table`,
        );
        expect((await runOn(a, "ip", "-N", "route", "show", "10.7.0.0/16")).stdout.trim()).toBe(
          `10.7.0.0/16 via ${b.router.underlay} dev eth1`,
        );
        const taken = await routes.create("foreign", { ...route(), takeOver: true, metric: 0 });
        expect((await runOn(a, "ip", "-N", "route", "show", "10.7.0.0/16")).stdout.trim()).toBe(
          `10.7.0.0/16 via ${b.router.underlay} dev eth1 proto 176`,
        );
        await routes.delete(taken);
      } finally {
        await runOn(a, "ip", "route", "del", "10.7.0.0/16");
      }
    });
  });

  describe("KernelModule", () => {
    it("accepts a module built into the kernel and leaves it be", async () => {
      const state = await modules.create("af_packet", {
        connection: a.connection,
        name: "af_packet",
        unloadOnDelete: true,
      });
      expect(state.outputs).toMatchObject({
        status: "builtin",
        providedBy: "af_packet",
        loadedByUs: [],
        drift: [],
      });
      await modules.delete(state);
    });

    it("takes nf_conntrack_proto_gre to mean nf_conntrack on this kernel", async () => {
      const state = await modules.create("conntrack-gre", {
        connection: b.connection,
        name: "nf_conntrack_proto_gre",
        unloadOnDelete: true,
      });
      expect(state.outputs).toMatchObject({ status: "loaded", providedBy: "nf_conntrack", drift: [] });
      expect(state.outputs.loadedByUs).toContain("nf_conntrack");
      await modules.delete(state);
      const left = parseProcModules((await runOn(b, "cat", "/proc/modules")).stdout).map((m) => m.name);
      expect(left.filter((m) => m.startsWith("nf_"))).toEqual([]);
    });

    it("says how to check the kernel when a module cannot be loaded", async () => {
      await expect(
        modules.create("missing", { connection: a.connection, name: "ip_gre_nonexistent" }),
      ).rejects.toThrow(
        /^routerA \(root@169\.254\.100\.11:22\): kernel module ip_gre_nonexistent cannot be loaded: modinfo: ERROR: Module ip_gre_nonexistent not found\. Check that the kernel has it: grep GRE \/boot\/config-\$\(uname -r\)/,
      );
    });

    it("leaves loaded a module it did not load", async () => {
      await runOn(b, "modprobe", "ip_gre");
      const preloaded = await modules.create("preloaded", {
        connection: b.connection,
        name: "ip_gre",
        unloadOnDelete: true,
      });
      expect(preloaded.outputs.loadedByUs).toEqual([]);
      await modules.delete(preloaded);
      expect(host.logs()).toContain(
        "KernelModule ip_gre on routerB (root@169.254.100.12:22): left loaded because this resource did not load it (it was loaded already)",
      );
      expect((await runOn(b, "test", "-d", "/sys/module/ip_gre")).exitCode).toBe(0);
      await runOn(b, "rmmod", "ip_gre");
    });
  });

  describe("persistence across a reboot", () => {
    it("brings a persisted module and sysctl back after the router restarts; without persist they are drift", async () => {
      const gre = await modules.create("persist-gre", {
        connection: b.connection,
        name: "ip_gre",
        persist: true,
        unloadOnDelete: true,
      });
      const fwd = await sysctls.create("persist-fwd", {
        connection: b.connection,
        key: "net.ipv4.ip_forward",
        value: 1,
        persist: true,
      });
      const plain = await sysctls.create("plain-rpf", {
        connection: b.connection,
        key: "net.ipv4.conf.all.rp_filter",
        value: 2,
      });
      expect(plain.outputs).toMatchObject({ original: "0", current: "2" });
      closeAllConnections();
      await new Lab(repoRoot(), () => undefined).restart("routerB");
      const [greAfter, fwdAfter, plainAfter] = await Promise.all([
        modules.refresh(gre),
        sysctls.refresh(fwd),
        sysctls.refresh(plain),
      ]);
      expect(greAfter.outputs).toMatchObject({ status: "loaded", persisted: true, drift: [] });
      expect(fwdAfter.outputs).toMatchObject({ current: "1", persisted: true, drift: [] });
      expect(plainAfter.outputs).toMatchObject({
        current: "0",
        drift: ["routerB (root@169.254.100.12:22): net.ipv4.conf.all.rp_filter is 0, wanted 2"],
      });
      const repaired = await sysctls.up(plainAfter, {
        connection: b.connection,
        key: "net.ipv4.conf.all.rp_filter",
        value: 2,
      });
      expect(repaired.state.outputs).toMatchObject({ current: "2", drift: [] });
      await sysctls.delete(repaired.state);
      await sysctls.delete(fwdAfter);
      await modules.delete(greAfter);
      const after = await routerState(b);
      expect(after).toMatchObject({ forwarding: "0/0", files: "" });
      expect((await runOn(b, "sysctl", "-n", "net.ipv4.conf.all.rp_filter")).stdout.trim()).toBe("0");
    });
  });
});
