/**
 * `persist` in the form the router's boot reads: on simulated routers whose systemd has
 * systemd-networkd enabled, ifupdown's networking.service (Debian as installed), NetworkManager, or none.
 * Refused before anything changes where nothing would read the files, naming what was found; a
 * router moved from one stack to the other is converged by the next up; a stack disabled later is
 * drift, and up refuses again rather than say persisted.
 */
import type * as pulumi from "@pulumi/pulumi";
import { greTunnelProvider as greTunnel } from "../../providers/greTunnel/lifecycle";
import { tunnelRouteProvider as tunnelRoute } from "../../providers/oneRouter/tunnelRoute";
import { tunnelFiles } from "../../commands/networkd/networkd";
import { routeStanzaFile, tunnelStanzaFile } from "../../commands/ifupdown/ifupdown";
import {
  routeDispatcherFile,
  tunnelDispatcherFile,
  tunnelKeyfile,
} from "../../commands/networkManager/networkManager";
import { checkRaw, type AnyProvider } from "../support/rawCalls";
import { startSimRouters, type SimRouters } from "../support/sim/simRouters";

type State = Record<string, unknown>;
const greTunnelProvider = greTunnel as AnyProvider;
const tunnelRouteProvider = tunnelRoute as AnyProvider;

const NONE = { "systemd-networkd.service": "disabled" };
const DEBIAN = { "systemd-networkd.service": "disabled", "networking.service": "enabled" };
const NETWORKD = { "systemd-networkd.service": "enabled" };
const NETWORK_MANAGER = {
  "systemd-networkd.service": "disabled",
  "NetworkManager.service": "enabled",
  "NetworkManager-dispatcher.service": "enabled",
};
const FOUND_ON_NONE =
  "found systemd-networkd.service disabled, NetworkManager.service not installed, networking.service \\(ifupdown\\) not installed";

