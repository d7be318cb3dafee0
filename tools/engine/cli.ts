/**
 * `npm run engine -- up|preview|refresh|destroy --stack NAME [--refresh] [--expect-no-changes]`
 */
import { writeFileSync } from "fs";
import * as path from "path";
import { repoRoot } from "../../lab/inventory";
import { StandInEngine, type Command } from "./engine";

const HELP = `usage: npm run engine -- up|preview|refresh|destroy --stack NAME [--refresh] [--expect-no-changes]

A TEST STAND-IN for the Pulumi engine, not a deployment tool. The Pulumi CLI cannot be installed
where this project is developed, so this runs the stack program on Pulumi's Node runtime and sends
every dynamic resource to Pulumi's own dynamic-provider host, keeping state in .lab/state/NAME.json.
It serves dynamic providers only, has no backends, no secrets providers and no plugins. On your
machine, use the Pulumi CLI: npm run up | preview | refresh | destroy.

  up          create, update or replace what the program declares; delete what it dropped
  preview     show what up would do, change nothing
  refresh     read every resource back and record drift
  destroy     delete every resource, dependents first

  --stack NAME           the stack (its config is Pulumi.NAME.yaml)
  --refresh              refresh first (up, preview)
  --expect-no-changes    exit non-zero when anything would change (as pulumi's flag)
  --config-file FILE     the stack's config instead of Pulumi.NAME.yaml (as pulumi's flag)
  --report FILE          write what happened as JSON (operations, time, provider-host memory)
  --host-require MODULE  load MODULE (TypeScript or JavaScript) into the provider host first: how the
                         benchmark attaches its counters and baseline to the transport`;

/** NODE_OPTIONS that load `module` (through ts-node when it is TypeScript) before the host starts. */
function preload(module: string): string {
  const quoted = (word: string) => `"${word.replace(/(["\\])/g, "\\$1")}"`;
  return [
    process.env.NODE_OPTIONS ?? "",
    ...(module.endsWith(".ts")
      ? ["--require", quoted(require.resolve("ts-node/register/transpile-only"))]
      : []),
    "--require",
    quoted(module),
  ]
    .join(" ")
    .trim();
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h") || args.length === 0) {
    console.log(HELP);
    return args.length === 0 ? 2 : 0;
  }
  const command = args[0] as Command;
  if (!["up", "preview", "refresh", "destroy"].includes(command)) {
    console.error(`unknown command ${command}\n\n${HELP}`);
    return 2;
  }
  const at = args.indexOf("--stack");
  const stack = at >= 0 ? args[at + 1] : undefined;
  if (!stack) {
    console.error("--stack NAME is required");
    return 2;
  }
  const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const report = option("--report");
  const hostRequire = option("--host-require");
  const engine = new StandInEngine({
    root: repoRoot(),
    stack,
    refresh: args.includes("--refresh"),
    expectNoChanges: args.includes("--expect-no-changes"),
    configFile: option("--config-file"),
    hostEnv: hostRequire ? { NODE_OPTIONS: preload(path.resolve(hostRequire)) } : undefined,
  });
  const result = await engine.run(command);
  if (report) writeFileSync(report, JSON.stringify({ command, ...result }, null, 2));
  return result.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`engine: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
