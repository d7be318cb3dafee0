/**
 * What the stand-in engine asks of a dynamic provider, and what it prints of the answers, rule by
 * rule after the Pulumi engine at the pinned version (each test names the source it follows). The
 * stack is test/stacks/recorder: one dynamic resource whose provider logs every `diff` call and
 * reads "the world" from a file, run through the engine's command line in Pulumi's own
 * dynamic-provider host. No routers, no root.
 */
import { spawn } from "child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
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
  return started(args, env).done;
}

/** The same, started: the engine's process, and its exit code and output once it ends. */
function started(
  args: string[],
  env: Record<string, string> = {},
): { child: ReturnType<typeof spawn>; done: Promise<{ code: number | null; out: string }> } {
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
  return { child, done: new Promise((resolve) => child.on("close", (code) => resolve({ code, out }))) };
}

/** The state's custom resources and pending operations, by name. */
function stored(): { resources: string[]; pending: string[] } {
  const state = JSON.parse(readFileSync(path.join(dir, "rec.json"), "utf8")) as {
    resources: Array<{ name: string; custom: boolean }>;
    pending?: Array<{ operation: string; name: string }>;
  };
  return {
    resources: state.resources.filter((r) => r.custom).map((r) => r.name),
    pending: (state.pending ?? []).map((p) => `${p.operation} ${p.name}`),
  };
}

/** Resolves once the state records a create of `name` under way. */
async function creating(name: string): Promise<void> {
  for (;;) {
    try {
      if (stored().pending.includes(`create ${name}`)) return;
    } catch {
      // Not written yet, or being written.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
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

  it("a failed refresh ends the run before the program starts: the read's error under its resource and nothing of the program (deployment_executor.go, Execute: refresh, then source.Iterate)", async () => {
    const ran = path.join(dir, "ran.log");
    rmSync(ran, { force: true });
    const failed = await engine(["preview", "--refresh"], {
      RECORDER_VALUE: "b",
      RECORDER_WORLD: path.join(dir, "no-such-world.json"),
      RECORDER_RAN: ran,
    });
    expect(failed.code).toBe(1);
    expect(failed.out).toContain("no-such-world.json");
    expect(failed.out).not.toContain("not done");
    expect(existsSync(ran)).toBe(false);
    // The same run with the world in place does run the program.
    world("b");
    const ok = await engine(["preview", "--refresh"], { RECORDER_VALUE: "b", RECORDER_RAN: ran });
    expect(ok.code).toBe(0);
    expect(readFileSync(ran, "utf8")).toBe("ran\n");
  }, 60_000);

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

describe("the stand-in engine interrupted, as the Pulumi CLI is (pkg/backend/cancellation_scope.go)", () => {
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gre-rules-"));
    writeFileSync(path.join(dir, "Pulumi.rec.yaml"), "config: {}\n");
    world("a");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const slow = { RECORDER_SLOW: "4000", RECORDER_CHAIN: "1" };

  it("a first ^C: no step starts, the create under way finishes and is saved, the run ends with update canceled (deployment_executor.go, reportExecResult)", async () => {
    const run = started(["up"], slow);
    await creating("r");
    run.child.kill("SIGINT");
    const up = await run.done;
    expect(up.out).toContain(
      "^C received; cancelling. If you would like to terminate immediately, press ^C again.\n" +
        "Note that terminating immediately may lead to orphaned resources and other inconsistencies.\n",
    );
    expect(up.out).toContain(
      "Diagnostics:\n  pulumi:pulumi:Stack (recorder-rec):\n    error: update canceled\n",
    );
    // The stack and r, created; `after`, never started.
    expect(up.out).toContain("Resources:\n    + 2 created\n");
    expect(up.out).not.toContain("Recorded after");
    expect(up.code).toBe(1);
    expect(stored()).toEqual({ resources: ["r"], pending: [] });
    const again = await engine(["up"], { RECORDER_CHAIN: "1" });
    expect(again.out).not.toContain("interrupted");
    expect(again.out).toContain("Resources:\n    + 1 created\n    2 unchanged\n");
    expect(again.code).toBe(0);
  }, 60_000);

  it("a second ^C terminates at once, leaving the create under way pending for the next run to settle", async () => {
    const run = started(["up"], { ...slow, RECORDER_SLOW: "20000" });
    await creating("r");
    const at = Date.now();
    run.child.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 700));
    run.child.kill("SIGINT");
    const up = await run.done;
    expect(Date.now() - at).toBeLessThan(5000);
    expect(up.out).toContain("^C received; terminating");
    expect(up.code).toBe(130);
    expect(stored()).toEqual({ resources: [], pending: ["create r"] });
    const again = await engine(["up"], { RECORDER_CHAIN: "1" });
    expect(again.out).toContain("warning: the last run was interrupted while it was creating Recorded r");
    expect(again.code).toBe(0);
    expect(stored()).toEqual({ resources: ["r", "after"], pending: [] });
  }, 60_000);
});
