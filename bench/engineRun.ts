/**
 * Runs the stand-in engine for the benchmarks as a person would, with a JSON report and the
 * benchmark's hooks (counters; in baseline mode the naive transport) loaded into its provider host.
 *
 * @packageDocumentation
 */
import { spawn } from "child_process";
import { existsSync, readFileSync, rmSync } from "fs";
import { repoRoot } from "../tools/repoRoot";
import type { RunResult } from "../tools/engine/engine";
import { noCounts, type TransportCounts } from "./transportCounters";

/** What `npm run engine -- … --report FILE` writes, with the counts our hooks took in the provider host. */
type EngineReport = RunResult & { command: string; transport: TransportCounts };

/**
 * Runs the stand-in engine as a person would, with a JSON report, and the benchmark's hooks
 * (counters; in baseline mode the naive transport) loaded into its provider host.
 */
export function engine(
  args: string[],
  env: NodeJS.ProcessEnv,
  report: string,
): Promise<{ code: number | null; out: string; seconds: number; report: EngineReport | undefined }> {
  const started = Date.now();
  const counts = `${report}.transport`;
  rmSync(counts, { force: true });
  return new Promise((resolve) => {
    const child = spawn(
      "node",
      [
        "-r",
        "ts-node/register/transpile-only",
        "tools/engine/cli.ts",
        ...args,
        "--report",
        report,
        "--host-require",
        "bench/hostHooks.ts",
      ],
      {
        cwd: repoRoot(),
        env: { ...process.env, ...env, GRE_BENCH_COUNTS: counts },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => {
      const transport = existsSync(counts) ? JSON.parse(readFileSync(counts, "utf8")) : noCounts();
      rmSync(counts, { force: true });
      resolve({
        code,
        out,
        seconds: (Date.now() - started) / 1000,
        report: existsSync(report) ? { ...JSON.parse(readFileSync(report, "utf8")), transport } : undefined,
      });
    });
  });
}
