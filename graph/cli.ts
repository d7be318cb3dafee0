#!/usr/bin/env node
/**
 * `npm run graph -- --stack STACK` (the package's `pulumi-gre-graph` command): a deployed stack's
 * routers and tunnels, coloured by health, as SVG. It reads the stack's state — the stand-in
 * engine's `.lab/state/STACK.json` in this repository, else `pulumi stack export` — or a file that
 * command wrote (`--state FILE`), and renders with Graphviz compiled to WebAssembly.
 *
 * @packageDocumentation
 */
import { execFileSync } from "child_process";
import { existsSync, readFileSync, writeFileSync } from "fs";
import * as path from "path";
import { networkGraph, toDot } from "./networkGraph";
import { parseStackState } from "./stackState";

const USAGE = `usage: pulumi-gre-graph (--stack STACK | --state FILE) [--out FILE.svg] [--cwd DIR]
  --stack STACK  the stack's state: .lab/state/STACK.json under DIR (this repository's stand-in
                 engine), else \`pulumi stack export --stack STACK\` run in DIR
  --state FILE   a file \`pulumi stack export\` wrote
  --out FILE     where the SVG goes (default: standard output)
  --cwd DIR      the Pulumi project (default: the current directory)`;

interface Options {
  stack?: string;
  state?: string;
  out?: string;
  cwd: string;
}

/** The options, or an error naming what is wrong. */
export function parseArgs(argv: readonly string[]): Options {
  const options: Options = { cwd: process.cwd() };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (!["--stack", "--state", "--out", "--cwd"].includes(flag))
      throw new Error(`unknown argument ${flag}\n${USAGE}`);
    if (value === undefined || value.startsWith("--")) throw new Error(`${flag} needs a value\n${USAGE}`);
    options[flag.slice(2) as keyof Options] = value;
    i++;
  }
  if ((options.stack === undefined) === (options.state === undefined))
    throw new Error(`give either --stack or --state\n${USAGE}`);
  return options;
}

/** The state's text and where it came from. */
function readState(options: Options): { text: string; origin: string } {
  if (options.state !== undefined)
    return { text: readFileSync(options.state, "utf8"), origin: options.state };
  // Where the stand-in engine keeps it (GRE_ENGINE_STATE_DIR, as the engine reads it).
  const local = path.join(
    process.env.GRE_ENGINE_STATE_DIR ?? path.join(options.cwd, ".lab", "state"),
    `${options.stack}.json`,
  );
  if (existsSync(local)) return { text: readFileSync(local, "utf8"), origin: local };
  try {
    const text = execFileSync("pulumi", ["stack", "export", "--stack", options.stack!], {
      cwd: options.cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return { text, origin: `pulumi stack export --stack ${options.stack}` };
  } catch (error) {
    const said =
      (error as { stderr?: string; code?: string }).code === "ENOENT"
        ? "the pulumi CLI is not installed"
        : String((error as { stderr?: string }).stderr ?? error).trim();
    throw new Error(
      `no state for stack ${options.stack}: ${local} does not exist, and pulumi stack export failed (${said})`,
    );
  }
}

/** What this command uses of @viz-js/viz (its own typings name DOM types a Node project lacks). */
interface Graphviz {
  instance(): Promise<{ renderString(dot: string, options: { format: "svg" }): string }>;
}

/** Graphviz compiled to WebAssembly: @viz-js/viz's CommonJS build, loaded only when rendering. */
function graphviz(): Graphviz {
  return require("@viz-js/viz") as Graphviz;
}

/** Renders the options' stack as SVG text. */
export async function renderStack(options: Options): Promise<string> {
  const { text, origin } = readState(options);
  const graph = networkGraph(parseStackState(text, origin));
  const title = options.stack !== undefined ? `stack ${options.stack}` : path.basename(options.state!);
  const viz = await graphviz().instance();
  return viz.renderString(toDot(graph, title), { format: "svg" });
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const svg = await renderStack(options);
  if (options.out === undefined) process.stdout.write(svg);
  else writeFileSync(options.out, svg);
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`pulumi-gre-graph: ${error.message}\n`);
    process.exitCode = 1;
  });
}
