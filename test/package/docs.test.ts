/**
 * Every TypeScript example a user reads — each ```ts block of README.md and of docs/, and each
 * `@example` of the product's sources — compiles, strict, against the package as `npm pack` makes it, installed in a
 * project of its own. A doc example that does not compile fails here.
 */
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { installTarball, packedTarball, productSources } from "../../tools/localPackage";
import { markdownExamples, tsdocExamples } from "./examples";
import { installSdk, rangeEnds } from "./sdkRange";

const ROOT = path.resolve(__dirname, "../..");
const PRODUCT = productSources(ROOT);

function sources(at: string): string[] {
  if (!statSync(at).isDirectory()) return at.endsWith(".ts") ? [at] : [];
  return readdirSync(at).flatMap((entry) => sources(path.join(at, entry)));
}

describe("the documentation's examples", () => {
  const examples = [
    ...["README.md", ...readdirSync(path.join(ROOT, "docs")).map((f) => `docs/${f}`)]
      .filter((file) => file.endsWith(".md"))
      .flatMap((file) => markdownExamples(file, readFileSync(path.join(ROOT, file), "utf8"))),
    ...PRODUCT.flatMap((p) => sources(path.join(ROOT, p))).flatMap((file) =>
      tsdocExamples(path.relative(ROOT, file), readFileSync(file, "utf8")),
    ),
  ];

  it("are there to check: the README's and each resource class's", () => {
    const origins = examples.map((e) => e.origin.split(":")[0]);
    expect(origins).toContain("README.md");
    expect(origins).toContain("docs/resources.md");
    for (const file of ["greTunnel", "kernelModule", "sysctl", "tunnelRoute"])
      expect(origins).toContain(`resources/${file}.ts`);
  });

  // On the lowest and the highest Pulumi SDK that the package's peer range admits.
  it.each(["lowest", "highest"] as const)(
    "compile, strict, against the packed package installed in a project of its own, on the %s SDK of the peer range",
    (end) => {
      const project = mkdtempSync(path.join(tmpdir(), "gre-docs-"));
      try {
        // What a Pulumi TypeScript project has besides pulumi-gre: the SDK and Node's types.
        installSdk(project, rangeEnds()[end === "lowest" ? 0 : 1].version);
        installTarball(packedTarball(ROOT), project, path.join(ROOT, "node_modules"));
        installTarballLinks(project, ["@types/node"]);
        writeFileSync(
          path.join(project, "tsconfig.json"),
          JSON.stringify({
            compilerOptions: {
              strict: true,
              target: "ES2022",
              module: "commonjs",
              moduleResolution: "node10",
              esModuleInterop: true,
              noEmit: true,
              skipLibCheck: false,
              types: ["node"],
            },
            include: ["*.ts"],
          }),
        );
        const names = new Map<string, string>();
        examples.forEach((example, i) => {
          const name = `example${i}.ts`;
          names.set(name, example.origin);
          // Each example is a program of its own (a module), as it would be in a project.
          writeFileSync(path.join(project, name), `${example.code}\nexport {};\n`);
        });
        let output = "";
        try {
          execFileSync(
            process.execPath,
            [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", project],
            {
              cwd: project,
              encoding: "utf8",
            },
          );
        } catch (error) {
          output = String((error as { stdout?: string }).stdout ?? error);
        }
        const problems = output
          .split("\n")
          .filter((line) => line.trim() !== "")
          .map((line) =>
            line.replace(
              /^(example\d+\.ts)\((\d+),\d+\)/,
              (_, file: string, at: string) => `${names.get(file) ?? file} (+${Number(at) - 1})`,
            ),
          );
        expect(problems).toEqual([]);
      } finally {
        rmSync(project, { recursive: true, force: true });
      }
    },
    300_000,
  );
});

/** Links packages a project would have installed itself from the repository's node_modules. */
function installTarballLinks(project: string, names: string[]): void {
  for (const name of names) {
    const target = path.join(project, "node_modules", name);
    try {
      statSync(target);
    } catch {
      execFileSync("mkdir", ["-p", path.dirname(target)]);
      execFileSync("ln", ["-s", path.join(ROOT, "node_modules", name), target]);
    }
  }
}
