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
  type Step = { uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, unknown> };
  type Job = { concurrency?: { group: string; "cancel-in-progress": boolean }; steps: Step[]; env?: unknown };
  const workflow = load(readFileSync(path.join(ROOT, ".github/workflows/gre-network.yml"), "utf8")) as {
    env?: Record<string, string>;
    jobs: Record<string, Job>;
  };
  const setup = load(readFileSync(path.join(ROOT, ".github/actions/gre-setup/action.yml"), "utf8")) as {
    runs: { steps: Step[] };
  };
  const mentions = (value: unknown, secret: string) =>
    JSON.stringify(value ?? {}).includes(`secrets.${secret}`);

  it("gives previews, deploys and drift checks concurrency groups of their own; only previews cancel", () => {
    const groups = Object.fromEntries(
      Object.entries(workflow.jobs).map(([name, job]) => [name, job.concurrency]),
    );
    expect(groups).toEqual({
      preview: {
        group: "gre-network-preview-${{ github.event.pull_request.number }}",
        "cancel-in-progress": true,
      },
      deploy: { group: "gre-network-deploy-${{ vars.GRE_STACK }}", "cancel-in-progress": false },
      drift: { group: "gre-network-drift-${{ vars.GRE_STACK }}", "cancel-in-progress": false },
    });
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
});
