/**
 * What the stand-in engine asks of a dynamic provider, and what it prints of the answers, rule by
 * rule after the Pulumi engine at the pinned version (each test names the source it follows). The
 * stack is test/stacks/recorder: one dynamic resource whose provider logs every `diff` call and
 * reads "the world" from a file, run through the engine's command line in Pulumi's own
 * dynamic-provider host. No routers, no root.
 */
import { spawn } from "child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { repoRoot } from "../../tools/repoRoot";

let dir: string;
const world = (value: string, gone = false) =>
  writeFileSync(path.join(dir, "world.json"), JSON.stringify({ value, gone }));
const diffCalls = (): Array<{ olds: Record<string, unknown>; news: Record<string, unknown> }> => {
  const text = (() => {
    try {
      return readFileSync(path.join(dir, "diff.log"), "utf8");
    } catch {
      return "";
    }
  })();
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { olds: Record<string, unknown>; news: Record<string, unknown> });
};

/** `engine ARGS` on the recorder stack, the program declaring `value`; its exit code and output. */
function engine(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  rmSync(path.join(dir, "diff.log"), { force: true });
  const child = spawn(
    process.execPath,
    [
      "-r",
      "ts-node/register/transpile-only",
      "tools/engine/cli.ts",
      ...args,
      "--stack",
      "rec",
      "--cwd",
      "test/stacks/recorder",
      "--config-file",
      path.join(dir, "Pulumi.rec.yaml"),
    ],
    {
      cwd: repoRoot(),
      env: {
        ...process.env,
        GRE_ENGINE_STATE_DIR: dir,
        RECORDER_LOG: path.join(dir, "diff.log"),
        RECORDER_WORLD: path.join(dir, "world.json"),
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, out })));
}

describe("the stand-in engine with a dynamic provider, rule by rule", () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "gre-rules-"));
    writeFileSync(path.join(dir, "Pulumi.rec.yaml"), "config: {}\n");
    world("a");
    const up = await engine(["up"]);
    expect(up.out).toContain("    + 2 created");
    expect(up.code).toBe(0);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("inside a refresh, diff is called reversed: olds = the refreshed outputs, news = the stored inputs; the update's diff then gets the program's inputs (step.go, RefreshStep.Apply)", async () => {
    world("b");
    const preview = await engine(["preview", "--refresh"], { RECORDER_VALUE: "c" });
    expect(preview.code).toBe(0);
    expect(diffCalls()).toEqual([
      {
        olds: { observed: "b", token: "s3cr3t-token", value: "a" },
        news: { token: "s3cr3t-token", value: "a" },
      },
      {
        olds: { observed: "b", token: "s3cr3t-token", value: "a" },
        news: { token: "s3cr3t-token", value: "c" },
      },
    ]);
  }, 30_000);

  it("--diff compares the inputs read returned with the program's; a secret input is [secret] and its value is nowhere (object_diff.go, printOldNewDiffs; provider_plugin.go, annotateSecrets)", async () => {
    world("b");
    const preview = await engine(["preview", "--refresh", "--diff"], { RECORDER_VALUE: "c" });
    expect(preview.out).toContain(
      "    ~ pulumi-nodejs:dynamic/recorder:Recorded: (update)\n" +
        "        [id=recorded]\n" +
        "        [urn=urn:pulumi:rec::recorder::pulumi:pulumi:Stack$pulumi-nodejs:dynamic/recorder:Recorded::r]\n" +
        "        token: [secret]\n" +
        '      ~ value: "b" => "c"\n',
    );
    // The refresh's block: its changed outputs, only because --diff was given.
    expect(preview.out).toContain('        --outputs:--\n      ~ observed: "a" => "b"\n');
    expect(preview.out).not.toContain("s3cr3t-token");
  }, 30_000);

  it("without --diff: rows only, no property lines; the provider's console output under the stack, not the resource (plugin.go, runtrace; progress.go)", async () => {
    world("b");
    const preview = await engine(["preview", "--refresh"], { RECORDER_VALUE: "c" });
    expect(preview.out).not.toMatch(/--outputs:--|value:|observed:/);
    expect(preview.out).toContain(" ~  pulumi-nodejs:dynamic/recorder:Recorded r update\n");
    expect(preview.out).toContain(
      "Diagnostics:\n  pulumi:pulumi:Stack (recorder-rec):\n    recorder read recorded: the world holds b\n",
    );
    expect(preview.out).toContain("Resources:\n    ~ 1 to update\n    1 unchanged\n");
  }, 30_000);

  it("--expect-no-changes counts only what diff turns into a change: drift the program already declares passes preview --refresh, fails refresh (update.go, HasChanges; step.go, RefreshStep.ResultOp)", async () => {
    world("b");
    const preview = await engine(["preview", "--refresh", "--expect-no-changes"], { RECORDER_VALUE: "b" });
    expect(preview.out).toContain("Resources:\n    2 unchanged\n");
    expect(preview.code).toBe(0);
    const changed = await engine(["preview", "--refresh", "--expect-no-changes"], { RECORDER_VALUE: "c" });
    expect(changed.out).toContain("error: no changes were expected but changes were proposed");
    expect(changed.code).not.toBe(0);
    const refresh = await engine(["refresh", "--expect-no-changes"]);
    expect(refresh.out).toContain("Resources:\n    ~ 1 updated\n");
    expect(refresh.code).not.toBe(0);
    // The refresh recorded what read returned: the next one finds nothing new.
    const again = await engine(["refresh", "--expect-no-changes"]);
    expect(again.code).toBe(0);
  }, 60_000);

  it("a read that returns no id is a resource gone: the preview creates it again (step.go, RefreshStep.Apply; ResultOp delete)", async () => {
    world("b", true);
    const preview = await engine(["preview", "--refresh"], { RECORDER_VALUE: "b" });
    expect(preview.out).toContain(" +  pulumi-nodejs:dynamic/recorder:Recorded r create\n");
    expect(preview.code).toBe(0);
  }, 30_000);

  it("import is refused: the host's read gets no serialized provider and fails, under the resource (step.go, ImportStep; pulumi #3550)", async () => {
    world("b");
    const up = await engine(["up"], { RECORDER_VALUE: "b", RECORDER_IMPORT: "x1" });
    expect(up.out).toMatch(
      /\n {2}pulumi-nodejs:dynamic\/recorder:Recorded \(imported\):\n {4}error: code must be a string, not undefined\n/,
    );
    expect(up.out).toContain("    1 errored");
    expect(up.code).toBe(1);
  }, 30_000);
});
