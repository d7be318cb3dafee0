/**
 * The README's hub example, run as written: in a project of its own with the packed package, on
 * Pulumi's own mocks (`pulumi.runtime.setMocks`, how Pulumi programs are unit-tested), the branch
 * stack's `lans` output arriving through its StackReference. Its routers (documentation addresses)
 * are never dialled: this checks what it declares, not a deployment.
 */
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { installTarball, packedTarball } from "../../tools/localPackage";
import { markdownExamples } from "./examples";
import { installSdk, lowestSdk } from "./sdkRange";

const ROOT = path.resolve(__dirname, "../..");

/** The README's example under "A hub names each spoke's tunnel". */
function hubExample(): string {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  return markdownExamples("README.md", readme.slice(readme.indexOf("A hub names each spoke's tunnel")))[0]
    .code;
}

/** Runs `index.ts` of `project` on Pulumi's mocks; what it registered, one line of JSON each. */
const RUNNER = `
const pulumi = require("@pulumi/pulumi");
const runtime = require("pulumi-gre/provider-runtime");
const providers = {
  GreTunnel: runtime.greTunnelProvider,
  TunnelRoute: runtime.tunnelRouteProvider,
  KernelModule: runtime.kernelModuleProvider,
  Sysctl: runtime.sysctlProvider,
};
const registered = [];
// As the dynamic-provider host hands them over: secrets unwrapped.
const plain = (v) =>
  Array.isArray(v) ? v.map(plain)
  : v && typeof v === "object"
    ? v[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
      ? plain(v.value)
      : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
    : v;
pulumi.runtime.setAllConfig({ "hub:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\\nkey\\n-----END OPENSSH PRIVATE KEY-----\\n" }, ["hub:sshPrivateKey"]);
pulumi.runtime.setMocks(
  {
    newResource: async (args) => {
      const { __provider, ...inputs } = args.inputs;
      registered.push({ type: args.type, name: args.name, id: args.id, inputs: plain(inputs) });
      if (args.type === "pulumi:pulumi:StackReference")
        return { id: args.id, state: { name: args.id, outputs: { lans: ["10.20.0.0/16"] }, secretOutputNames: [] } };
      // A pulumi-gre resource's state as its provider's check leaves it (nothing reaches a router).
      const provider = providers[args.type.split(":").pop()];
      if (!provider) return { id: args.name + "-id", state: args.inputs };
      const checked = await provider.check({}, plain(inputs));
      if (checked.failures?.length) throw new Error(args.name + ": " + JSON.stringify(checked.failures));
      return { id: args.name + "-id", state: checked.inputs };
    },
    call: () => ({}),
  },
  "hub",
  "prod",
  false,
);
require("./index.ts");
// Once every registration has settled and nothing is left to run.
process.once("beforeExit", () => console.log(JSON.stringify(registered)));
`;

describe("the README's hub example", () => {
  let registered: Array<{ type: string; name: string; id?: string; inputs: Record<string, unknown> }>;

  beforeAll(() => {
    const project = mkdtempSync(path.join(tmpdir(), "gre-hub-"));
    try {
      installSdk(project, lowestSdk());
      installTarball(packedTarball(ROOT), project, path.join(ROOT, "node_modules"));
      writeFileSync(path.join(project, "index.ts"), hubExample());
      writeFileSync(path.join(project, "run.js"), RUNNER);
      // What \`pulumi new typescript\` writes.
      writeFileSync(
        path.join(project, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: { strict: true, target: "es2020", module: "commonjs", moduleResolution: "node" },
          files: ["index.ts"],
        }),
      );
      const out = execFileSync(
        process.execPath,
        ["-r", path.join(ROOT, "node_modules/ts-node/register/transpile-only"), "run.js"],
        { cwd: project, encoding: "utf8" },
      );
      registered = JSON.parse(out.trim().split("\n").pop()!);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }, 300_000);

  it("declares the tunnel, the branch stack's reference and a route on each router", () => {
    expect(registered.map((r) => `${r.type} ${r.name}`)).toEqual([
      "gre:index:TunnelRoutes hq-branch1-routes",
      "pulumi:pulumi:StackReference acme/branch-office/prod",
      "pulumi-nodejs:dynamic/gre:GreTunnel hq-branch1",
      "pulumi-nodejs:dynamic/gre:TunnelRoute hq-branch1-routes-hq-10.20.0.0_16",
      "pulumi-nodejs:dynamic/gre:TunnelRoute hq-branch1-routes-branch1-10.0.0.0_16",
    ]);
  });

  it("names the tunnel gre-branch1 on the hub and gre-hq on the branch", () => {
    const tunnel = registered.find((r) => r.name === "hq-branch1")!.inputs;
    expect(tunnel.name).toBe("gre-branch1");
    expect((tunnel.endpoints as Array<{ name?: string }>).map((e) => e.name)).toEqual([undefined, "gre-hq"]);
  });

  it("routes the branch's LANs (from its stack) on the hub through gre-branch1, and the hub's on the branch through gre-hq", () => {
    const route = (name: string) => {
      const { connection, destination, tunnel } = registered.find((r) => r.name === name)!.inputs as {
        connection: { host: string };
        destination: string;
        tunnel: { name: string; peerAddress: string };
      };
      return [connection.host, destination, tunnel.name, tunnel.peerAddress];
    };
    expect(route("hq-branch1-routes-hq-10.20.0.0_16")).toEqual([
      "203.0.113.10",
      "10.20.0.0/16",
      "gre-branch1",
      "10.255.1.2",
    ]);
    expect(route("hq-branch1-routes-branch1-10.0.0.0_16")).toEqual([
      "198.51.100.20",
      "10.0.0.0/16",
      "gre-hq",
      "10.255.1.1",
    ]);
  });
});
