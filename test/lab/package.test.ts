/**
 * pulumi-gre as a user has it: the README's quick start, word for word, in a Pulumi project of its
 * own outside this repository, with the package `npm pack` makes installed in its node_modules,
 * pointed at the lab's routers — up, `preview --refresh --expect-no-changes`, destroy — through the
 * stand-in engine (the Pulumi CLI cannot run here). And an upgrade: a stack deployed with the
 * previous release is refreshed, updated and destroyed by this build.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "fs";
import { dump } from "js-yaml";
import { tmpdir } from "os";
import * as path from "path";
import { closeAllConnections } from "../../transport";
import { installTarball, packedTarball } from "../../tools/localPackage";
import { markdownExamples } from "../package/examples";
import { installSdk, rangeEnds } from "../package/sdkRange";
import { describeOnLab, labRouter, pingPcToPc, withoutModules, type LabSide } from "./labEnv";
import { runEngineCommand, type EngineResult } from "./engineRun";

const ROOT = path.resolve(__dirname, "../..");
const PREVIOUS = path.join(ROOT, "test/fixtures/package");

/** The README's quick-start program, as written. */
function quickStart(): string {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Quick start on your routers"));
  return markdownExamples("README.md", section)[0].code;
}

/**
 * A Pulumi project of its own, outside the repository, with `tarball` installed as its pulumi-gre,
 * on `@pulumi/pulumi@sdk`, installed in it.
 */
function userProject(tarball: string, a: LabSide, b: LabSide, sdk: string): string {
  const project = mkdtempSync(path.join(tmpdir(), "gre-user-"));
  writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({
      name: "gre-user",
      private: true,
      dependencies: { "pulumi-gre": "*", "@pulumi/pulumi": "^3.248.0" },
    }),
  );
  writeFileSync(
    path.join(project, "Pulumi.yaml"),
    dump({ name: "gre-user", runtime: { name: "nodejs", options: { typescript: true } }, main: "index.ts" }),
  );
  writeFileSync(path.join(project, "index.ts"), quickStart());
  // The quick start's configuration, pointed at the lab (the key in plain text: this stand-in
  // engine cannot decrypt `pulumi config set --secret` values; the program still marks it secret).
  const router = (side: LabSide) => ({
    name: side.router.name,
    host: side.router.host,
    hostKey: side.router.hostKey,
    proxyCommand: side.router.proxyCommand,
  });
  writeFileSync(
    path.join(project, "Pulumi.lab.yaml"),
    dump({
      config: {
        "gre-user:sshPrivateKey": a.connection.privateKey,
        "gre-user:routerA": router(a),
        "gre-user:routerB": router(b),
        "gre-user:underlayA": a.router.underlay,
        "gre-user:underlayB": b.router.underlay,
        "gre-user:lanA": a.router.lanPrefix,
        "gre-user:lanB": b.router.lanPrefix,
      },
    }),
  );
  installSdk(project, sdk);
  installTarball(tarball, project, path.join(ROOT, "node_modules"));
  return project;
}

/** `npm run engine -- ARGS --cwd PROJECT`, as a person runs it. */
function engine(project: string, stateDir: string, ...args: string[]): Promise<EngineResult> {
  return runEngineCommand([...args, "--stack", "lab", "--cwd", project], stateDir, "npm");
}

