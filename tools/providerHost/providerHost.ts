/**
 * Drives Pulumi's own dynamic-provider host (`@pulumi/pulumi/cmd/dynamic-provider`) over gRPC, as
 * the Pulumi engine does under `pulumi up`: each provider is serialized by Pulumi's closure
 * serializer in a plain Node process, sent as the `__provider` property, deserialized by the host
 * with `require-from-string`, and called through Check, Diff, Create, Read, Update and Delete.
 * Every lifecycle test goes through here, so serialization breaks tests exactly where it would
 * break `pulumi up`.
 */
import { spawn, type ChildProcess } from "child_process";
import { readFileSync } from "fs";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { repoRoot } from "../repoRoot";
/* eslint-disable @typescript-eslint/no-explicit-any -- the generated protobuf stubs are untyped JS */
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const structproto = require("google-protobuf/google/protobuf/struct_pb");

const EXIT_WITH_ENGINE = path.join(__dirname, "exitWithEngine.js");

/** Property bags as they travel over the wire. */
export type Props = Record<string, unknown>;

/** A check failure, as the engine shows it. */
export interface CheckFailure {
  property: string;
  reason: string;
}

export interface DiffResult {
  changes: "none" | "some" | "unknown";
  replaces: string[];
  deleteBeforeReplace: boolean;
}

const serializedCache = new Map<string, Promise<string>>();

/**
 * Serializes the provider object `exportName` of `modulePath` (relative to the repo root) with
 * Pulumi's serializer, in a plain Node process loading TypeScript through ts-node as Pulumi does.
 */
export function serializeProvider(modulePath: string, exportName: string): Promise<string> {
  const key = `${modulePath}#${exportName}`;
  let text = serializedCache.get(key);
  if (!text) {
    text = new Promise<string>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          "-r",
          "ts-node/register/transpile-only",
          path.join(repoRoot(), "tools/providerHost/serializeProvider.ts"),
          modulePath,
          exportName,
        ],
        { cwd: repoRoot(), stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      child.on("exit", (code) => {
        if (code !== 0) {
          reject(new Error(`serializing ${key} failed (status ${code}): ${err}`));
          return;
        }
        resolve((JSON.parse(out) as { text: string }).text);
      });
    });
    serializedCache.set(key, text);
  }
  return text;
}

/** Plain JSON values only: the wire has no `undefined`. */
function toStruct(value: Props): unknown {
  return structproto.Struct.fromJavaScript(JSON.parse(JSON.stringify(value)));
}

function fromStruct(struct: { toJavaScript(): Props } | undefined): Props {
  return struct ? struct.toJavaScript() : {};
}

type Unary = (request: unknown, callback: (error: grpc.ServiceError | null, response: any) => void) => void;

/** One running dynamic-provider host process. */
export class ProviderHost {
  private readonly output: string[] = [];
  /** Told each line the host prints after it started listening: its providers' messages. */
  onOutput?: (kind: "info" | "warning", line: string) => void;

  private constructor(
    private readonly child: ChildProcess,
    private readonly client: Record<string, Unary> & grpc.Client,
    /** The host script it runs: the project's own SDK's `cmd/dynamic-provider`. */
    readonly entry: string,
  ) {
    for (const [stream, kind] of [
      [child.stdout!, "info"],
      [child.stderr!, "warning"],
    ] as const) {
      let partial = "";
      stream.on("data", (d) => {
        this.output.push(String(d));
        // Whole lines, as the Pulumi CLI shows a dynamic provider's output.
        const lines = (partial + String(d)).split("\n");
        partial = lines.pop()!;
        for (const line of lines) if (line.trim() !== "") this.onOutput?.(kind, line);
      });
    }
  }

