/**
 * What operators run: the CLI wrapper asks before touching real routers (only the lab's stack
 * skips Pulumi's confirmation), and the GitOps workflow keeps its kinds of run apart and its
 * secrets away from `npm ci`.
 */
import { spawnSync } from "child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { load } from "js-yaml";
import { tmpdir } from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");

describe("stacks/pulumi.sh", () => {
  let bin: string;
  let calls: string;
  beforeEach(() => {
    bin = mkdtempSync(path.join(tmpdir(), "fake-pulumi-"));
    calls = path.join(bin, "calls");
    // A stand-in `pulumi` that records how it was called.
    writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh\necho "$*" >> ${JSON.stringify(calls)}\n`);
    chmodSync(path.join(bin, "pulumi"), 0o755);
  });
  afterEach(() => {
    rmSync(bin, { recursive: true, force: true });
    rmSync(path.join(ROOT, "Pulumi.prod-test.yaml"), { force: true });
  });

  function run(command: string, stack: string): string[] {
    const result = spawnSync("bash", ["stacks/pulumi.sh", command], {
      cwd: ROOT,
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        PULUMI_STACK: stack,
        PULUMI_BACKEND_URL: `file://${bin}`,
      },
      encoding: "utf8",
    });
    expect(result.status).toBe(0);
    return readFileSync(calls, "utf8").trim().split("\n");
  }

  it("lets the lab's stack (every router a lab router) skip the confirmation", () => {
    expect(run("destroy", "dev")).toEqual(["stack select dev --create --non-interactive", "destroy --yes"]);
  });

  it.each(["up", "refresh", "destroy"])("asks before %s on a stack with real routers", (command) => {
    writeFileSync(
      path.join(ROOT, "Pulumi.prod-test.yaml"),
      "config:\n  pulumi-gre:routers:\n    hq: { connection: { host: 203.0.113.10 }, underlay: 203.0.113.10 }\n    lab1: { lab: routerA, underlay: 198.51.100.11 }\n",
    );
    expect(run(command, "prod-test")).toEqual(["stack select prod-test --create --non-interactive", command]);
  });

  it("asks before changing a stack that has no config file", () => {
    expect(run("up", "nowhere")).toEqual(["stack select nowhere --create --non-interactive", "up"]);
  });
});

