/**
 * Where the repository is on this machine: the folder holding `package.json`, `lab/` and `tools/`.
 * Tools, the lab, the benchmark and the tests find their files from here.
 *
 * @packageDocumentation
 */
import * as path from "path";

/** The repository root. */
export function repoRoot(): string {
  return path.resolve(__dirname, "..");
}
