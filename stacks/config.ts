/**
 * The stack's configuration, read and validated before any resource is declared: the schema
 * (`configSchema.ts`), then the checks zod cannot express (`configChecks.ts`). Errors name the
 * config path and the reason. Pure: reading the values from Pulumi and resolving connections
 * happen in `index.ts` and `program.ts`.
 *
 * @packageDocumentation
 */
import { configValue } from "../schemas/configText";
import { explainIssue, problemsOf, tooDeep, type Problem } from "../schemas/issues";
import { crossCheck } from "./configChecks";
import { unknownConfigKeys } from "./configKeys";
import { stackSchema, type StackConfig } from "./configSchema";

export type * from "./configSchema";

/** Configuration that cannot be deployed: each problem names the config path and the reason. */
export interface StackConfigError extends Error {
  problems: Problem[];
}

/** Validates raw config values (as `pulumi.Config#getObject` returns them); throws a {@link StackConfigError}. */
export function parseStackConfig(raw: {
  routers?: unknown;
  tunnels?: unknown;
  settings?: unknown;
}): StackConfig {
  const deep = tooDeep(raw);
  if (deep) throw stackConfigError([deep]);
  const parsed = stackSchema().safeParse(
    { routers: raw.routers ?? {}, tunnels: raw.tunnels, settings: raw.settings },
    { error: explainIssue },
  );
  if (!parsed.success) {
    throw stackConfigError(problemsOf(parsed.error.issues, raw));
  }
  const config: StackConfig = parsed.data;
  const problems = crossCheck(config);
  if (problems.length > 0) throw stackConfigError(problems);
  return config;
}

/**
 * The names of the secret config values the routers' connections (and jump hosts) and the tunnels'
 * IPsec name, as given.
 */
function secretNames(routers: unknown, tunnels: unknown): string[] {
  const names: string[] = [];
  for (const tunnel of Array.isArray(tunnels) ? (tunnels as unknown[]) : []) {
    const psk = (tunnel as { ipsec?: { pskSecret?: unknown } } | null)?.ipsec?.pskSecret;
    if (typeof psk === "string") names.push(psk);
  }
  const fields = ["privateKeySecret", "passwordSecret", "privateKeyPasswordSecret"];
  for (const router of Object.values(typeof routers === "object" && routers !== null ? routers : {})) {
    const connection = (router as { connection?: Record<string, unknown> })?.connection;
    for (const c of [connection, connection?.proxy as Record<string, unknown> | undefined]) {
      for (const field of fields) if (typeof c?.[field] === "string") names.push(c[field] as string);
    }
  }
  return names;
}

/**
 * Reads and validates the stack's config from all of the stack's config values (as
 * `pulumi.runtime.allConfig()` gives them: `namespace:key` to text, objects as JSON): the project's
 * routers, tunnels and settings, and no key the program would silently ignore.
 */
export function readStackConfig(all: Record<string, string>, project = "pulumi-gre"): StackConfig {
  const value = (key: string): unknown => configValue(all[`${project}:${key}`]);
  // Keys the program would ignore explain many other problems (no tunnels declared): say both.
  const ignored = unknownConfigKeys(
    Object.keys(all),
    project,
    secretNames(value("routers"), value("tunnels")),
  );
  let config: StackConfig;
  try {
    config = parseStackConfig({
      routers: value("routers"),
      tunnels: value("tunnels"),
      settings: value("settings"),
    });
  } catch (error) {
    const problems = (error as StackConfigError).problems;
    if (!problems) throw error;
    throw stackConfigError([...ignored, ...problems]);
  }
  if (ignored.length > 0) throw stackConfigError(ignored);
  return config;
}

function stackConfigError(problems: Problem[]): StackConfigError {
  const error = new Error(
    `the stack configuration cannot be deployed:\n${problems.map((p) => `  pulumi-gre:${p.path}: ${p.reason}`).join("\n")}`,
  ) as StackConfigError;
  error.name = "StackConfigError";
  error.problems = problems;
  return error;
}
