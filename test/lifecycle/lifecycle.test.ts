/**
 * The lifecycle of every resource, on simulated routers (real SSH servers on loopback answering
 * from an in-memory model of the kernel state): no root, no lab, every `npm test`. Each case runs
 * what Pulumi runs — check, create, read after someone changed the router behind Pulumi's back,
 * diff, update, delete — and a create that fails on the router, which must leave nothing behind.
 * The lab tests prove the same on real kernels.
 */
import type * as pulumi from "@pulumi/pulumi";
import * as pulumiRuntime from "@pulumi/pulumi";
import { greTunnelProvider } from "../../providers/greTunnel/lifecycle";
import { kernelModuleProvider } from "../../providers/oneRouter/kernelModule";
import { sysctlProvider } from "../../providers/oneRouter/sysctl";
import { legacySysctlFile, sysctlFile, sysctlFileContent } from "../../commands/sysctl/sysctl";
import { tunnelRouteProvider } from "../../providers/oneRouter/tunnelRoute";
import { checkRaw, type AnyProvider } from "../support/rawCalls";
import type { SimOutcome } from "../support/sim/simRouter";
import { startSimRouters, type SimRouters } from "../support/sim/simRouters";

type State = Record<string, unknown>;

/** One resource's lifecycle: what to declare, what the router shows, how to break it. */
interface LifecycleCase {
  resource: string;
  provider: AnyProvider;
  /** Makes what the resource needs (a loaded module, a tunnel) on the routers first. */
  setUp?(lab: SimRouters): void;
  inputs(lab: SimRouters): State;
  /** Whether the routers have what the inputs declare. */
  has(lab: SimRouters, inputs: State): boolean;
  /** Changes a router behind Pulumi's back. */
  drift(lab: SimRouters): void;
  /** What the refreshed outputs say of that drift. */
  driftSaid: RegExp;
  /** The drift as the outputs record it. */
  driftOf(outputs: State): string[];
  /**
   * The drift as the inputs `read` returns show it (Pulumi renders those against the program's):
   * the declared inputs with what the router has in their place. Undefined where no input can.
   */
  observed?(inputs: State): State;
  /** A change of the inputs, made in place by update. */
  change: State;
  /** The router whose command fails in the failed create, and which command. */
  fault: { router: string; matches(argv: readonly string[], stdin: string | undefined): boolean };
  faultSaid: RegExp;
}

const ipBatch = (verb: RegExp) => (argv: readonly string[], stdin: string | undefined) =>
  argv[0] === "ip" && argv[1] === "-batch" && verb.test(stdin ?? "");

function loadGre(lab: SimRouters, ...routers: string[]): void {
  for (const r of routers)
    expect(lab.router(r).run(["modprobe", "--", "ip_gre"], undefined).exitCode).toBe(0);
}

/** A gre tunnel r1 ⇄ r2 made on the routers directly (for the routes through it). */
function tunnelByHand(lab: SimRouters): void {
  loadGre(lab, "r1", "r2");
  const make = (r: string, local: string, remote: string, address: string, peer: string) =>
    expect(
      lab
        .router(r)
        .run(
          ["ip", "-batch", "-"],
          `tunnel add name gre9 mode gre remote ${remote} local ${local} ikey 9 okey 9 ttl 255\n` +
            `addr replace ${address} dev gre9 peer ${peer}\nlink set dev gre9 up\n`,
        ).exitCode,
    ).toBe(0);
  make("r1", "198.18.0.1", "198.18.0.2", "10.9.9.1", "10.9.9.2");
  make("r2", "198.18.0.2", "198.18.0.1", "10.9.9.2", "10.9.9.1");
}

const ends = (outputs: State) => (outputs.ends as Array<{ drift: string[] }>).flatMap((e) => e.drift);
const ownDrift = (outputs: State) => outputs.drift as string[];

