/**
 * A hub's tunnels created at once, as `pulumi up` creates them: their changes on the hub share round
 * trips, and a failure in one tunnel's end fails and undoes that tunnel alone.
 */
import { greTunnelProvider } from "../../providers/greTunnel/lifecycle";
import { installTransportHooks } from "../../transport/hooks";
import { checkRaw } from "../support/rawCalls";
import type { SimOutcome } from "../support/sim/simRouter";
import { startSimRouters, type SimRouters } from "../support/sim/simRouters";

const SPOKES = ["r2", "r3", "r4", "r5", "r6"];

const FAILED: SimOutcome = {
  stdout: "",
  stderr: "Operation not permitted (a fault set by the test)\n",
  exitCode: 2,
};

describe("a hub's tunnels created together on simulated routers", () => {
  let lab: SimRouters;

  beforeAll(async () => {
    lab = await startSimRouters(1 + SPOKES.length);
    for (const r of ["r1", ...SPOKES])
      expect(lab.router(r).run(["modprobe", "--", "ip_gre"], undefined).exitCode).toBe(0);
  });
  afterAll(() => lab.close());

  const tunnel = (spoke: string, i: number) => ({
    name: `gre-${spoke}`,
    key: 100 + i,
    endpoints: [
      { connection: lab.connection("r1"), local: "198.18.0.1", address: `10.10.${i}.1` },
      {
        connection: lab.connection(spoke),
        local: `198.18.0.${i + 2}`,
        address: `10.10.${i}.2`,
        name: "gre-hub",
      },
    ],
  });

  it("fails and undoes only the tunnel whose change failed on the hub; the others are made, sharing round trips", async () => {
    const hubSnapshot = lab.router("r1").snapshot();
    const failing = SPOKES[2];
    lab.router("r1").faults.push({
      matches: (argv, stdin) =>
        argv[0] === "ip" && argv[1] === "-batch" && (stdin ?? "").includes(`gre-${failing} `),
      outcome: FAILED,
    });
    const hubRoundTrips: number[] = [];
    const detach = installTransportHooks({
      observer: {
        roundTrip: (router, commands) => router.startsWith("r1 ") && hubRoundTrips.push(commands.length),
      },
    });
    let results: PromiseSettledResult<unknown>[];
    try {
      const inputs = await Promise.all(
        SPOKES.map(async (s, i) => {
          const checked = await checkRaw(greTunnelProvider, tunnel(s, i));
          expect(checked.failures).toBeUndefined();
          return checked.inputs;
        }),
      );
      results = await Promise.allSettled(inputs.map((x) => greTunnelProvider.create(x!)));
    } finally {
      detach();
      lab.router("r1").faults.length = 0;
    }
    expect(results.map((r) => r.status)).toEqual(
      SPOKES.map((s) => (s === failing ? "rejected" : "fulfilled")),
    );
    const reason = (results[2] as PromiseRejectedResult).reason as Error;
    expect(reason.message).toMatch(
      /^creating GRE tunnel gre-r4 .* failed on r1 .*\n {2}r1 .*`ip tunnel add name gre-r4 .*` exited with status 2: Operation not permitted.*\nUndone, so no half tunnel is left:/s,
    );
    // Every other tunnel is up at both ends; the failed one is on neither router.
    for (const s of SPOKES.filter((x) => x !== failing)) {
      expect(lab.router("r1").tunnels.get(`gre-${s}`)?.up).toBe(true);
      expect(lab.router(s).tunnels.get("gre-hub")?.up).toBe(true);
    }
    expect(lab.router("r1").tunnels.has(`gre-${failing}`)).toBe(false);
    expect(lab.router(failing).tunnels.has("gre-hub")).toBe(false);
    // The hub took the five tunnels' changes in fewer round trips than one per tunnel and step.
    expect(hubRoundTrips.length).toBeLessThan(SPOKES.length * 2);
    expect(hubSnapshot).not.toEqual(lab.router("r1").snapshot());
  });
});
