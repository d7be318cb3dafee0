/**
 * The Pulumi SDK versions the package's peer range admits, at both ends: the lowest (the floor of
 * `^3.248.0`, which is also the repository's own development copy) and the highest the npm registry
 * has today, each installed once into `.lab/sdk/VERSION/` and from there into the user projects of
 * the tests that build and run on it.
 */
import { execFileSync } from "child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "fs";
import * as path from "path";
import * as semver from "semver";

const ROOT = path.resolve(__dirname, "../..");

/** The SDK range a user's project may hold: the peer dependency. */
export function peerRange(): string {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    peerDependencies: Record<string, string>;
  };
  return manifest.peerDependencies["@pulumi/pulumi"];
}

/** The lowest SDK version the peer range admits (its floor). */
export function lowestSdk(): string {
  return semver.minVersion(peerRange())!.version;
}

let ends: Array<{ version: string; node: string }> | undefined;

/**
 * The lowest and the highest SDK version the npm registry has in the peer range, each with the
 * Node versions it needs (its `engines.node`).
 */
export function rangeEnds(): Array<{ version: string; node: string }> {
  ends ??= (() => {
    const versions = [npmView<string | string[]>(`@pulumi/pulumi@${peerRange()}`, "version")].flat();
    versions.sort(semver.compare);
    return [versions[0], versions[versions.length - 1]].map((version) => ({
      version,
      node: npmView<{ node?: string } | undefined>(`@pulumi/pulumi@${version}`, "engines")?.node ?? "*",
    }));
  })();
  return ends;
}

function npmView<T>(spec: string, field: string): T {
  const out = execFileSync("npm", ["view", spec, field, "--json"], { encoding: "utf8" });
  return (out.trim() === "" ? undefined : JSON.parse(out)) as T;
}

/**
 * The `node_modules` folder of an install of `@pulumi/pulumi@version` from the npm registry, under
 * `.lab/sdk/VERSION/`: made once, reused by later runs.
 */
export function sdkModules(version: string): string {
  const dir = path.join(ROOT, ".lab", "sdk", version);
  const modules = path.join(dir, "node_modules");
  if (existsSync(path.join(modules, "@pulumi", "pulumi", "package.json"))) return modules;
  const work = `${dir}.partial`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(path.join(work, "package.json"), JSON.stringify({ name: "sdk", private: true }));
  execFileSync(
    "npm",
    ["install", "--no-audit", "--no-fund", "--loglevel=error", "--save-exact", `@pulumi/pulumi@${version}`],
    { cwd: work, stdio: ["ignore", "ignore", "inherit"] },
  );
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  return modules;
}

/**
 * Gives `project` `@pulumi/pulumi@version` and what it needs, in its own `node_modules` as `npm
 * install` leaves them: real folders (hard links to `sdkModules(version)`), not a link elsewhere.
 * Where the SDK is matters: its closure serializer finds a captured package, such as pulumi-gre,
 * from the SDK's own folder, so a linked SDK would find another project's copy, or none.
 */
export function installSdk(project: string, version: string): void {
  const modules = path.join(project, "node_modules");
  mkdirSync(modules, { recursive: true });
  execFileSync("cp", ["-al", `${sdkModules(version)}/.`, modules]);
}
