/**
 * What `npm pack` publishes: the built product, its typings, the README and the LICENSE — no
 * tests, lab, benchmark, tools or fixtures — and a manifest a Pulumi user can install next to
 * their own `@pulumi/pulumi`.
 */
import { execFileSync } from "child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import * as semver from "semver";
import { installTarball, packedTarball } from "../../tools/localPackage";
import { lowestSdk, peerRange, rangeEnds } from "./sdkRange";

const ROOT = path.resolve(__dirname, "../..");

describe("the package", () => {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as Record<
    string,
    unknown
  >;

  it("holds the built product and nothing of the repository's own", () => {
    const [packed] = JSON.parse(
      execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
        cwd: ROOT,
        encoding: "utf8",
      }),
    ) as Array<{ files: Array<{ path: string }> }>;
    const files = packed.files.map((f) => f.path);
    const outside = files.filter((f) => !/^(dist\/.+\.(js|d\.ts)|README\.md|LICENSE|package\.json)$/.test(f));
    expect(outside).toEqual([]);
    expect(files.filter((f) => /(^|\/)(test|lab|bench|tools|fixtures|stacks)\//.test(f))).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        "LICENSE",
        "README.md",
        "dist/index.js",
        "dist/index.d.ts",
        "dist/providers/runtime.js",
        "dist/providers/runtime.d.ts",
      ]),
    );
  });

  it("builds from a clean dist/ on pack: a file left there by an older build does not ship", () => {
    mkdirSync(path.join(ROOT, "dist"), { recursive: true });
    const stale = path.join(ROOT, "dist", "removed-module.js");
    writeFileSync(stale, "// left by an older build\n");
    // prepack runs the build, which starts by removing dist/.
    expect(manifest.scripts).toEqual(expect.objectContaining({ prepack: "npm run build" }));
    execFileSync("npm", ["run", "-s", "build"], { cwd: ROOT, encoding: "utf8" });
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(path.join(ROOT, "dist", "index.js"))).toBe(true);
  }, 120_000);

  it("names where it comes from (placeholders the maintainers replace with the real repository)", () => {
    expect(manifest.repository).toEqual({
      type: "git",
      url: "git+https://github.com/example/pulumi-gre.git",
    });
    expect(manifest.homepage).toBe("https://github.com/example/pulumi-gre#readme");
    expect(manifest.bugs).toEqual({ url: "https://github.com/example/pulumi-gre/issues" });
  });

  it("can be published and installed beside the user's own Pulumi SDK", () => {
    expect(manifest.private).toBeUndefined();
    expect(manifest.license).toBe("Apache-2.0");
    expect(readFileSync(path.join(ROOT, "LICENSE"), "utf8")).toContain("Apache License");
    expect(manifest.peerDependencies).toEqual({ "@pulumi/pulumi": "^3.248.0" });
    const dependencies = manifest.dependencies as Record<string, string>;
    expect(Object.keys(dependencies).sort()).toEqual(["@viz-js/viz", "ipaddr.js", "ssh2", "zod"]);
    // Ranges, not pins: a user's newer patch releases satisfy them.
    expect(Object.values(dependencies).every((range) => range.startsWith("^"))).toBe(true);
    expect(manifest.exports).toEqual({
      ".": { types: "./dist/index.d.ts", default: "./dist/index.js" },
      // The stable entry points that serialized providers require at run time (they never move):
      // each provider's own module, and the one states of 0.3.0 and earlier require.
      "./provider-runtime": {
        types: "./dist/providers/runtime.d.ts",
        default: "./dist/providers/runtime.js",
      },
      ...Object.fromEntries(
        [
          ["gre-tunnel", "greTunnel"],
          ["kernel-module", "kernelModule"],
          ["sysctl", "sysctl"],
          ["tunnel-route", "tunnelRoute"],
        ].map(([name, file]) => [
          `./provider-runtime/${name}`,
          {
            types: `./dist/providers/serialized/${file}.d.ts`,
            default: `./dist/providers/serialized/${file}.js`,
          },
        ]),
      ),
      "./package.json": "./package.json",
    });
  });

  it("asks for the Node that every Pulumi SDK of its peer range needs (both ends, by the npm registry)", () => {
    const engines = (manifest.engines as { node: string }).node;
    const [lowest, highest] = rangeEnds();
    // The repository develops on the lowest: what the range promises at its floor is what is built.
    expect(lowest.version).toBe(lowestSdk());
    expect((manifest.devDependencies as Record<string, string>)["@pulumi/pulumi"]).toBe(lowest.version);
    expect(semver.satisfies(highest.version, peerRange())).toBe(true);
    for (const end of [lowest, highest])
      expect([end.version, end.node, semver.subset(engines, end.node)]).toEqual([
        end.version,
        end.node,
        true,
      ]);
    // Node 20, which `engines` said before, would admit a Node that the newer SDKs refuse.
    expect(semver.subset(">=20", highest.node)).toBe(false);
  }, 60_000);

  it("has the graph command: a bin that draws a stack's state as SVG from the installed package", () => {
    expect(manifest.bin).toEqual({ "pulumi-gre-graph": "dist/graph/cli.js" });
    const project = mkdtempSync(path.join(tmpdir(), "gre-bin-"));
    try {
      const installed = installTarball(packedTarball(ROOT), project, path.join(ROOT, "node_modules"));
      const bin = path.join(installed, "dist/graph/cli.js");
      expect(readFileSync(bin, "utf8").split("\n")[0]).toBe("#!/usr/bin/env node");
      const state = path.join(ROOT, "test/fixtures/graph/dev-up.json");
      const svg = execFileSync(process.execPath, [bin, "--state", state], { cwd: project, encoding: "utf8" });
      expect(svg).toContain("<svg");
      expect(svg).toContain(">routerA</text>");
      expect(svg).toContain(">routerB</text>");
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }, 180_000);
});
