/**
 * `npm run bench -- [--routers N] [--topology mesh|hub] [--mode ours|baseline|both] [--rtt MS] [--json FILE]`
 *
 * Boots (or reuses) a lab of N routers, deploys a topology (module, forwarding, tunnels, routes both
 * ways) through the stand-in engine with Pulumi's default parallelism, and measures each phase: up,
 * preview --refresh with no changes, preview --refresh after one tunnel end was deleted by hand, up
 * to repair, destroy. Per phase: wall seconds, SSH connections opened, round trips, processes
 * started on the routers, the provider host's peak memory, and whether the result was right. It also
 * measures the floor: connecting once to every router in parallel and reading its whole GRE state in
 * one round trip. `--mode baseline` runs the same phases the naive way (a new SSH connection for
 * every command, one process per `ip` call) through the same engine. `--rtt MS` puts the routers a
 * WAN apart (`npm run lab -- rtt MS`: netem inside the routers on their management and underlay
 * links). `npm run bench -- fleet …` is the simulated fleet instead (bench/fleet/).
 */
import { mkdirSync, rmSync, writeFileSync } from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { dump as toYaml } from "js-yaml";
import { inventoryRouter, labConnection, type Inventory } from "../lab/inventory";
import { repoRoot } from "../tools/repoRoot";
import { Lab } from "../lab/lab";
import { fieldNoteState } from "../lab/routerState";
import { closeAllConnections, runOnRouter } from "../transport";
import { installTransportHooks } from "../transport/hooks";
import { ensureOwnPackage } from "../tools/localPackage";
import { engine } from "./engineRun";
import { fleetMain } from "./fleet/fleet";
import { countingObserver, noCounts } from "./transportCounters";
import { topologyConfig, type BenchTunnel, type Topology } from "./topology";

type Mode = "ours" | "baseline";
const PHASES = [
  "up",
  "preview --refresh (no changes)",
  "preview --refresh (one end deleted)",
  "up --refresh (repair)",
  "destroy",
] as const;

interface PhaseResult {
  phase: string;
  /** The whole engine command, process start to exit. */
  wallSeconds: number;
  /** Of which: from the engine's first provider call to the end of its last (start-up left out). */
  providerSeconds: number | null;
  /** Of which: reading every resource back (refresh), when the phase refreshes. */
  refreshSeconds: number | null;
  connections: number;
  roundTrips: number;
  processes: number;
  hostPeakMiB: number | null;
  operations: Record<string, number>;
  correct: boolean;
  note: string;
}

interface ModeResult {
  mode: Mode;
  phases: PhaseResult[];
}

interface BenchResult {
  date: string;
  machine: string;
  routers: number;
  /** Round-trip time added to and between the routers (netem), in milliseconds. */
  rttMs: number;
  topology: Topology;
  tunnels: number;
  resources: number;
  floor: { wallSeconds: number; connections: number; roundTrips: number };
  modes: ModeResult[];
}

/** PC to PC across every tunnel (the reply comes back through it too). */
async function pingAcross(inventory: Inventory, tunnels: BenchTunnel[]): Promise<string[]> {
  const failures: string[] = [];
  await Promise.all(
    tunnels.map(async (t) => {
      const from = inventoryRouter(inventory, t.routers[0]);
      const to = inventoryRouter(inventory, t.routers[1]);
      const ping = await runOnRouter(
        labConnection(from),
        [{ argv: ["ip", "netns", "exec", "pc", "ping", "-c", "2", "-W", "3", to.pc] }],
        { check: false },
      );
      if (ping.outcomes[0].exitCode !== 0)
        failures.push(`${t.name}: ${from.name}'s PC cannot reach ${to.pc}`);
    }),
  );
  return failures;
}

/** Connecting once to every router in parallel and reading its whole GRE state in one round trip. */
async function measureFloor(inventory: Inventory): Promise<BenchResult["floor"]> {
  closeAllConnections();
  const counts = noCounts();
  const detach = installTransportHooks({ observer: countingObserver(counts) });
  const started = Date.now();
  await Promise.all(
    inventory.routers.map((r) =>
      runOnRouter(labConnection(r), [
        { argv: ["ip", "-j", "-d", "link", "show"] },
        { argv: ["ip", "-j", "addr", "show"] },
        { argv: ["ip", "-4", "-N", "-j", "route", "show", "table", "all"] },
        { argv: ["cat", "/proc/modules"] },
        { argv: ["sysctl", "-n", "net.ipv4.ip_forward"] },
      ]),
    ),
  );
  const wallSeconds = (Date.now() - started) / 1000;
  detach();
  closeAllConnections();
  return { wallSeconds, connections: counts.connectionsOpened, roundTrips: counts.roundTrips };
}