const CASES: LifecycleCase[] = [
  {
    resource: "GreTunnel",
    provider: greTunnelProvider,
    setUp: (lab) => loadGre(lab, "r1", "r2"),
    inputs: (lab) => ({
      name: "gre1",
      key: 1,
      endpoints: [
        { connection: lab.connection("r1"), local: "198.18.0.1", address: "10.10.10.1" },
        { connection: lab.connection("r2"), local: "198.18.0.2", address: "10.10.10.2" },
      ],
    }),
    has: (lab, inputs) =>
      ["r1", "r2"].every((r) => {
        const t = lab.router(r).tunnels.get("gre1");
        return t !== undefined && t.up && t.ikey === inputs.key && t.okey === inputs.key;
      }),
    drift: (lab) => lab.router("r2").run(["ip", "link", "del", "dev", "gre1"], undefined),
    driftSaid: /^r2 \(.*\): gre1 is missing$/m,
    driftOf: ends,
    // routerB's end without its tunnel addresses.
    observed: (inputs) => {
      const [a, { address: _address, peerAddress: _peer, ...b }] = inputs.endpoints as State[];
      return { ...inputs, endpoints: [a, b] };
    },
    change: { key: 2 },
    fault: { router: "r2", matches: ipBatch(/tunnel add name gre1/) },
    faultSaid: /r2/,
  },
  {
    resource: "KernelModule",
    provider: kernelModuleProvider,
    inputs: (lab) => ({ connection: lab.connection("r1"), name: "ip_gre", unloadOnDelete: true }),
    has: (lab) => lab.router("r1").modulesLoaded.includes("ip_gre"),
    drift: (lab) => lab.router("r1").run(["rmmod", "ip_gre"], undefined),
    driftSaid: /^r1 \(.*\): kernel module ip_gre is not loaded$/m,
    driftOf: ownDrift,
    // Not loaded: the router has no module by that name (Pulumi shows `+ name: "ip_gre"`).
    observed: ({ name: _name, ...inputs }) => inputs,
    change: { persist: true },
    fault: { router: "r1", matches: (argv) => argv[0] === "modprobe" },
    faultSaid: /r1.*modprobe/s,
  },
  {
    resource: "Sysctl",
    provider: sysctlProvider,
    inputs: (lab) => ({ connection: lab.connection("r1"), key: "net.ipv4.ip_forward", value: 1 }),
    has: (lab) => lab.router("r1").sysctls["net.ipv4.ip_forward"] === "1",
    drift: (lab) => lab.router("r1").run(["sysctl", "-w", "net.ipv4.ip_forward=0"], undefined),
    driftSaid: /^r1 \(.*\): net\.ipv4\.ip_forward is 0, wanted 1$/m,
    driftOf: ownDrift,
    observed: (inputs) => ({ ...inputs, value: "0" }),
    change: { persist: true },
    fault: { router: "r1", matches: (argv) => argv[0] === "sysctl" && argv.includes("-w") },
    faultSaid: /r1.*sysctl/s,
  },
  {
    resource: "TunnelRoute",
    provider: tunnelRouteProvider,
    setUp: tunnelByHand,
    inputs: (lab) => ({ connection: lab.connection("r1"), destination: "10.100.2.0/24", via: "10.9.9.2" }),
    has: (lab, inputs) =>
      lab
        .router("r1")
        .routes.some(
          (r) => r.dst === "10.100.2.0/24" && r.gateway === "10.9.9.2" && r.metric === (inputs.metric ?? 0),
        ),
    drift: (lab) => lab.router("r1").run(["ip", "route", "del", "10.100.2.0/24"], undefined),
    driftSaid: /^r1 \(.*\): route to 10\.100\.2\.0\/24 is missing$/m,
    driftOf: ownDrift,
    observed: ({ via: _via, ...inputs }) => inputs,
    change: { source: "10.9.9.1" },
    fault: {
      router: "r1",
      matches: (argv, stdin) =>
        argv[0] === "ip" && (argv.includes("replace") || /route replace/.test(stdin ?? "")),
    },
    faultSaid: /r1.*route/s,
  },
];

const FAILED: SimOutcome = {
  stdout: "",
  stderr: "Operation not permitted (a fault set by the test)\n",
  exitCode: 2,
};

/** Everything a command could have changed on each router. */
const snapshots = (lab: SimRouters) => ["r1", "r2"].map((r) => lab.router(r).snapshot());

