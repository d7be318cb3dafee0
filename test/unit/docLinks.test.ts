/**
 * The documentation a newcomer follows: every relative link of README.md and docs/ leads to a file
 * of this repository, and every `#anchor` to a heading there (as GitHub makes anchors); nothing
 * points outside the repository; the README stays short enough to read in five minutes.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");
const PAGES = ["README.md", ...readdirSync(path.join(ROOT, "docs")).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith(".md"),
);

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, "")
    .replace(/ /g, "-");
}

function anchors(file: string): Set<string> {
  const text = readFileSync(path.join(ROOT, file), "utf8").replace(/```[\s\S]*?```/g, "");
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1])));
}

/** The links of a page outside code blocks: [text](target). */
function links(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), "utf8").replace(/```[\s\S]*?```/g, "");
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
}

describe("the documentation's links", () => {
  it("finds pages to check", () => {
    expect(PAGES).toEqual(expect.arrayContaining(["README.md", "docs/field-note.md", "docs/gitops.md"]));
  });

  it.each(PAGES)(
    "%s: each relative link leads to a file of the repository, and each anchor to a heading",
    (page) => {
      const broken: string[] = [];
      for (const link of links(page)) {
        if (/^[a-z]+:/.test(link)) continue; // https:, mailto:
        const [target, anchor] = link.split("#");
        const file = target === "" ? page : path.normalize(path.join(path.dirname(page), target));
        if (file.startsWith("..") || path.isAbsolute(file)) {
          broken.push(`${link}: outside the repository`);
          continue;
        }
        if (!existsSync(path.join(ROOT, file))) {
          broken.push(`${link}: no such file`);
          continue;
        }
        if (anchor !== undefined && anchor !== "") {
          if (!file.endsWith(".md") || statSync(path.join(ROOT, file)).isDirectory()) continue;
          if (!anchors(file).has(anchor)) broken.push(`${link}: no heading #${anchor} in ${file}`);
        }
      }
      expect(broken).toEqual([]);
    },
  );

  it("cites nothing outside the repository, in the docs or in the sources' comments", () => {
    const walk = (dir: string): string[] => {
      const at = path.join(ROOT, dir);
      if (!statSync(at).isDirectory()) return at.endsWith(".ts") ? [dir] : [];
      return readdirSync(at).flatMap((entry) => walk(path.join(dir, entry)));
    };
    const sources = ["resources", "providers", "model", "schemas", "commands", "transport", "stacks", "lab"]
      .flatMap(walk)
      .concat(["index.ts", ...PAGES]);
    const outside = sources.filter((file) =>
      /\.\.\/shared|\bshared\/seed\b/.test(readFileSync(path.join(ROOT, file), "utf8")),
    );
    expect(outside).toEqual([]);
  });

  it("keeps the README short: at most 350 lines, none over 200 characters", () => {
    const lines = readFileSync(path.join(ROOT, "README.md"), "utf8").split("\n");
    expect(lines.length).toBeLessThanOrEqual(350);
    expect(lines.filter((line) => line.length > 200)).toEqual([]);
  });
});