async function runMode(
  mode: Mode,
  stack: string,
  configFile: string,
  workDir: string,
  inventory: Inventory,
  tunnels: BenchTunnel[],
): Promise<ModeResult> {
  const env: NodeJS.ProcessEnv = {
    GRE_ENGINE_STATE_DIR: path.join(workDir, "state"),
    GRE_BENCH_MODE: mode,
  };
  rmSync(path.join(workDir, "state", `${stack}.json`), { force: true });
  const connections = inventory.routers.map(labConnection);
  const clean = JSON.stringify(await Promise.all(connections.map(fieldNoteState)));
  const phases: PhaseResult[] = [];
  const commands: string[][] = [
    ["up", "--stack", stack],
    ["preview", "--stack", stack, "--refresh"],
    ["preview", "--stack", stack, "--refresh"],
    ["up", "--stack", stack, "--refresh"],
    ["destroy", "--stack", stack],
  ];
  for (let i = 0; i < PHASES.length; i++) {
    const victim = tunnels[0];
    if (i === 2) {
      // Someone deletes one tunnel end by hand on the second router of the first tunnel.
      await runOnRouter(labConnection(inventoryRouter(inventory, victim.routers[1])), [
        { argv: ["ip", "tunnel", "del", victim.name] },
      ]);
    }
    const report = path.join(workDir, `${stack}-${i}.json`);
    rmSync(report, { force: true });
    const run = await engine([...commands[i], "--config-file", configFile], env, report);
    const r = run.report;
    if (!r) throw new Error(`${mode}: ${PHASES[i]} produced no report:\n${run.out}`);
    const operations: Record<string, number> = {};
    for (const op of r.operations as Array<{ operation: string }>)
      operations[op.operation] = (operations[op.operation] ?? 0) + 1;
    let correct = run.code === 0;
    let note = run.code === 0 ? "" : `engine exited ${run.code}: ${String(r.error ?? "").split("\n")[0]}`;
    if (correct && (i === 0 || i === 3)) {
      const failures = await pingAcross(inventory, tunnels);
      correct = failures.length === 0;
      note = correct ? `PC-to-PC across all ${tunnels.length} tunnels` : failures.join("; ");
    } else if (correct && i === 1) {
      correct = r.changes === 0;
      note = correct ? "no changes" : `${r.changes} unexpected changes`;
    } else if (correct && i === 2) {
      // The update's --diff lines: the inputs read returned (the deleted end without its tunnel
      // address) against the program's, in the end that names the router.
      const seen = (r.operations as Array<{ operation: string; name: string; details: string[] }>).some(
        (op) =>
          op.operation === "update" &&
          op.name.startsWith(`${victim.routers[0]}-${victim.routers[1]}-${victim.name}`) &&
          op.details.some((d) => /^\s*\+ address\s*: /.test(d)) &&
          op.details.some((d) => new RegExp(`name\\s*: "${victim.routers[1]}"`).test(d)),
      );
      correct = seen;
      note = seen
        ? `update of ${victim.name} naming ${victim.routers[1]}`
        : "the deleted end was not reported";
    } else if (correct && i === 4) {
      const after = JSON.stringify(await Promise.all(connections.map(fieldNoteState)));
      correct = after === clean;
      note = correct ? "routers as before up" : "routers differ from before up";
    }
    phases.push({
      phase: PHASES[i],
      wallSeconds: run.seconds,
      providerSeconds: r.timings?.provider ?? null,
      refreshSeconds: r.timings?.refresh ?? null,
      connections: r.transport.connectionsOpened,
      roundTrips: r.transport.roundTrips,
      processes: r.transport.processes,
      hostPeakMiB: r.hostPeakMemoryBytes ? Math.round((r.hostPeakMemoryBytes / 1048576) * 10) / 10 : null,
      operations,
      correct,
      note,
    });
    const refreshed = r.timings?.refresh !== undefined ? ` (refresh ${r.timings.refresh.toFixed(1)} s)` : "";
    console.log(
      `  ${mode.padEnd(8)} ${PHASES[i].padEnd(36)} ${run.seconds.toFixed(1).padStart(6)} s${refreshed}  ${String(r.transport.connectionsOpened).padStart(4)} conn  ${String(r.transport.roundTrips).padStart(5)} rt  ${correct ? "ok" : "WRONG"} ${note}`,
    );
  }
  closeAllConnections();
  return { mode, phases };
}

