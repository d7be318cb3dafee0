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
  schemas: [],
  transport: ["schemas"],
  iproute2: ["transport", "schemas"],
  providers: ["iproute2", "transport", "schemas"],
  resources: ["providers", "iproute2", "transport", "schemas"],
  "index.ts": ["resources", "transport", "schemas"],
  stacks: ["index.ts", "resources", "transport", "schemas", "lab/inventory.ts"],
  lab: ["iproute2", "transport", "schemas", "tools/localPackage.ts"],
  tools: ["lab/inventory.ts"],
  bench: ["tools", "lab", "stacks", "transport", "schemas"],
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return sources(full);
    return entry.endsWith(".ts") && !entry.endsWith(".d.ts") ? [full] : [];
  });
}

function folderOf(file: string): string {
  const relative = path.relative(ROOT, file);
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

  it("keeps files of the product, the transport and the lab small", () => {
    const large = files
      .filter((f) => ["transport", "providers", "lab"].includes(folderOf(f)))
      .map((f) => [path.relative(ROOT, f), readFileSync(f, "utf8").split("\n").length] as const)
      .filter(([, lines]) => lines > 320);
    expect(large).toEqual([]);
  });
});