describe.each(CASES)("$resource on simulated routers", (c) => {
  let lab: SimRouters;
  let inputs: State;
  let state: State;
  let initial: string[];

  beforeAll(async () => {
    lab = await startSimRouters(2);
    c.setUp?.(lab);
    initial = snapshots(lab);
  });
  afterAll(() => lab.close());

  const checked = async (raw: State): Promise<State> => {
    const result = await checkRaw(c.provider, raw);
    expect(result.failures).toBeUndefined();
    return result.inputs as State;
  };

  it("is created as declared", async () => {
    inputs = await checked(c.inputs(lab));
    const created = await c.provider.create(inputs);
    state = created.outs;
    expect(c.has(lab, inputs)).toBe(true);
    expect(c.driftOf(state)).toEqual([]);
  });

  it("reads back unchanged, and diff finds nothing to do", async () => {
    const read = (await c.provider.read!("id", state)) as pulumi.dynamic.ReadResult<State>;
    expect(c.driftOf(read.props!)).toEqual([]);
    expect(read.inputs).toEqual(inputs);
    expect((await c.provider.diff!("id", read.props!, inputs)).changes).toBe(false);
  });

  it("shows a change made behind Pulumi's back as drift, which diff turns into an update", async () => {
    c.drift(lab);
    expect(c.has(lab, inputs)).toBe(false);
    const read = (await c.provider.read!("id", state)) as pulumi.dynamic.ReadResult<State>;
    expect(c.driftOf(read.props!).join("\n")).toMatch(c.driftSaid);
    if (c.observed) expect(read.inputs).toStrictEqual(c.observed(inputs));
    expect((await c.provider.diff!("id", read.props!, inputs)).changes).toBe(true);
    state = read.props!;
  });

  it("is repaired by update", async () => {
    state = (await c.provider.update!("id", state, inputs)).outs!;
    expect(c.has(lab, inputs)).toBe(true);
    expect(c.driftOf(state)).toEqual([]);
  });

  it("takes a change of its inputs in place", async () => {
    const changed = await checked({ ...c.inputs(lab), ...c.change });
    const diff = await c.provider.diff!("id", state, changed);
    expect([diff.changes, diff.replaces ?? []]).toEqual([true, []]);
    state = (await c.provider.update!("id", state, changed)).outs!;
    inputs = changed;
    expect(c.has(lab, inputs)).toBe(true);
  });

  it("is deleted, leaving the routers as they were before it", async () => {
    await c.provider.delete!("id", state);
    expect(c.has(lab, inputs)).toBe(false);
    expect(snapshots(lab)).toEqual(initial);
  });

  it("undoes a create that fails on a router, leaving both routers as they were", async () => {
    const before = snapshots(lab);
    lab.router(c.fault.router).faults.push({ matches: c.fault.matches, outcome: FAILED });
    await expect(c.provider.create(await checked(c.inputs(lab)))).rejects.toThrow(c.faultSaid);
    lab.router(c.fault.router).faults.length = 0;
    expect(snapshots(lab)).toEqual(before);
  });
});

describe("a GreTunnel state written by 0.3.0 or earlier (the connections' secrets inside the endpoints)", () => {
  let lab: SimRouters;
  let state: State;
  let inputs: State;

  beforeAll(async () => {
    lab = await startSimRouters(2);
    CASES[0].setUp!(lab);
    const checked = await checkRaw(greTunnelProvider, CASES[0].inputs(lab));
    inputs = checked.inputs as State;
    const created = (await greTunnelProvider.create(checked.inputs!)).outs!;
    // As 0.3.0 wrote it: no credentials, each connection whole.
    const { credentials: _credentials, ...rest } = created;
    state = {
      ...rest,
      endpoints: created.endpoints.map((e, i) => ({
        ...e,
        connection: lab.connection(`r${i + 1}`),
      })),
    };
  });
  afterAll(() => lab.close());

  it("is read back in its own shape: a refresh alone never moves the secrets out of the property that holds them secret", async () => {
    const read = (await greTunnelProvider.read!("id", state as never)) as pulumi.dynamic.ReadResult<State>;
    for (const values of [read.props!, read.inputs!]) {
      expect(values.credentials).toBeUndefined();
      expect(JSON.stringify(values.endpoints)).toContain("PRIVATE KEY");
    }
  });

  it("is updated once, moving the secrets into credentials, with nothing changed on the routers", async () => {
    const before = snapshots(lab);
    expect((await greTunnelProvider.diff!("id", state as never, inputs as never)).changes).toBe(true);
    const updated = (await greTunnelProvider.update!("id", state as never, inputs as never)).outs!;
    expect(JSON.stringify(updated.endpoints)).not.toContain("PRIVATE KEY");
    expect(JSON.stringify(updated.credentials)).toContain("PRIVATE KEY");
    expect(snapshots(lab)).toEqual(before);
    expect((await greTunnelProvider.diff!("id", updated, inputs as never)).changes).toBe(false);
    await greTunnelProvider.delete!("id", updated);
  });
});

