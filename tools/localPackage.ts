/**
 * This checkout as users get it: packed with `npm pack` (which builds it), and installed where a
 * Pulumi project finds it by name — `node_modules/pulumi-gre`, a real directory, so that Pulumi's
 * closure serializer captures `require("pulumi-gre/provider-runtime/…")` instead of this
 * repository's code. The repository's own stack, the demo, the benchmark and the package tests
 * all run on it. A pack is made again only when the product's sources change.
 *
 * @packageDocumentation
 */
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "fs";
import * as path from "path";

/** The product's folders and files: what `tsconfig.build.json` compiles into the package. */
export function productSources(root: string): string[] {
  const config = JSON.parse(readFileSync(path.join(root, "tsconfig.build.json"), "utf8")) as {
    include: string[];
  };
  return config.include;
}

/** What the package is built from: the product's sources and its package files. */
function packageSources(root: string): string[] {
  return [
    ...productSources(root),
    ...["package.json", "tsconfig.json", "tsconfig.build.json", "README.md", "LICENSE"],
  ];
}
/** The marker, inside an installed copy, of the sources it was built from. */
const MARKER = ".built-from";

function files(at: string): string[] {
  if (!existsSync(at)) return [];
  if (!statSync(at).isDirectory()) return [at];
  return readdirSync(at)
    .sort()
    .flatMap((entry) => files(path.join(at, entry)));
}

/** A hash of the sources the package of the checkout at `root` is built from. */
export function sourceHash(root: string): string {
  const hash = createHash("sha256");
  for (const file of packageSources(root).flatMap((s) => files(path.join(root, s)))) {
    hash.update(path.relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

/** The package's name and version, from the checkout's package.json. */
export function packageIdentity(root: string): { name: string; version: string } {
  const { name, version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
    name: string;
    version: string;
  };
  return { name, version };
}

/**
 * The tarball `npm pack` makes of the checkout at `root` (building it first), under `.lab/pkg/`;
 * made again only when the sources changed since.
 */
export function packedTarball(root: string, log: (line: string) => void = () => undefined): string {
  const { name, version } = packageIdentity(root);
  const dir = path.join(root, ".lab", "pkg", sourceHash(root));
  const tarball = path.join(dir, `${name}-${version}.tgz`);
  if (existsSync(tarball)) return tarball;
  log(`packing ${name} ${version} from this checkout (npm pack, which builds it)`);
  mkdirSync(dir, { recursive: true });
  execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (!existsSync(tarball)) throw new Error(`npm pack did not write ${tarball}`);
  return tarball;
}

/**
 * Installs `tarball` into `projectDir/node_modules/<name>` as a real directory (what `npm install
 * <tarball>` leaves there). Its dependencies, and `@pulumi/pulumi`, are linked from
 * `dependenciesFrom` (a node_modules folder) when the project has none of its own: one copy of
 * Pulumi's SDK shared by the program and whoever runs it, as under the Pulumi CLI.
 */
export function installTarball(tarball: string, projectDir: string, dependenciesFrom?: string): string {
  const modules = path.join(projectDir, "node_modules");
  mkdirSync(modules, { recursive: true });
  const unpacked = mkdtempSync(path.join(modules, ".unpack-"));
  try {
    execFileSync("tar", ["-xzf", tarball, "-C", unpacked]);
    const manifest = JSON.parse(readFileSync(path.join(unpacked, "package", "package.json"), "utf8")) as {
      name: string;
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    const target = path.join(modules, manifest.name);
    rmSync(target, { recursive: true, force: true });
    renameSync(path.join(unpacked, "package"), target);
    if (dependenciesFrom) {
      const needed = [
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
      ];
      for (const dependency of needed) linkDependency(dependenciesFrom, modules, dependency);
    }
    return target;
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
}

/** Links `name` (and, for the SDK, what it needs) from `from` into `into`, unless `into` has it. */
function linkDependency(from: string, into: string, name: string): void {
  const target = path.join(into, name);
  if (existsSync(target) || isLink(target)) return;
  mkdirSync(path.dirname(target), { recursive: true });
  symlinkSync(path.join(from, name), target);
}

function isLink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Makes sure the checkout at `root` has itself installed as a package in its own node_modules, as
 * built from its current sources: what the repository's stack program imports by name.
 */
export function ensureOwnPackage(root: string, log: (line: string) => void = () => undefined): void {
  const { name } = packageIdentity(root);
  const installed = path.join(root, "node_modules", name);
  const hash = sourceHash(root);
  const marker = path.join(installed, MARKER);
  if (existsSync(marker) && readFileSync(marker, "utf8").trim() === hash) return;
  const tarball = packedTarball(root, log);
  log(`installing ${path.basename(tarball)} into node_modules/${name}, as a user installs it`);
  installTarball(tarball, root);
  writeFileSync(marker, `${hash}\n`);
}
