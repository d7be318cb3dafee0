/**
 * `npm run bench -- fleet [--routers 10,50,100,200] [--topology hub,mesh] [--rtt MS] …`: the real
 * providers, Pulumi's real provider host and the stand-in engine against a fleet of simulated
 * routers (test/support/sim/simServer.ts), larger than any lab this machine can boot. Per size and
 * topology it runs `up`, a no-change `preview --refresh`, a repair (one tunnel end deleted by hand,
 * then `up --refresh`) and `destroy`, checks each against the routers' models, and reports wall
 * and provider time, SSH connections, round trips and the provider host's peak memory, and how each
 * grows with the fleet.
 *
 * @packageDocumentation
 */
import { mkdirSync, rmSync, writeFileSync } from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { dump as toYaml } from "js-yaml";
import { repoRoot } from "../../tools/repoRoot";
import { ensureOwnPackage } from "../../tools/localPackage";
import { engine } from "../engineRun";
import {
  fleetConfig,
  fleetRouter,
  tunnelAddresses,
  type FleetTopology,
  type FleetTunnel,
} from "./fleetTopology";
import { SimulatedFleet, type SimCosts } from "../../test/support/sim/simServer";

const PHASES = ["up", "preview --refresh (no changes)", "up --refresh (repair)", "destroy"] as const;

/** One phase of one fleet. */
export interface FleetPhase {
  phase: (typeof PHASES)[number];
  wallSeconds: number;
  providerSeconds: number | null;
  refreshSeconds: number | null;
  /** SSH connections and round trips, as the provider host's transport counted them. */
  connections: number;
  roundTrips: number;
  /** Connections and execs as the simulated routers saw them (a cross-check). */
  routerConnections: number;
  routerExecs: number;
  /**
   * CPU seconds the simulated routers themselves took (their SSH crypto and models, in this
   * process): on a small machine they compete with the engine and the provider host.
   */
  simulatorCpuSeconds: number;
  hostPeakMiB: number | null;
  correct: boolean;
  note: string;
}

/** One fleet: its size, topology and phases. */
export interface FleetRun {
  routers: number;
  topology: FleetTopology;
  /** Stacks the fleet was split into (regions run side by side); 1: one stack. */
  regions: number;
  tunnels: number;
  resources: number;
  parallel: number | null;
  phases: FleetPhase[];
}

/** Why the fleet is not as `up` should leave it, if it is not. */
function deployedProblems(fleet: SimulatedFleet, tunnels: FleetTunnel[]): string[] {
  const problems: string[] = [];
  for (const t of tunnels) {
    const [a, b] = t.routers.map((n) => fleet.router(n));
    const [addressA, addressB] = tunnelAddresses(t.index);
    const crosses =
      a.pathFrom({
        from: addressA,
        to: addressB,
        count: 1,
        intervalSeconds: 1,
        size: 56,
        dontFragment: false,
      }) &&
      b.pathFrom({
        from: addressB,
        to: addressA,
        count: 1,
        intervalSeconds: 1,
        size: 56,
        dontFragment: false,
      });
    if (!crosses) problems.push(`${t.name} does not carry traffic`);
    for (const [here, there] of [
      [a, b],
      [b, a],
    ]) {
      const route = here.routes.find((r) => r.dst === there.plan.lanPrefix && r.dev === t.name);
      if (!route)
        problems.push(`${here.plan.name} has no route to ${there.plan.lanPrefix} through ${t.name}`);
    }
  }
  return problems;
}

/** One stack of a fleet run: a region's routers (or all of them) and its tunnels. */
interface FleetStack {
  name: string;
  configFile: string;
  tunnels: FleetTunnel[];
}

/**
 * Runs the four phases on one fleet, as one stack or as `regions` stacks (hub and spokes, or a
 * partial mesh, per region) run side by side, each phase of every stack at once.
 */