describe("a one-router state written by 0.3.0 or earlier (the connection's secrets inside it)", () => {
  let lab: SimRouters;
  let state: State;
  let inputs: State;
  const sysctl = CASES.find((c) => c.resource === "Sysctl")!;

  beforeAll(async () => {
    lab = await startSimRouters(2);
    const checked = await checkRaw(sysctlProvider, sysctl.inputs(lab));
    inputs = checked.inputs as State;
    const created = (await sysctlProvider.create(checked.inputs!)).outs! as State;
    // As 0.3.0 wrote it: no credentials, the connection whole.
    const { credentials: _credentials, ...rest } = created;
    state = { ...rest, connection: lab.connection("r1") };
  });
  afterAll(() => lab.close());

  it("is read back in its own shape (a refresh alone never moves the secrets out of the property that holds them secret)", async () => {
    const read = (await sysctlProvider.read!("id", state as never)) as pulumi.dynamic.ReadResult<State>;
    for (const values of [read.props!, read.inputs!]) {
      expect(values.credentials).toBeUndefined();
      expect(JSON.stringify(values.connection)).toContain("PRIVATE KEY");
    }
  });

  it("is updated once, moving the secrets into credentials, with nothing changed on the router", async () => {
    const before = snapshots(lab);
    expect((await sysctlProvider.diff!("id", state as never, inputs as never)).changes).toBe(true);
    const updated = (await sysctlProvider.update!("id", state as never, inputs as never)).outs! as State;
    expect(JSON.stringify(updated.connection)).not.toContain("PRIVATE KEY");
    expect(JSON.stringify(updated.credentials)).toContain("PRIVATE KEY");
    expect(snapshots(lab)).toEqual(before);
    expect((await sysctlProvider.diff!("id", updated as never, inputs as never)).changes).toBe(false);
    await sysctlProvider.delete!("id", updated as never);
  });
});

describe("KernelModule with unloadOnDelete and a tunnel it did not make (rmmod would delete it)", () => {
  let lab: SimRouters;
  afterEach(() => lab.close());

  const foreignTunnel = (ok: number) =>
    expect(
      lab
        .router("r1")
        .run(
          [
            "ip",
            "tunnel",
            "add",
            "name",
            "other",
            "mode",
            "gre",
            "remote",
            "198.18.0.2",
            "local",
            "198.18.0.1",
            "ikey",
            "7",
            "okey",
            "7",
          ],
          undefined,
        ).exitCode,
    ).toBe(ok);

  it.each([
    ["an operator's tunnel", true],
    ["no tunnel but the kernel's own", false],
  ])("with %s", async (_, foreign) => {
    lab = await startSimRouters(1);
    const checked = await checkRaw(kernelModuleProvider, {
      connection: lab.connection("r1"),
      name: "ip_gre",
      unloadOnDelete: true,
    });
    const state = (await kernelModuleProvider.create(checked.inputs!)).outs!;
    expect(state.loadedByUs).toContain("ip_gre");
    if (foreign) foreignTunnel(0);
    const said = jest.spyOn(pulumiRuntime.log, "info").mockImplementation(() => Promise.resolve());
    let notices: string[];
    try {
      await kernelModuleProvider.delete!("id", state);
      notices = said.mock.calls.map(([text]) => text);
    } finally {
      said.mockRestore();
    }
    const r1 = lab.router("r1");
    expect([r1.modulesLoaded.includes("ip_gre"), r1.tunnels.has("other")]).toEqual([foreign, foreign]);
    expect(notices).toEqual(
      foreign
        ? [
            expect.stringMatching(
              /^KernelModule ip_gre on r1 \(.*\): left loaded because rmmod would delete the devices it provides: other \(gre\)$/,
            ),
          ]
        : [],
    );
  });
});

