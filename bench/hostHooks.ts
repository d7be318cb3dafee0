/**
 * Preloaded into the provider host by the benchmark (`npm run engine -- … --host-require
 * bench/hostHooks.ts`): counts what the transport does into the file $GRE_BENCH_COUNTS, and with
 * $GRE_BENCH_MODE=baseline runs every command the naive way.
 *
 * @packageDocumentation
 */
import { writeFileSync } from "fs";
import { installTransportHooks } from "../transport/hooks";
import { countingObserver, naiveRun, noCounts } from "./transportCounters";

const file = process.env.GRE_BENCH_COUNTS;
const counts = noCounts();
installTransportHooks({
  observer: countingObserver(counts, () => {
    if (file) writeFileSync(file, JSON.stringify(counts));
  }),
  run: process.env.GRE_BENCH_MODE === "baseline" ? naiveRun : undefined,
});