async function runFleet(
  topology: FleetTopology,
  count: number,
  costs: SimCosts,
  options: { mode: string; parallel?: number; regions: number; workDir: string; log: (line: string) => void },
): Promise<FleetRun> {
  const plans = Array.from({ length: count }, (_, k) => fleetRouter(k + 1));
  const fleet = await SimulatedFleet.start(plans, costs);
  try {
    const stateDir = path.join(options.workDir, "state");
    const size = Math.ceil(count / options.regions);
    const stacks: FleetStack[] = [];
    for (let first = 1, tunnel = 0; first <= count; first += size) {
      const { config, tunnels } = fleetConfig(
        topology,
        Math.min(size, count - first + 1),
        (n) => fleet.endpoints.get(n)!,
        fleet.clientKey.private,
        { router: first, tunnel },
      );
      tunnel += tunnels.length;
      const name = `fleet-${topology}-${count}${options.regions > 1 ? `-region${stacks.length + 1}` : ""}`;
      const configFile = path.join(options.workDir, `Pulumi.${name}.yaml`);
      writeFileSync(configFile, toYaml({ config }));
      rmSync(path.join(stateDir, `${name}.json`), { force: true });
      stacks.push({ name, configFile, tunnels });
    }
    const tunnels = stacks.flatMap((s) => s.tunnels);
    // Per router a module and forwarding, per tunnel the tunnel and a route on each side.
    const resources = count * 2 + tunnels.length * 3;
    const before = plans.map((p) => fleet.router(p.name).snapshot());
    const commands = [["up"], ["preview", "--refresh"], ["up", "--refresh"], ["destroy"]];
    const phases: FleetPhase[] = [];
    const victim = tunnels[0];
    const label = `${topology} ${String(count).padStart(3)}${options.regions > 1 ? ` in ${options.regions} stacks` : ""}`;
    for (let i = 0; i < PHASES.length; i++) {
      if (i === 2) {
        // Someone deletes one end of the first tunnel by hand (its routes go with it).
        fleet.router(victim.routers[1]).run(["ip", "tunnel", "del", "name", victim.name], undefined);
      }
      const seen = { ...fleet.counts };
      const started = Date.now();
      const cpu = process.cpuUsage();
      const runs = await Promise.all(
        stacks.map((stack) =>
          engine(
            [
              ...commands[i],
              "--stack",
              stack.name,
              "--config-file",
              stack.configFile,
              ...(options.parallel ? ["--parallel", String(options.parallel)] : []),
            ],
            { GRE_ENGINE_STATE_DIR: stateDir, GRE_BENCH_MODE: options.mode },
            path.join(options.workDir, `${stack.name}-${i}.json`),
          ),
        ),
      );
      const wallSeconds = (Date.now() - started) / 1000;
      const reports = runs.map((run, k) => {
        if (!run.report)
          throw new Error(`${stacks[k].name}: ${PHASES[i]} produced no report:\n${run.out.slice(-3000)}`);
        return run.report;
      });
      const failed = runs.find((run) => run.code !== 0);
      let correct = !failed && fleet.unknown.length === 0;
      let note = failed
        ? `engine exited ${failed.code}: ${String(failed.report?.error ?? "").split("\n")[0]}`
        : "";
      if (fleet.unknown.length)
        note = `commands the fleet does not model: ${fleet.unknown.slice(0, 3).join("; ")}`;
      const changes = reports.reduce((sum, r) => sum + r.changes, 0);
      if (correct && (i === 0 || i === 2)) {
        const problems = deployedProblems(fleet, tunnels);
        correct = problems.length === 0 && (i === 0 || changes > 0);
        note = correct
          ? `all ${tunnels.length} tunnels carry traffic, routes both ways`
          : problems.slice(0, 3).join("; ");
      } else if (correct && i === 1) {
        correct = changes === 0;
        note = correct ? "no changes" : `${changes} unexpected changes`;
      } else if (correct && i === 3) {
        const changed = plans
          .filter((p, k) => fleet.router(p.name).snapshot() !== before[k])
          .map((p) => p.name);
        correct = changed.length === 0;
        note = correct ? "every router as before up" : `not as before: ${changed.slice(0, 5).join(", ")}`;
      }
      const most = (values: Array<number | undefined>) =>
        values.some((v) => v !== undefined) ? Math.max(...values.map((v) => v ?? 0)) : null;
      const peak = most(reports.map((r) => r.hostPeakMemoryBytes));
      const phase: FleetPhase = {
        phase: PHASES[i],
        wallSeconds,
        providerSeconds: most(reports.map((r) => r.timings?.provider)),
        refreshSeconds: most(reports.map((r) => r.timings?.refresh)),
        connections: reports.reduce((sum, r) => sum + r.transport.connectionsOpened, 0),
        roundTrips: reports.reduce((sum, r) => sum + r.transport.roundTrips, 0),
        routerConnections: fleet.counts.connections - seen.connections,
        routerExecs: fleet.counts.execs - seen.execs,
        simulatorCpuSeconds: (({ user, system }) => Math.round((user + system) / 1e5) / 10)(
          process.cpuUsage(cpu),
        ),
        hostPeakMiB: peak === null ? null : Math.round(peak / 1048576),
        correct,
        note,
      };
      phases.push(phase);
      options.log(
        `  ${label}  ${PHASES[i].padEnd(31)} ${wallSeconds.toFixed(1).padStart(6)} s` +
          `  provider ${(phase.providerSeconds ?? 0).toFixed(1).padStart(5)} s` +
          (phase.refreshSeconds !== null ? `  refresh ${phase.refreshSeconds.toFixed(1)} s` : "") +
          `  ${phase.connections} conn  ${phase.roundTrips} rt (${(phase.roundTrips / resources).toFixed(2)}/resource)  simulator ${phase.simulatorCpuSeconds} s CPU  ${phase.hostPeakMiB} MiB${options.regions > 1 ? " (largest host)" : ""}  ${correct ? "ok" : "WRONG"} ${note}`,
      );
      if (!correct && i === 0) break;
    }
    return {
      routers: count,
      topology,
      regions: options.regions,
      tunnels: tunnels.length,
      resources,
      parallel: options.parallel ?? null,
      phases,
    };
  } finally {
    await fleet.close();
  }
}