// A new project today gets the newest SDK the peer range admits: the quick start runs on that one
// (the engine runs it on the project's own SDK, as the Pulumi CLI does), and the upgrade below, the
// repository's stack and every other lab test on the lowest, the repository's own copy.
describeOnLab(
  "the README's quick start, in a project that installs the packed package, on the newest SDK",
  () => {
    let a: LabSide;
    let b: LabSide;
    let project: string;
    let stateDir: string;
    let before: unknown[];

    beforeAll(async () => {
      a = await labRouter("routerA");
      b = await labRouter("routerB");
      before = await Promise.all([withoutModules(a), withoutModules(b)]);
      project = userProject(packedTarball(ROOT), a, b, rangeEnds()[1].version);
      stateDir = mkdtempSync(path.join(tmpdir(), "gre-user-state-"));
    });

    afterAll(async () => {
      await engine(project, stateDir, "destroy");
      closeAllConnections();
      rmSync(project, { recursive: true, force: true });
      rmSync(stateDir, { recursive: true, force: true });
    });

    it("runs on the project's own SDK, the newest of the peer range", () => {
      const sdk = path.join(project, "node_modules/@pulumi/pulumi/package.json");
      expect((JSON.parse(readFileSync(sdk, "utf8")) as { version: string }).version).toBe(
        rangeEnds()[1].version,
      );
    });

    it("up builds the field note: PC1 and PC2 ping each other", async () => {
      const up = await engine(project, stateDir, "up");
      expect([up.code, up.out]).toEqual([0, expect.stringContaining("Resources:\n    + 9 created\n")]);
      expect([await pingPcToPc(a, b), await pingPcToPc(b, a)]).toEqual([0, 0]);
    });

    it("puts one require of the provider's own entry point into the state, and nothing of the package's layout", () => {
      const state = JSON.parse(readFileSync(path.join(stateDir, "lab.json"), "utf8")) as {
        resources: Array<{ name: string; inputs: { __provider?: string } }>;
      };
      const providers = state.resources.filter((r) => r.inputs.__provider).map((r) => r.inputs.__provider!);
      expect(providers).toHaveLength(7);
      for (const text of providers) {
        expect(text.length).toBeLessThan(400);
        expect([...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1])).toEqual([
          expect.stringMatching(
            /^pulumi-gre\/provider-runtime\/(gre-tunnel|tunnel-route|kernel-module|sysctl)$/,
          ),
        ]);
      }
    });

    it("preview --refresh --expect-no-changes passes", async () => {
      const preview = await engine(project, stateDir, "preview", "--refresh", "--expect-no-changes");
      expect([preview.code, preview.out]).toEqual([
        0,
        expect.stringContaining("Resources:\n    9 unchanged\n"),
      ]);
    });

    it("destroy leaves both routers as they were (ip_gre stays loaded, as KernelModule promises)", async () => {
      const destroy = await engine(project, stateDir, "destroy");
      expect([destroy.code, destroy.out]).toEqual([
        0,
        expect.stringContaining("Resources:\n    - 9 deleted\n"),
      ]);
      expect(await Promise.all([withoutModules(a), withoutModules(b)])).toEqual(before);
    });
  },
);

describeOnLab(
  "an upgrade: deployed with the previous release, refreshed, updated and destroyed by this build",
  () => {
    let a: LabSide;
    let b: LabSide;
    let project: string;
    let stateDir: string;

    beforeAll(async () => {
      a = await labRouter("routerA");
      b = await labRouter("routerB");
      const [previous] = readdirSync(PREVIOUS).filter((f) => f.endsWith(".tgz"));
      project = userProject(path.join(PREVIOUS, previous), a, b, rangeEnds()[0].version);
      stateDir = mkdtempSync(path.join(tmpdir(), "gre-upgrade-state-"));
    });

    afterAll(async () => {
      await engine(project, stateDir, "destroy");
      closeAllConnections();
      rmSync(project, { recursive: true, force: true });
      rmSync(stateDir, { recursive: true, force: true });
    });

    it("carries the stack from one version to the next", async () => {
      const before = await Promise.all([withoutModules(a), withoutModules(b)]);
      expect((await engine(project, stateDir, "up")).code).toBe(0);
      installTarball(packedTarball(ROOT), project, path.join(ROOT, "node_modules"));
      const refreshed = await engine(project, stateDir, "preview", "--refresh");
      expect([refreshed.code, refreshed.out]).toEqual([0, expect.not.stringContaining("error:")]);
      expect((await engine(project, stateDir, "up", "--refresh")).code).toBe(0);
      expect([await pingPcToPc(a, b), await pingPcToPc(b, a)]).toEqual([0, 0]);
      expect((await engine(project, stateDir, "preview", "--refresh", "--expect-no-changes")).code).toBe(0);
      expect((await engine(project, stateDir, "destroy")).code).toBe(0);
      expect(await Promise.all([withoutModules(a), withoutModules(b)])).toEqual(before);
    });
  },
);