function table(result: BenchResult): string {
  const lines: string[] = [];
  const ours = result.modes.find((m) => m.mode === "ours");
  const baseline = result.modes.find((m) => m.mode === "baseline");
  const floor = result.floor;
  lines.push(
    `${result.topology} of ${result.routers} routers${result.rttMs ? `, ${result.rttMs} ms apart` : ""}: ${result.tunnels} tunnels, ${result.resources} resources; ` +
      `floor ${floor.wallSeconds.toFixed(2)} s (${floor.connections} connections, ${floor.roundTrips} round trips)`,
  );
  lines.push(
    "| phase | ours: wall s | provider s | refresh s | conn | rt | procs | host MiB | baseline: wall s | provider s | refresh s | conn | rt | procs | ours/baseline wall | provider | refresh | refresh/floor | ok |",
  );
  lines.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  const seconds = (s: number | null | undefined) => (s === null || s === undefined ? "" : s.toFixed(1));
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a && b ? (a / b).toFixed(2) : "";
  for (let i = 0; i < PHASES.length; i++) {
    const o = ours?.phases[i];
    const b = baseline?.phases[i];
    const cell = (p: PhaseResult | undefined) =>
      p
        ? [
            seconds(p.wallSeconds),
            seconds(p.providerSeconds),
            seconds(p.refreshSeconds),
            p.connections,
            p.roundTrips,
            p.processes,
          ]
        : ["", "", "", "", "", ""];
    const ok = [o, b].filter(Boolean).every((p) => p!.correct) ? "yes" : "NO";
    lines.push(
      `| ${PHASES[i]} | ${cell(o).join(" | ")} | ${o?.hostPeakMiB ?? ""} | ${cell(b).join(" | ")} | ` +
        `${ratio(o?.wallSeconds, b?.wallSeconds)} | ${ratio(o?.providerSeconds, b?.providerSeconds)} | ` +
        `${ratio(o?.refreshSeconds, b?.refreshSeconds)} | ${ratio(o?.refreshSeconds, floor.wallSeconds)} | ${ok} |`,
    );
  }
  return lines.join("\n");
}

async function main(args: string[]): Promise<number> {
  // Strict: a mistyped flag is an error, never ignored.
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      routers: { type: "string", default: "2" },
      topology: { type: "string", default: "mesh" },
      mode: { type: "string", default: "both" },
      json: { type: "string" },
      rtt: { type: "string", default: "0" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: npm run bench -- [--routers N (2..6)] [--topology mesh|hub] [--mode ours|baseline|both] [--rtt MS] [--json FILE]\n" +
        "       npm run bench -- fleet --help   (simulated routers, 10 to 200 and more)",
    );
    return 0;
  }
  const routers = Number(values.routers);
  const topology = values.topology as Topology;
  const modeArg = values.mode!;
  if (!Number.isInteger(routers) || routers < 2 || routers > 6) throw new Error("--routers takes 2 to 6");
  const rttMs = Number(values.rtt);
  if (!Number.isInteger(rttMs) || rttMs < 0 || rttMs > 2000) throw new Error("--rtt takes 0 to 2000 (ms)");
  if (topology !== "mesh" && topology !== "hub") throw new Error("--topology is mesh or hub");
  const modes: Mode[] = modeArg === "both" ? ["ours", "baseline"] : [modeArg as Mode];
  if (!modes.every((m) => m === "ours" || m === "baseline"))
    throw new Error("--mode is ours, baseline or both");

  Lab.requireRoot();
  // The stack runs on this checkout as an installed package (see tools/localPackage.ts): pack and
  // install it now, so that no phase pays for it.
  ensureOwnPackage(repoRoot(), (line) => console.log(line));
  const lab = new Lab(repoRoot(), () => undefined);
  const wasUp = lab.isUp();
  let inventory: Inventory;
  try {
    inventory = await lab.up(routers);
  } catch {
    // Up with another number of routers: the benchmark needs exactly N.
    await lab.down(true);
    inventory = await lab.up(routers);
  }
  console.log(`lab of ${routers} routers; restarting them so every run starts from freshly booted routers`);
  closeAllConnections();
  await Promise.all(inventory.routers.map((r) => lab.restart(r.name)));
  if (rttMs > 0) lab.wanDelay(rttMs);

  const workDir = path.join(repoRoot(), ".lab", "bench");
  mkdirSync(workDir, { recursive: true });
  const { config, tunnels } = topologyConfig(lab.identity, topology, routers);
  const stack = `bench-${topology}-${routers}${rttMs ? `-rtt${rttMs}` : ""}`;
  const configFile = path.join(workDir, `Pulumi.${stack}.yaml`);
  writeFileSync(configFile, toYaml({ config }));
  const resources = routers * 2 + tunnels.length * 3;

  const floor = await measureFloor(inventory);
  console.log(
    `floor: ${floor.wallSeconds.toFixed(2)} s (${floor.connections} connections, ${floor.roundTrips} round trips)`,
  );
  const results: ModeResult[] = [];
  for (const mode of modes) {
    results.push(await runMode(mode, `${stack}-${mode}`, configFile, workDir, inventory, tunnels));
  }
  const result: BenchResult = {
    date: new Date().toISOString(),
    machine: `${require("os").cpus().length} cores, ${Math.round(require("os").totalmem() / 2 ** 30)} GiB, Node ${process.version}, lab routers: user-mode Linux 6.1, 256 MiB each`,
    routers,
    rttMs,
    topology,
    tunnels: tunnels.length,
    resources,
    floor,
    modes: results,
  };
  console.log(`\n${table(result)}`);
  const json = values.json;
  if (json) writeFileSync(json, JSON.stringify(result, null, 2) + "\n");
  if (!wasUp) await lab.down(true);
  const wrong = results.flatMap((m) => m.phases).filter((p) => !p.correct);
  return wrong.length === 0 ? 0 : 1;
}

const argv = process.argv.slice(2);
(argv[0] === "fleet" ? fleetMain(argv.slice(1)) : main(argv)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exit((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? 2 : 1);
  },
);