describe("a router decommissioned in the configuration (gone for good): never contacted", () => {
  let lab: SimRouters;
  afterEach(async () => {
    await greTunnelProvider.configure!({ config: configOf({}) });
    await lab.close();
  });

  /** The configuration as the dynamic provider host hands it (lists and objects as JSON text). */
  const configOf = (values: Record<string, unknown>): pulumi.dynamic.Config => ({
    get: (key: string) => (values[key] === undefined ? undefined : JSON.stringify(values[key])),
    require: (key: string) => JSON.stringify(values[key]),
  });

  it.each([
    ["pulumi-gre:decommissioned, by the connection's name", { "pulumi-gre:decommissioned": ["r2"] }],
    [
      "the stack's routers, with decommissioned: true",
      { "pulumi-gre:routers": { r1: { lab: "r1" }, r2: { lab: "r2", decommissioned: true } } },
    ],
  ])(
    "named in %s: its end, its module dropped; the live end removed; nothing made on it",
    async (_, config) => {
      lab = await startSimRouters(2);
      loadGre(lab, "r1", "r2");
      const tunnel = await checkRaw(greTunnelProvider, CASES[0].inputs(lab));
      const state = (await greTunnelProvider.create(tunnel.inputs!)).outs!;
      const module = await checkRaw(kernelModuleProvider, {
        connection: lab.connection("r2"),
        name: "ip_gre",
        unloadOnDelete: true,
      });
      const moduleState = (await kernelModuleProvider.create(module.inputs!)).outs!;

      // Any command on r2 from here on fails: nothing may reach it.
      await greTunnelProvider.configure!({ config: configOf(config) });
      const r2 = lab.router("r2");
      r2.faults.push({ matches: () => true, outcome: FAILED });
      const said = jest.spyOn(pulumiRuntime.log, "info").mockImplementation(() => Promise.resolve());
      try {
        const read = (await greTunnelProvider.read!("id", state)) as pulumi.dynamic.ReadResult<State>;
        expect(read.props).toEqual(state);
        await expect(greTunnelProvider.create(tunnel.inputs!)).rejects.toThrow(
          /^r2 \(.*\) is decommissioned .*: GRE tunnel gre1 is not made or changed on it; take it out of the program$/,
        );
        await expect(kernelModuleProvider.update!("id", moduleState, module.inputs!)).rejects.toThrow(
          /^r2 \(.*\) is decommissioned .*: KernelModule ip_gre is not made or changed on it/,
        );
        await greTunnelProvider.delete!("id", state);
        await kernelModuleProvider.delete!("id", moduleState);
        expect(said.mock.calls.map(([text]) => text)).toEqual([
          expect.stringMatching(
            /^r2 \(.*\) is decommissioned: gre1's end dropped from the state without contacting it/,
          ),
          expect.stringMatching(/^r2 \(.*\) is decommissioned: KernelModule ip_gre dropped from the state/),
        ]);
      } finally {
        said.mockRestore();
      }
      expect([lab.router("r1").tunnels.has("gre1"), r2.tunnels.has("gre1")]).toEqual([false, true]);
      expect(r2.modulesLoaded).toContain("ip_gre");
    },
  );
});

describe("a Sysctl file of 0.3 under the name another key shares (eth0/100 written eth0_100)", () => {
  let lab: SimRouters;
  afterEach(() => lab.close());
  const dotted = "net.ipv4.conf.eth0/100.rp_filter";
  const underscored = "net.ipv4.conf.eth0_100.rp_filter";

  it("is moved to the key's own name by up, and removed by delete; another key's file of that name is left", async () => {
    lab = await startSimRouters(1);
    const router = lab.router("r1");
    router.sysctls[dotted] = "1";
    const oldName = legacySysctlFile(dotted)!;
    const checked = await checkRaw(sysctlProvider, {
      connection: lab.connection("r1"),
      key: dotted,
      value: 2,
      persist: true,
    });
    // Another key's file under that name (eth0_100's own) is not this resource's.
    router.files.set(oldName, sysctlFileContent(underscored, "1"));
    const created = (await sysctlProvider.create(checked.inputs!)).outs! as State;
    expect(router.files.get(sysctlFile(dotted))).toBe(sysctlFileContent(dotted, "2"));
    expect(router.files.get(oldName)).toBe(sysctlFileContent(underscored, "1"));
    // This key's file where 0.3 wrote it: counted as its boot file, moved by the next up.
    router.files.delete(sysctlFile(dotted));
    router.files.set(oldName, sysctlFileContent(dotted, "2"));
    const read = (await sysctlProvider.read!("id", created as never)) as pulumi.dynamic.ReadResult<State>;
    expect(read.props!.drift).toEqual([]);
    const updated = (
      await sysctlProvider.update!("id", created as never, { ...checked.inputs!, value: "3" } as never)
    ).outs! as State;
    expect([...router.files.keys()].filter((f) => f.startsWith("/etc/sysctl.d/"))).toEqual([
      sysctlFile(dotted),
    ]);
    router.files.set(oldName, sysctlFileContent(dotted, "3"));
    await sysctlProvider.delete!("id", updated as never);
    expect([...router.files.keys()].filter((f) => f.startsWith("/etc/sysctl.d/"))).toEqual([]);
  });
});