/** The report's table: one row per fleet and phase, with growth against the smallest fleet. */
export function fleetTable(runs: FleetRun[]): string {
  const lines = [
    "| topology | stacks | routers | tunnels | resources | phase | wall s | provider s | refresh s | conn | rt | rt per resource | host MiB | simulator CPU s | wall ÷ smallest | routers ÷ smallest | ok |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const fixed = (v: number | null) => (v === null ? "" : v.toFixed(1));
  for (const run of runs) {
    const smallest = runs
      .filter((r) => r.topology === run.topology && r.parallel === run.parallel && r.regions === run.regions)
      .reduce((a, b) => (b.routers < a.routers ? b : a));
    for (const p of run.phases) {
      const base = smallest.phases.find((q) => q.phase === p.phase);
      const measure = (q: FleetPhase | undefined) =>
        q?.refreshSeconds ?? q?.providerSeconds ?? q?.wallSeconds;
      const growth = base && measure(base) ? (measure(p)! / measure(base)!).toFixed(2) : "";
      lines.push(
        `| ${run.topology} | ${run.regions} | ${run.routers} | ${run.tunnels} | ${run.resources} | ${p.phase} | ${fixed(p.wallSeconds)} | ` +
          `${fixed(p.providerSeconds)} | ${fixed(p.refreshSeconds)} | ${p.connections} | ${p.roundTrips} | ${(p.roundTrips / run.resources).toFixed(2)} | ${p.hostPeakMiB ?? ""} | ${p.simulatorCpuSeconds} | ` +
          `${growth} | ${(run.routers / smallest.routers).toFixed(0)} | ${p.correct ? "yes" : "NO"} |`,
      );
    }
  }
  return lines.join("\n");
}

const list = (text: string) => text.split(",").map((s) => s.trim());

/** The fleet benchmark's command line. */
export async function fleetMain(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      routers: { type: "string", default: "10,50,100,200" },
      topology: { type: "string", default: "hub,mesh" },
      rtt: { type: "string", default: "50" },
      "connection-ms": { type: "string", default: "30" },
      "process-ms": { type: "string", default: "5" },
      parallel: { type: "string" },
      regions: { type: "string", default: "1" },
      mode: { type: "string", default: "ours" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: npm run bench -- fleet [--routers 10,50,100,200] [--topology hub,mesh] [--rtt MS (50)]\n" +
        "         [--connection-ms MS (30)] [--process-ms MS (5)] [--parallel N] [--regions K] [--mode ours|baseline] [--json FILE]",
    );
    return 0;
  }
  const sizes = list(values.routers!).map(Number);
  if (!sizes.every((n) => Number.isInteger(n) && n >= 2 && n <= 2000))
    throw new Error("--routers takes sizes from 2 to 2000");
  const topologies = list(values.topology!) as FleetTopology[];
  if (!topologies.every((t) => t === "hub" || t === "mesh"))
    throw new Error("--topology takes hub and/or mesh");
  const number = (flag: string, text: string) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} takes a number of milliseconds`);
    return n;
  };
  const costs: SimCosts = {
    rttMs: number("rtt", values.rtt!),
    connectionMs: number("connection-ms", values["connection-ms"]!),
    processMs: number("process-ms", values["process-ms"]!),
  };
  const parallel = values.parallel === undefined ? undefined : Number(values.parallel);
  const regions = Number(values.regions);
  if (!Number.isInteger(regions) || regions < 1) throw new Error("--regions takes a whole number from 1");
  if (values.mode !== "ours" && values.mode !== "baseline") throw new Error("--mode is ours or baseline");
  ensureOwnPackage(repoRoot(), (line) => console.log(line));
  const workDir = path.join(repoRoot(), ".lab", "bench", "fleet");
  mkdirSync(workDir, { recursive: true });
  console.log(
    `simulated routers ${costs.rttMs} ms away, ${costs.connectionMs} ms per SSH connection, ${costs.processMs} ms per process` +
      (parallel ? `, --parallel ${parallel}` : ", parallelism unbounded (pulumi's default)"),
  );
  const runs: FleetRun[] = [];
  for (const topology of topologies) {
    for (const size of sizes) {
      runs.push(
        await runFleet(topology, size, costs, {
          mode: values.mode,
          parallel,
          regions,
          workDir,
          log: console.log,
        }),
      );
    }
  }
  console.log(`\n${fleetTable(runs)}`);
  const result = {
    date: new Date().toISOString(),
    machine: `${require("os").cpus().length} cores, ${Math.round(require("os").totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    costs,
    mode: values.mode,
    runs,
  };
  if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2) + "\n");
  return runs.every((r) => r.phases.length === PHASES.length && r.phases.every((p) => p.correct)) ? 0 : 1;
}
