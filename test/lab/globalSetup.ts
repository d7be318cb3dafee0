import { rmSync } from "fs";
import { STARTED_MARKER } from "./labEnv";

/** A marker left by an interrupted earlier run must not make this run stop someone's lab. */
export default async function globalSetup(): Promise<void> {
  rmSync(STARTED_MARKER, { force: true });
}
