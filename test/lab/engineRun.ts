/**
 * The stand-in engine as lab tests run it — `npm run engine -- ARGS --stack NAME --config-file F`,
 * as a person would (the Pulumi CLI cannot run here) — and stack configs for the lab's routers.
 */
import { spawn, type ChildProcess } from "child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dump, load } from "js-yaml";
import * as path from "path";
import { repoRoot } from "../../tools/repoRoot";

/** How a run ended. */
export interface EngineResult {
  code: number | null;
  out: string;
  seconds: number;
}

/** A stack the tests drive: its name, its state folder and its config file. */
export interface TestStack {
  stack: string;
  stateDir: string;
  configFile: string;
}

/** A stack named `name` with a fresh state folder of its own, its config file `Pulumi.NAME.yaml` in it. */
export function scratchStack(name: string): TestStack {
  const stateDir = mkdtempSync(path.join(tmpdir(), `gre-${name}-`));
  return { stack: name, stateDir, configFile: path.join(stateDir, `Pulumi.${name}.yaml`) };
}

/**
 * How the engine is started: as a person types it (`npm run engine -- ARGS`), or its command line
 * directly (faster, and the child is the engine itself, for a test that interrupts it).
 */
export type EngineLaunch = "npm" | "direct";

/** Starts `engine ARGS` with its state in `stateDir`; the child (to kill it) and how it ended. */
export function startEngineCommand(
  args: string[],
  stateDir: string,
  launch: EngineLaunch = "direct",
): { child: ChildProcess; done: Promise<EngineResult> } {
  const started = Date.now();
  const [command, prefix] =
    launch === "npm"
      ? ["npm", ["run", "-s", "engine", "--"]]
      : [process.execPath, ["-r", "ts-node/register/transpile-only", "tools/engine/cli.ts"]];
  const child = spawn(command, [...prefix, ...args], {
    cwd: repoRoot(),
    env: { ...process.env, GRE_ENGINE_STATE_DIR: stateDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return {
    child,
    done: new Promise((resolve) =>
      child.on("exit", (code) => resolve({ code, out, seconds: (Date.now() - started) / 1000 })),
    ),
  };
}

/** Runs `engine ARGS` with its state in `stateDir` to its end. */
export function runEngineCommand(
  args: string[],
  stateDir: string,
  launch: EngineLaunch = "direct",
): Promise<EngineResult> {
  return startEngineCommand(args, stateDir, launch).done;
}

/** Starts `engine ARGS` on a test stack; the child (to kill it) and how it ended. */
export function startEngine(
  stack: TestStack,
  ...args: string[]
): { child: ChildProcess; done: Promise<EngineResult> } {
  return startEngineCommand(
    [...args, "--stack", stack.stack, "--config-file", stack.configFile],
    stack.stateDir,
  );
}

/** Runs `engine ARGS` on a test stack to its end. */
export function runEngine(stack: TestStack, ...args: string[]): Promise<EngineResult> {
  return startEngine(stack, ...args).done;
}

/**
 * Writes a stack config file (`config:` with the given pulumi-gre keys), keeping the secrets the
 * file holds (its `encryptionsalt` and `secure:` values), as a person editing it would.
 */
export function writeStackConfig(file: string, config: Record<string, unknown>): void {
  const before = existsSync(file)
    ? ((load(readFileSync(file, "utf8")) as { encryptionsalt?: string; config?: Record<string, unknown> }) ??
      {})
    : {};
  const secure = Object.entries(before.config ?? {}).filter(
    ([, value]) => typeof value === "object" && value !== null && "secure" in value,
  );
  writeFileSync(
    file,
    dump({
      ...(before.encryptionsalt ? { encryptionsalt: before.encryptionsalt } : {}),
      config: { ...config, ...Object.fromEntries(secure) },
    }),
  );
}

/** `config set --secret KEY VALUE` on a test stack (the passphrase from the environment). */
export async function setSecret(stack: TestStack, key: string, value: string): Promise<void> {
  const result = await runEngine(stack, "config", "set", "--secret", key, value);
  if (result.code !== 0) throw new Error(`config set --secret ${key}: ${result.out}`);
}

/**
 * The dev stack's config (Pulumi.dev.yaml: the field note between the lab's routerA and routerB),
 * with changes to its tunnel and its settings.
 */
export function fieldNoteConfig(
  tunnel: Record<string, unknown> = {},
  settings: Record<string, unknown> = {},
): Record<string, unknown> {
  const dev = (
    load(readFileSync(path.join(repoRoot(), "Pulumi.dev.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    }
  ).config;
  const [gre1] = dev["pulumi-gre:tunnels"] as Array<Record<string, unknown>>;
  return {
    ...dev,
    "pulumi-gre:tunnels": [{ ...gre1, ...tunnel }],
    "pulumi-gre:settings": { ...(dev["pulumi-gre:settings"] as object), ...settings },
  };
}