describe("the GitOps workflow", () => {
  type Step = {
    id?: string;
    name?: string;
    if?: string;
    uses?: string;
    run?: string;
    env?: Record<string, string>;
    with?: Record<string, unknown>;
    "continue-on-error"?: boolean;
  };
  type Job = {
    if: string;
    environment?: string;
    concurrency?: { group: string; "cancel-in-progress": boolean };
    steps: Step[];
    env?: unknown;
  };
  const workflow = load(readFileSync(path.join(ROOT, ".github/workflows/gre-network.yml"), "utf8")) as {
    on: Record<string, { paths?: string[] } | null>;
    env: Record<string, string>;
    jobs: Record<string, Job>;
  };
  const setup = load(readFileSync(path.join(ROOT, ".github/actions/gre-setup/action.yml"), "utf8")) as {
    runs: { steps: Step[] };
  };
  const mentions = (value: unknown, secret: string) =>
    JSON.stringify(value ?? {}).includes(`secrets.${secret}`);
  const pulumiSteps = Object.values(workflow.jobs).flatMap((job) =>
    job.steps.filter((step) => step.uses?.startsWith("pulumi/actions@")),
  );

  it("gives deploys and drift checks of a stack one concurrency group, which never cancels; a pull request's previews cancel each other", () => {
    const groups = Object.fromEntries(
      Object.entries(workflow.jobs).map(([name, job]) => [name, job.concurrency]),
    );
    expect(groups).toEqual({
      preview: {
        group: "gre-network-preview-${{ github.event.pull_request.number }}",
        "cancel-in-progress": true,
      },
      deploy: { group: "gre-network-stack-${{ vars.GRE_STACK }}", "cancel-in-progress": false },
      drift: { group: "gre-network-stack-${{ vars.GRE_STACK }}", "cancel-in-progress": false },
    });
  });

  it("deploys in an environment of its own (for required reviewers); previews and drift checks in another", () => {
    expect(
      Object.fromEntries(Object.entries(workflow.jobs).map(([name, job]) => [name, job.environment])),
    ).toEqual({
      preview: "gre-network-preview",
      deploy: "gre-network",
      drift: "gre-network-preview",
    });
  });

  it("runs for changes to what the stack is made of, the same paths for pull requests and pushes", () => {
    const paths = workflow.on.pull_request!.paths!;
    expect(workflow.on.push!.paths).toEqual(paths);
    for (const made of [
      "Pulumi*.yaml",
      "stacks/**",
      "providers/**",
      "package-lock.json",
      ".github/workflows/gre-network.yml",
    ])
      expect(paths).toContain(made);
    expect(paths).not.toContain("README.md");
  });

  it("previews no pull request from a fork (its code would run with the routers' key)", () => {
    expect(workflow.jobs.preview.if.replace(/\s+/g, " ")).toBe(
      "vars.GRE_STACK != '' && github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository",
    );
  });

  it("pins the Pulumi CLI to the version the package is tested against", () => {
    const pinned = (
      JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
        devDependencies: Record<string, string>;
      }
    ).devDependencies["@pulumi/pulumi"];
    expect(workflow.env.PULUMI_VERSION).toBe(pinned);
    expect(pulumiSteps.length).toBe(3);
    for (const step of pulumiSteps) expect(step.with?.["pulumi-version"]).toBe("${{ env.PULUMI_VERSION }}");
  });

  it("kills the ssh-agent at the end of every job, also after a failure", () => {
    const load = setup.runs.steps.find((s) => s.name === "Load the routers' SSH key into an agent")!;
    expect(load.run).toContain('echo "SSH_AGENT_PID=$SSH_AGENT_PID" >> "$GITHUB_ENV"');
    for (const job of Object.values(workflow.jobs)) {
      const last = job.steps[job.steps.length - 1];
      expect([last.if, last.run]).toEqual(["always()", "ssh-agent -k || true"]);
    }
  });

  it("gives Pulumi's token and passphrase only to the steps that run Pulumi", () => {
    expect(mentions(workflow.env, "PULUMI_ACCESS_TOKEN")).toBe(false);
    for (const job of Object.values(workflow.jobs)) {
      expect(mentions(job.env, "PULUMI_ACCESS_TOKEN")).toBe(false);
      for (const step of job.steps) {
        const pulumi = step.uses?.startsWith("pulumi/actions@") ?? false;
        expect([step.uses ?? step.run, mentions(step, "PULUMI_ACCESS_TOKEN")]).toEqual([
          step.uses ?? step.run,
          pulumi,
        ]);
        expect([step.uses ?? step.run, mentions(step, "PULUMI_CONFIG_PASSPHRASE")]).toEqual([
          step.uses ?? step.run,
          pulumi,
        ]);
      }
    }
    const install = setup.runs.steps.find((s) => s.run === "npm ci")!;
    expect(install.env).toBeUndefined();
  });

  describe("drift", () => {
    const steps = workflow.jobs.drift.steps;
    const step = (name: string) => steps.find((s) => s.name === name)!;
    /** Runs a step's script with bash as the runner would, `gh` replaced by a recorder. */
    function runStep(s: Step, env: Record<string, string>, ghSays = "") {
      const dir = mkdtempSync(path.join(tmpdir(), "gre-drift-"));
      try {
        const summary = path.join(dir, "summary.md");
        const calls = path.join(dir, "gh-calls");
        writeFileSync(
          path.join(dir, "gh"),
          `#!/bin/sh\necho "$*" >> ${JSON.stringify(calls)}\ncase "$2" in list) printf '%s' ${JSON.stringify(ghSays)};; esac\n`,
        );
        chmodSync(path.join(dir, "gh"), 0o755);
        const result = spawnSync("bash", ["-e", "-c", s.run!], {
          env: { PATH: `${dir}:${process.env.PATH}`, GITHUB_STEP_SUMMARY: summary, ...env },
          encoding: "utf8",
        });
        const read = (f: string) => spawnSync("cat", [f], { encoding: "utf8" }).stdout;
        return { status: result.status, summary: read(summary), gh: read(calls) };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    it("lets the check fail without failing the job at once, so that the report steps run, then fails it", () => {
      const check = step("Drift check");
      expect([
        check.id,
        check["continue-on-error"],
        check.with?.["expect-no-changes"],
        check.with?.refresh,
      ]).toEqual(["drift", true, true, true]);
      const names = steps.map((s) => s.name);
      expect(names.slice(names.indexOf("Drift check"))).toEqual([
        "Drift check",
        "Report drift in the job summary",
        "Open or update the drift issue",
        "Fail on drift",
        "Stop the ssh-agent",
      ]);
      expect(step("Fail on drift")).toMatchObject({ if: "steps.drift.outcome == 'failure'", run: "exit 1" });
    });

    it("writes what the preview printed into the job summary, naming the stack", () => {
      const report = step("Report drift in the job summary");
      expect(report.if).toBe("steps.drift.outcome == 'failure'");
      const preview = "    ~ pulumi-nodejs:dynamic/gre:GreTunnel: (update)\n      ~ key        : 2 => 1";
      const { status, summary } = runStep(report, { PREVIEW: preview, STACK: "acme/pulumi-gre/prod" });
      expect(status).toBe(0);
      expect(summary).toContain("## Drift on acme/pulumi-gre/prod\n");
      expect(summary).toContain("```\n" + preview + "\n```\n");
    });

    it("opens an issue when none is open, and comments on the open one otherwise", () => {
      const issue = step("Open or update the drift issue");
      expect(issue.if).toBe("steps.drift.outcome == 'failure' && vars.GRE_DRIFT_ISSUE == 'true'");
      const env = { STACK: "acme/pulumi-gre/prod", RUN_URL: "https://github.example/run/7" };
      expect(runStep(issue, env).gh).toBe(
        `issue list --state open --search "Drift on acme/pulumi-gre/prod" in:title --json number --jq .[0].number\n` +
          "issue create --title Drift on acme/pulumi-gre/prod --body The scheduled drift check found changes: https://github.example/run/7\n",
      );
      expect(runStep(issue, env, "12").gh).toContain(
        "issue comment 12 --body Still drifting: https://github.example/run/7\n",
      );
    });
  });
});
