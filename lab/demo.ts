/**
 * `npm run demo`: the main job on the lab. Boots the lab, deploys the dev stack (the field note:
 * gre1 between routerA and routerB, routes both ways) through the Pulumi CLI when it is installed,
 * otherwise through the test stand-in engine (saying which), shows PC1 and PC2 pinging each other
 * through the tunnel, prints the stack outputs, and leaves the lab running.
 *
 * `npm run demo -- --down` destroys the stack and stops the lab.
 */
import { spawnSync } from "child_process";
import { parseArgs } from "util";
import { ensureOwnPackage } from "../tools/localPackage";
import { repoRoot } from "../tools/repoRoot";
import { Lab } from "./lab";

function hasPulumiCli(): boolean {
  return spawnSync("sh", ["-c", "command -v pulumi"], { stdio: "ignore" }).status === 0;
}

/** Runs a command in the repo with inherited output; its exit status. */
function run(argv: string[]): number {
  console.log(`\n$ ${argv.join(" ")}`);
  return spawnSync(argv[0], argv.slice(1), { cwd: repoRoot(), stdio: "inherit" }).status ?? 1;
}

function deployCommand(command: "up" | "destroy"): string[] {
  return hasPulumiCli()
    ? ["npm", "run", "-s", command]
    : ["npm", "run", "-s", "engine", "--", command, "--stack", "dev"];
}

const USAGE = `usage: npm run demo [-- --down]

Boots two lab routers, deploys the field note's tunnel (Pulumi.dev.yaml) and shows PC1 and PC2
pinging each other through it; the lab keeps running. --down destroys the stack and stops the lab.`;

async function main(args: string[]): Promise<number> {
  // Strict: a mistyped flag is an error, never ignored.
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: { down: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  Lab.requireRoot();
  const lab = new Lab(repoRoot(), (line) => console.log(line));
  // The stack imports pulumi-gre by name, as users do: this checkout, packed and installed.
  ensureOwnPackage(repoRoot(), (line) => console.log(line));
  const engine = hasPulumiCli()
    ? "the Pulumi CLI (local backend under .lab/pulumi)"
    : "the test stand-in engine (the Pulumi CLI is not installed)";
  if (values.down) {
    console.log(`Destroying the dev stack with ${engine}, then stopping the lab.`);
    if (lab.isUp() && run(deployCommand("destroy")) !== 0) return 1;
    await lab.down();
    return 0;
  }
  console.log("Booting the lab: two user-mode Linux routers (routerA, routerB), each with a PC behind it.");
  await lab.up(2);
  console.log(`Deploying the dev stack (Pulumi.dev.yaml) with ${engine}.`);
  if (run(deployCommand("up")) !== 0) return 1;
  console.log("\nThe field note's test: PC2 pings PC1 (10.2.1.2) and PC1 pings PC2 (10.1.1.2) through gre1.");
  const pings = [
    run(["npm", "run", "-s", "lab", "--", "exec", "routerB:pc", "--", "ping", "-c", "3", "10.2.1.2"]),
    run(["npm", "run", "-s", "lab", "--", "exec", "routerA:pc", "--", "ping", "-c", "3", "10.1.1.2"]),
  ];
  console.log(`\nThe lab keeps running. Try: npm run lab -- exec routerB -- ip -d tunnel show
             npm run engine -- preview --stack dev --refresh
Stop it all with: npm run demo -- --down`);
  return pings.every((p) => p === 0) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exit((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? 2 : 1);
  },
);
