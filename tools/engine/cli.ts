/**
 * `npm run engine -- up|preview|refresh|destroy --stack NAME [--refresh] [--expect-no-changes]`
 */
import { readFileSync, writeFileSync } from "fs";
import { load as parseYaml } from "js-yaml";
import * as path from "path";
import { parseArgs } from "util";
import { repoRoot } from "../repoRoot";
import { ensureOwnPackage } from "../localPackage";
import { StandInEngine, type Command } from "./engine";
import { setConfig } from "./secrets";

const HELP = `usage: npm run engine -- up|preview|refresh|destroy --stack NAME [options]
       npm run engine -- config set [--secret] KEY VALUE --stack NAME

A TEST STAND-IN for the Pulumi engine, not a deployment tool. It prints what pulumi 3.248 prints
(its rows, --diff blocks, Diagnostics and Resources sections), and no more. The Pulumi CLI cannot be installed
where this project is developed, so this runs the stack program on Pulumi's Node runtime and sends
every dynamic resource to Pulumi's own dynamic-provider host, keeping state in .lab/state/NAME.json.
It serves dynamic providers only, has no backends and no plugins; config secrets are kept as the
passphrase secrets provider keeps them (PULUMI_CONFIG_PASSPHRASE or _FILE). On your
machine, use the Pulumi CLI: npm run up | preview | refresh | destroy.

  up          create, update or replace what the program declares; delete what it dropped
  preview     show what up would do, change nothing
  refresh     read every resource back and record drift
  destroy     delete every resource, dependents first
  config set  set KEY (in the project's namespace unless it names one) to VALUE in the stack's
              config file; with --secret, encrypted as \`secure:\` (as pulumi config set --secret)

  --stack NAME           the stack (its config is Pulumi.NAME.yaml)
  --refresh              refresh first (up, preview)
  --expect-no-changes    exit non-zero when anything would change (as pulumi's flag)
  --diff                 print each step's property diff in pulumi's --diff format: old inputs
                         against new, a refresh's changed outputs (as pulumi's flag)
  --config-file FILE     the stack's config instead of Pulumi.NAME.yaml (as pulumi's flag)
  --cwd DIR              the Pulumi project's folder (as pulumi's --cwd); default this repository,
                         whose stack then runs on this checkout packed and installed as a package
  --parallel N           at most N resource operations at once (as pulumi's --parallel; default
                         unbounded, as pulumi's)
  --report FILE          write what happened as JSON (operations, time, provider-host memory)
  --host-require MODULE  load MODULE (TypeScript or JavaScript) into the provider host first: how the
                         benchmark attaches its counters and baseline to the transport
  --secret               config set: store the value encrypted
  --help                 this text`;

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

/** `config set [--secret] KEY VALUE --stack NAME` (the only config subcommand). */
function configCommand(
  args: string[],
  values: { stack?: string; secret?: boolean; cwd?: string; "config-file"?: string },
): number {
  const [sub, key, value, ...stray] = args;
  if (sub !== "set" || key === undefined || value === undefined || stray.length > 0) {
    console.error(`engine: usage: config set [--secret] KEY VALUE --stack NAME\n\n${HELP}`);
    return 2;
  }
  if (!values.stack) {
    console.error("engine: --stack NAME is required");
    return 2;
  }
  const root = values.cwd ? path.resolve(values.cwd) : repoRoot();
  const project = (parseYaml(readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { name: string }).name;
  const file = values["config-file"] ?? path.join(root, `Pulumi.${values.stack}.yaml`);
  setConfig(file, project, key, value, values.secret ?? false);
  return 0;
}

async function main(args: string[]): Promise<number> {
  // Strict: a mistyped flag (--expect-no-change) is an error, never silently ignored.
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      stack: { type: "string" },
      refresh: { type: "boolean" },
      "expect-no-changes": { type: "boolean" },
      diff: { type: "boolean" },
      "config-file": { type: "string" },
      cwd: { type: "string" },
      report: { type: "string" },
      parallel: { type: "string" },
      "host-require": { type: "string" },
      secret: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [command, ...stray] = positionals;
  if (!command) {
    console.error(HELP);
    return 2;
  }
  if (command === "config") return configCommand(stray, values);
  if (!["up", "preview", "refresh", "destroy"].includes(command)) {
    console.error(`engine: unknown command ${command}\n\n${HELP}`);
    return 2;
  }
  if (stray.length > 0) {
    console.error(`engine: unexpected argument${stray.length > 1 ? "s" : ""} ${stray.join(" ")}`);
    return 2;
  }
  if (!values.stack) {
    console.error("engine: --stack NAME is required");
    return 2;
  }
  const parallel = values.parallel === undefined ? undefined : Number(values.parallel);
  if (parallel !== undefined && !(Number.isInteger(parallel) && parallel >= 1)) {
    console.error(`engine: --parallel takes a whole number from 1, not ${values.parallel}`);
    return 2;
  }
  const root = values.cwd ? path.resolve(values.cwd) : repoRoot();
  if (!values.cwd) ensureOwnPackage(root, (line) => console.log(line));
  const engine = new StandInEngine({
    root,
    stack: values.stack,
    refresh: values.refresh ?? false,
    expectNoChanges: values["expect-no-changes"] ?? false,
    diff: values.diff ?? false,
    configFile: values["config-file"],
    parallel,
    hostEnv: values["host-require"]
      ? { NODE_OPTIONS: preload(path.resolve(values["host-require"])) }
      : undefined,
  });
  // As the Pulumi CLI (pkg/backend/cancellation_scope.go): the first SIGINT or SIGTERM cancels (no
  // step starts; those under way finish and are saved), a second one terminates at once.
  // One ^C in a terminal arrives twice under `npm run` (the terminal sends it to the whole
  // foreground group, and npm forwards its own copy): a second signal within half a second is it.
  let first: number | undefined;
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.on(signal, () => {
      if (first === undefined) {
        first = Date.now();
        return engine.cancel(signal);
      }
      if (Date.now() - first < 500) return;
      console.log(`${signal === "SIGINT" ? "^C" : "SIGTERM"} received; terminating`);
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  const result = await engine.run(command as Command);
  if (values.report) writeFileSync(values.report, JSON.stringify({ command, ...result }, null, 2));
  return result.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    // parseArgs names the flag it does not know; say how to see the ones it does.
    console.error(
      `engine: ${message}${/Unknown option|Unexpected argument/.test(message) ? " (see --help)" : ""}`,
    );
    process.exit(2);
  },
);
