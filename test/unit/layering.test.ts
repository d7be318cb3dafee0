/**
 * The architecture as a test: every import of the product, the lab, the tools and the benchmark
 * goes from a higher layer to a lower one (or within a folder), and no file imports itself back
 * through others.
 */
import { readFileSync, readdirSync, statSync } from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");

/** What each folder may import from, besides itself. */
const MAY_IMPORT: Record<string, string[]> = {
  model: [],
  schemas: ["model"],
  transport: ["schemas", "model"],
  commands: ["transport", "schemas", "model"],
  providers: ["commands", "transport", "schemas", "model"],
  resources: ["providers", "commands", "transport", "schemas", "model"],
  "index.ts": ["resources", "transport", "schemas", "model"],
  graph: ["model"],
  stacks: ["index.ts", "resources", "transport", "schemas", "model", "lab/inventory.ts"],
  lab: ["commands", "transport", "schemas", "model", "tools/localPackage.ts", "tools/repoRoot.ts"],
  tools: ["transport", "schemas", "model"],
  "test/support": ["transport", "tools", "model"],
  bench: ["test/support", "tools", "lab", "stacks", "transport", "schemas", "model"],
};

/** The folders of the product and the lab: each of their files kept small (the stand-in engine, a tool, is not the product). */
const SIZE_RULED = [
  "model",
  "schemas",
  "transport",
  "commands",
  "providers",
  "resources",
  "stacks",
  "lab",
  "graph",
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return sources(full);
    return entry.endsWith(".ts") && !entry.endsWith(".d.ts") ? [full] : [];
  });
}

/** The room a file is in: its top folder (`test/support` for the shared test support). */
function folderOf(file: string): string {
  const relative = path.relative(ROOT, file);
  if (relative.startsWith(`test${path.sep}support${path.sep}`)) return "test/support";
  return relative.includes(path.sep) ? relative.split(path.sep)[0] : relative;
}

/** The project files a file imports (relative imports resolved to .ts files). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:from\s+|require\(|import\()\s*"(\.[^"]+)"/g)].map((m) => m[1]);
  return specifiers.map((spec) => {
    const base = path.resolve(path.dirname(file), spec);
    for (const candidate of [`${base}.ts`, path.join(base, "index.ts"), base]) {
      try {
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // Try the next form.
      }
    }
    throw new Error(`${path.relative(ROOT, file)} imports ${spec}, which does not exist`);
  });
}

const files = [
  path.join(ROOT, "index.ts"),
  ...Object.keys(MAY_IMPORT)
    .filter((f) => f !== "index.ts")
    .flatMap((folder) => sources(path.join(ROOT, folder))),
];
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe("layering", () => {
  it("imports only downwards", () => {
    const wrong: string[] = [];
    for (const [file, imports] of graph) {
      const from = folderOf(file);
      for (const target of imports) {
        const to = folderOf(target);
        const relative = path.relative(ROOT, target);
        if (to === from || MAY_IMPORT[from].includes(to) || MAY_IMPORT[from].includes(relative)) continue;
        wrong.push(`${path.relative(ROOT, file)} → ${relative}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("has no cycle", () => {
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") {
        cycles.push(
          [...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(ROOT, f)).join(" → "),
        );
        return;
      }
      state.set(file, "visiting");
      for (const next of graph.get(file) ?? []) visit(next, [...trail, file]);
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it("keeps every file of the product and the lab small", () => {
    const large = files
      .filter((f) => SIZE_RULED.includes(folderOf(f)))
      .map((f) => [path.relative(ROOT, f), readFileSync(f, "utf8").split("\n").length] as const)
      .filter(([, lines]) => lines > 320);
    expect(large).toEqual([]);
  });

  it("keeps no Set or Map in a module variable of what the providers capture", () => {
    // Pulumi's closure serializer writes a captured Set or Map as a plain object: its methods then
    // fail in the provider host ("Set.prototype.has called on incompatible receiver").
    const captured = ["model", "schemas", "transport", "commands", "providers"];
    const found = files
      .filter((f) => captured.includes(folderOf(f)))
      .flatMap((f) =>
        readFileSync(f, "utf8")
          .split("\n")
          .filter((line) => /^(export )?(const|let|var) [^(]*= new (Weak)?(Set|Map)\b/.test(line))
          .map((line) => `${path.relative(ROOT, f)}: ${line}`),
      );
    expect(found).toEqual([]);
  });
});
