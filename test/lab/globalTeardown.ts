import { existsSync, rmSync } from "fs";
import { Lab } from "../../lab/lab";
import { repoRoot } from "../../tools/repoRoot";
import { STARTED_MARKER } from "./labEnv";

/** Stops the lab when this test run booted it; a lab that was already up stays up. */
export default async function globalTeardown(): Promise<void> {
  if (existsSync(STARTED_MARKER)) {
    await new Lab(repoRoot(), () => undefined).down(true);
    rmSync(STARTED_MARKER, { force: true });
  }
}