  /** Starts the host with the repo as its working directory, as the engine does for a project. */
  static async start(
    options: { config?: Record<string, string>; env?: NodeJS.ProcessEnv; cwd?: string } = {},
  ): Promise<ProviderHost> {
    // The host needs an engine address argument; it only uses it to log, which we do not serve.
    // It dies with whoever started it (see exitWithEngine.js): a killed engine leaves no host
    // working on, and no change made that the state will not record.
    const cwd = options.cwd ?? repoRoot();
    // The project's own SDK's host, as Pulumi's plugin script finds it from the project's folder
    // (sdk/nodejs/dist/pulumi-resource-pulumi-nodejs: `require.resolve('@pulumi/pulumi/cmd/dynamic-provider')`).
    const entry = require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [cwd] });
    const child = spawn(process.execPath, ["--require", EXIT_WITH_ENGINE, entry, "127.0.0.1:1"], {
      // The project's folder, as the engine starts plugins: serialized code requires installed
      // packages (`pulumi-gre/provider-runtime/…`) from its node_modules.
      cwd,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
      // In a process group of its own, as the engine starts plugins (sdk/go/common/resource/plugin/
      // plugin.go, `cmdutil.RegisterProcessGroup`): a ^C in the terminal reaches the engine, which
      // lets the host finish what it is doing, and not the host.
      detached: true,
    });
    const port = await new Promise<number>((resolve, reject) => {
      let buffered = "";
      let errors = "";
      const onData = (d: Buffer) => {
        buffered += String(d);
        const line = buffered.split("\n")[0];
        if (buffered.includes("\n") && /^\d+$/.test(line.trim())) {
          child.stdout!.off("data", onData);
          resolve(Number(line.trim()));
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", (d) => (errors += d));
      child.on("exit", (code) =>
        reject(new Error(`the dynamic-provider host exited (${code}) before listening: ${errors}`)),
      );
    });
    const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const host = new ProviderHost(child, client, entry);
    await host.configure(options.config ?? {});
    return host;
  }

  /** When the first resource call started and the last one ended (the provider's share of a run). */
  private span?: { first: number; last: number };

  /** Seconds from the first resource call to the end of the last one, if any was made. */
  providerSeconds(): number | undefined {
    return this.span ? (this.span.last - this.span.first) / 1000 : undefined;
  }

  private call(method: string, request: unknown): Promise<any> {
    const started = Date.now();
    if (method !== "configure")
      this.span = { first: this.span?.first ?? started, last: this.span?.last ?? started };
    return new Promise((resolve, reject) => {
      this.client[method].call(this.client, request, (error, response) => {
        if (method !== "configure" && this.span) this.span.last = Math.max(this.span.last, Date.now());
        if (error) {
          // The provider's own error message, as the engine would print it.
          reject(new Error(error.details || error.message));
        } else {
          resolve(response);
        }
      });
    });
  }

  private async configure(config: Record<string, string>): Promise<void> {
    const request = new provproto.ConfigureRequest();
    request.setArgs(toStruct(config));
    request.setAcceptsecrets(true);
    request.setAcceptresources(true);
    await this.call("configure", request);
  }

  /** What the host printed (its own error logs). */
  logs(): string {
    return this.output.join("");
  }

  async check(urn: string, olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }> {
    const request = new provproto.CheckRequest();
    request.setUrn(urn);
    request.setOlds(toStruct(olds));
    request.setNews(toStruct(news));
    const response = await this.call("check", request);
    return {
      inputs: fromStruct(response.getInputs()),
      failures: response.getFailuresList().map((f: { getProperty(): string; getReason(): string }) => ({
        property: f.getProperty(),
        reason: f.getReason(),
      })),
    };
  }

  async diff(urn: string, id: string, oldOutputs: Props, newInputs: Props): Promise<DiffResult> {
    const request = new provproto.DiffRequest();
    request.setUrn(urn);
    request.setId(id);
    request.setOlds(toStruct(oldOutputs));
    request.setNews(toStruct(newInputs));
    const response = await this.call("diff", request);
    const changes = response.getChanges();
    const kinds = provproto.DiffResponse.DiffChanges;
    return {
      changes: changes === kinds.DIFF_SOME ? "some" : changes === kinds.DIFF_NONE ? "none" : "unknown",
      replaces: response.getReplacesList(),
      deleteBeforeReplace: response.getDeletebeforereplace(),
    };
  }

  async create(urn: string, inputs: Props): Promise<{ id: string; outputs: Props }> {
    const request = new provproto.CreateRequest();
    request.setUrn(urn);
    request.setProperties(toStruct(inputs));
    const response = await this.call("create", request);
    return { id: response.getId(), outputs: fromStruct(response.getProperties()) };
  }

  async read(
    urn: string,
    id: string,
    outputs: Props,
    inputs: Props,
  ): Promise<{ id: string; outputs: Props; inputs?: Props }> {
    const request = new provproto.ReadRequest();
    request.setUrn(urn);
    request.setId(id);
    request.setProperties(toStruct(outputs));
    request.setInputs(toStruct(inputs));
    const response = await this.call("read", request);
    const newInputs = response.getInputs();
    return {
      id: response.getId(),
      outputs: fromStruct(response.getProperties()),
      inputs: newInputs ? fromStruct(newInputs) : undefined,
    };
  }

  async update(urn: string, id: string, oldOutputs: Props, newInputs: Props): Promise<{ outputs: Props }> {
    const request = new provproto.UpdateRequest();
    request.setUrn(urn);
    request.setId(id);
    request.setOlds(toStruct(oldOutputs));
    request.setNews(toStruct(newInputs));
    const response = await this.call("update", request);
    return { outputs: fromStruct(response.getProperties()) };
  }

  async delete(urn: string, id: string, outputs: Props): Promise<void> {
    const request = new provproto.DeleteRequest();
    request.setUrn(urn);
    request.setId(id);
    request.setProperties(toStruct(outputs));
    await this.call("delete", request);
  }

  /** The host process's peak resident memory so far (VmHWM), in bytes. */
  peakMemoryBytes(): number | undefined {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, "utf8");
      const kib = /VmHWM:\s+(\d+) kB/.exec(status);
      return kib ? Number(kib[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stops the host process (the engine kills its plugins at the end of a run). */
  async stop(): Promise<void> {
    this.client.close();
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill();
      await exited;
    }
  }
}

/** A dynamic resource's URN in the test stack. */
export function resourceUrn(type: string, name: string, stack = "test"): string {
  return `urn:pulumi:${stack}::pulumi-gre::pulumi-nodejs:dynamic/gre:${type}::${name}`;
}
