/**
 * The stand-in engine runs a program on its project's own Pulumi SDK, as the Pulumi CLI's language
 * host and dynamic-provider plugin do: a project on another SDK version than this repository's
 * registers its resources through that version's runtime.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { installMonitor, runProgram, sdkFor, type Registration } from "../../tools/engine/monitor";
import { ProviderHost } from "../../tools/providerHost/providerHost";
import { installSdk, rangeEnds } from "./sdkRange";

describe("a project's own SDK", () => {
  let project: string;
  let newest: string;

  beforeAll(() => {
    newest = rangeEnds()[1].version;
    project = mkdtempSync(path.join(tmpdir(), "gre-sdk-"));
    installSdk(project, newest);
    writeFileSync(
      path.join(project, "index.js"),
      [
        'const pulumi = require("@pulumi/pulumi");',
        'new pulumi.ComponentResource("test:index:Thing", "thing");',
        'module.exports = { sdk: require("@pulumi/pulumi/package.json").version };',
      ].join("\n"),
    );
  }, 300_000);

  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it("runs the program: its runtime starts the stack, and the registrations arrive", async () => {
    expect(newest).not.toBe(require("@pulumi/pulumi/package.json").version);
    const own = sdkFor(project).pulumi;
    expect(own === require("@pulumi/pulumi")).toBe(false);
    // Pulumi's runtime keeps its state in one store shared by every copy of the SDK in a process,
    // so the registrations alone would arrive either way: which runtime ran the stack tells.
    const run = jest.spyOn(own.runtime, "runInPulumiStack");
    const registered: Registration[] = [];
    installMonitor(
      async (r) => {
        registered.push(r);
        return { state: r.inputs };
      },
      { main: project, project: "sdk-test", stack: "dev", preview: false, config: {} },
    );
    const outputs = await runProgram(project);
    expect(outputs).toEqual({ sdk: newest });
    expect(registered.map((r) => [r.type, r.name])).toEqual([
      ["pulumi:pulumi:Stack", "sdk-test-dev"],
      ["test:index:Thing", "thing"],
    ]);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it("hosts its dynamic providers", async () => {
    const host = await ProviderHost.start({ cwd: project });
    try {
      expect(realpathSync(host.entry)).toBe(
        realpathSync(path.join(project, "node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js")),
      );
    } finally {
      await host.stop();
    }
  });
});