describe("persist in the form each router's boot reads", () => {
  let lab: SimRouters;
  const snapshots = () => ["r1", "r2"].map((r) => lab.router(r).snapshot());
  const files = (r: string) => [...lab.router(r).files.keys()].sort();
  const units = (router: string, found: Record<string, string>) => {
    const held = lab.router(router).units;
    for (const unit of Object.keys(held)) delete held[unit];
    Object.assign(held, found);
  };
  const checked = async (provider: AnyProvider, raw: State): Promise<State> => {
    const result = await checkRaw(provider, raw);
    expect(result.failures).toBeUndefined();
    return result.inputs as State;
  };
  const tunnel = () =>
    checked(greTunnelProvider, {
      name: "gre1",
      key: 1,
      persist: true,
      endpoints: [
        { connection: lab.connection("r1"), local: "198.18.0.1", address: "10.10.10.1" },
        { connection: lab.connection("r2"), local: "198.18.0.2", address: "10.10.10.2" },
      ],
    });
  const route = () =>
    checked(tunnelRouteProvider, {
      connection: lab.connection("r2"),
      destination: "10.1.1.0/24",
      via: "10.10.10.1",
      tunnel: {
        name: "gre1",
        local: "198.18.0.2",
        remote: "198.18.0.1",
        address: "10.10.10.2",
        peerAddress: "10.10.10.1",
      },
      persist: true,
    });
  const read = async (provider: AnyProvider, state: State) =>
    ((await provider.read!("id", state)) as pulumi.dynamic.ReadResult<State>).props!;
  const endDrift = (state: State) => (state.ends as Array<{ drift: string[] }>)[1].drift.join("\n");

  beforeAll(async () => {
    lab = await startSimRouters(2);
    for (const r of ["r1", "r2"])
      expect(lab.router(r).run(["modprobe", "--", "ip_gre"], undefined).exitCode).toBe(0);
  });
  afterAll(() => lab.close());

  it("is refused at create where nothing reads network files at boot, naming what was found; nothing changes", async () => {
    units("r1", NETWORKD);
    units("r2", NONE);
    const before = snapshots();
    await expect(greTunnelProvider.create(await tunnel())).rejects.toThrow(
      new RegExp(`r2 .*persist: nothing on this router would bring gre1 back at boot: .*${FOUND_ON_NONE}`),
    );
    await expect(tunnelRouteProvider.create(await route())).rejects.toThrow(
      /persist: nothing on this router would bring the route to 10\.1\.1\.0\/24 back at boot/,
    );
    expect(snapshots()).toEqual(before);
  });

  it("is refused where ifupdown runs but its interfaces file does not source interfaces.d", async () => {
    units("r2", DEBIAN);
    lab.router("r2").sourcesInterfacesD = false;
    await expect(greTunnelProvider.create(await tunnel())).rejects.toThrow(
      /networking.service \(ifupdown\) enabled \(but \/etc\/network\/interfaces has no `source \/etc\/network\/interfaces.d\/\*` line\)/,
    );
    lab.router("r2").sourcesInterfacesD = true;
  });

  it("writes networkd files on r1 and ifupdown stanzas on r2; a router moved to networkd is converged; disabled, it is drift and up refuses", async () => {
    const inputs = await tunnel();
    let state = (await greTunnelProvider.create(inputs)).outs as State;
    expect(files("r1")).toEqual([tunnelFiles("gre1").netdev, tunnelFiles("gre1").network]);
    expect(files("r2")).toEqual([tunnelStanzaFile("gre1")]);
    expect(lab.router("r2").files.get(tunnelStanzaFile("gre1"))).toContain(
      "    pre-up ip tunnel add name gre1 mode gre remote 198.18.0.1 local 198.18.0.2 ikey 1 okey 1 ttl 255\n",
    );
    expect((state.ends as State[]).map((e) => e.persisted)).toEqual([true, true]);
    const routeInputs = await route();
    const routeState = (await tunnelRouteProvider.create(routeInputs)).outs as State;
    expect(routeState.persisted).toBe(true);
    expect(files("r2")).toContain(
      routeStanzaFile({ device: "gre1", destination: "10.1.1.0/24", table: 254, metric: 0 }),
    );

    // The stanza edited by hand: drift, repaired by up.
    lab.router("r2").files.set(tunnelStanzaFile("gre1"), "auto gre1\n");
    state = await read(greTunnelProvider, state);
    expect(endDrift(state)).toMatch(/\/etc\/network\/interfaces.d\/pulumi-gre-gre1 was changed/);
    state = (await greTunnelProvider.update!("id", state, inputs)).outs as State;
    expect(endDrift(state)).toBe("");

    // r2 moved to systemd-networkd: the stanza should not be there, the networkd files are missing.
    units("r2", NETWORKD);
    state = await read(greTunnelProvider, state);
    expect(endDrift(state)).toMatch(
      /pulumi-gre-gre1.netdev is missing[^]*pulumi-gre-gre1 should not be there/,
    );
    state = (await greTunnelProvider.update!("id", state, inputs)).outs as State;
    expect(files("r2")).toContain(tunnelFiles("gre1").network);
    expect(files("r2")).not.toContain(tunnelStanzaFile("gre1"));

    // Nothing enabled any more: drift, and up refuses rather than rewrite files nothing reads.
    units("r2", NONE);
    state = await read(greTunnelProvider, state);
    expect((state.ends as State[]).map((e) => e.persisted)).toEqual([true, false]);
    expect(endDrift(state)).toMatch(
      /nothing would read its boot files at boot \(systemd-networkd.service disabled/,
    );
    const before = snapshots();
    await expect(greTunnelProvider.update!("id", state, inputs)).rejects.toThrow(
      /persist: nothing on this router/,
    );
    expect(snapshots()).toEqual(before);

    units("r2", DEBIAN);
    await tunnelRouteProvider.delete!("id", routeState);
    await greTunnelProvider.delete!("id", state);
    expect([...files("r1"), ...files("r2")]).toEqual([]);
  });

  it("writes a keyfile (0600) and dispatcher scripts (0755) where NetworkManager runs; an edit is drift; delete has it forget the profile", async () => {
    units("r1", NETWORKD);
    units("r2", NETWORK_MANAGER);
    const sim = lab.router("r2");
    sim.keyfileLoads.length = 0;
    const inputs = await tunnel();
    let state = (await greTunnelProvider.create(inputs)).outs as State;
    const routeState = (await tunnelRouteProvider.create(await route())).outs as State;
    const routeScript = routeDispatcherFile({
      device: "gre1",
      destination: "10.1.1.0/24",
      table: 254,
      metric: 0,
    });
    expect(files("r2")).toEqual([routeScript, tunnelDispatcherFile("gre1"), tunnelKeyfile("gre1")].sort());
    expect(
      [tunnelKeyfile("gre1"), tunnelDispatcherFile("gre1"), routeScript].map((f) => sim.fileModes.get(f)),
    ).toEqual(["0600", "0755", "0755"]);
    expect(sim.files.get(tunnelDispatcherFile("gre1"))).toContain(
      "ip addr replace 10.10.10.2 dev gre1 peer 10.10.10.1\n",
    );
    expect(sim.keyfileLoads).toEqual([[tunnelKeyfile("gre1")]]);
    expect([(state.ends as State[])[1].persisted, routeState.persisted]).toEqual([true, true]);

    // Someone's edit of the keyfile: drift, repaired by up (and loaded again).
    sim.files.set(tunnelKeyfile("gre1"), "[connection]\nid=mine\n");
    state = await read(greTunnelProvider, state);
    expect(endDrift(state)).toMatch(/pulumi-gre-gre1.nmconnection was changed/);
    state = (await greTunnelProvider.update!("id", state, inputs)).outs as State;
    expect(endDrift(state)).toBe("");
    expect(sim.keyfileLoads).toHaveLength(2);

    await tunnelRouteProvider.delete!("id", routeState);
    await greTunnelProvider.delete!("id", state);
    expect([...files("r1"), ...files("r2")]).toEqual([]);
    expect(sim.keyfileLoads.at(-1)).toEqual([tunnelKeyfile("gre1")]);
  });
});
