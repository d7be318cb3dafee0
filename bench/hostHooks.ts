/**
 * Preloaded into the provider host by the benchmark (`npm run engine -- … --host-require
 * bench/hostHooks.ts`): counts what the transport does into the file $GRE_BENCH_COUNTS (written as
 * the host exits), and with $GRE_BENCH_MODE=baseline runs every command the naive way.
 *
 * @packageDocumentation
 */
import { writeFileSync } from "fs";
import { installTransportHooks } from "../transport/hooks";
import { countingObserver, naiveRun, noCounts } from "./transportCounters";

const file = process.env.GRE_BENCH_COUNTS;
const counts = noCounts();
installTransportHooks({
  observer: countingObserver(counts),
  run: process.env.GRE_BENCH_MODE === "baseline" ? naiveRun : undefined,
});
// Written once, as the host exits: writing after every round trip cost the host a third of a
// second of a refresh of 200 routers. The engine stops its plugins with SIGTERM, which would end
// the process without 'exit' (and without the CPU profile NODE_OPTIONS="--cpu-prof" asks for).
process.on("exit", () => {
  if (file) writeFileSync(file, JSON.stringify(counts));
});
process.on("SIGTERM", () => process.exit(0));
