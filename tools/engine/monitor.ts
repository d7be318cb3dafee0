/**
 * A resource monitor for running a stack program on Pulumi's Node runtime without the Pulumi CLI:
 * Pulumi's own mock monitor, extended to hand each registration over with what the engine would
 * see — URN, parent, dependencies, additional secret outputs, and inputs with their secrets still
 * marked. The stand-in engine and the program tests both use it.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the SDK's monitor and protobuf stubs are untyped JS */
import { statSync } from "fs";
import { createRequire } from "module";
import * as path from "path";

// Only the wire's secret marker, which every SDK version shares, comes from this repository's copy.
const wire = require("@pulumi/pulumi/runtime/rpc");

/** The parts of one copy of Pulumi's Node SDK the monitor drives. */
interface Sdk {
  pulumi: typeof import("@pulumi/pulumi");
  MockMonitor: new (mocks: unknown) => any;
  settings: any;
  runtimeState: any;
  rpc: any;
  structproto: any;
  resproto: any;
}

const sdks = new Map<string, Sdk>();

/**
 * The Pulumi SDK that the program in `dir` (a folder or a file) imports: the project's own copy,
 * found as Node finds it from there. The Pulumi CLI's language host runs a program on its own
 * project's SDK, and its dynamic-provider plugin requires `@pulumi/pulumi/cmd/dynamic-provider`
 * from the project's folder (sdk/nodejs/dist/pulumi-resource-pulumi-nodejs): so a project on
 * another SDK version than this repository's runs on that version here too.
 */
export function sdkFor(dir: string): Sdk {
  const folder = statSync(dir, { throwIfNoEntry: false })?.isFile() ? path.dirname(dir) : dir;
  const from = createRequire(path.join(folder, "__program__.js"));
  const entry = from.resolve("@pulumi/pulumi");
  let sdk = sdks.get(entry);
  if (!sdk) {
    const sdkRequire = createRequire(entry);
    sdk = {
      pulumi: from("@pulumi/pulumi"),
      MockMonitor: from("@pulumi/pulumi/runtime/mocks").MockMonitor,
      settings: from("@pulumi/pulumi/runtime/settings"),
      runtimeState: from("@pulumi/pulumi/runtime/state"),
      rpc: from("@pulumi/pulumi/runtime/rpc"),
      structproto: sdkRequire("google-protobuf/google/protobuf/struct_pb"),
      resproto: from("@pulumi/pulumi/proto/resource_pb"),
    };
    sdks.set(entry, sdk);
  }
  return sdk;
}

/** One resource registration, as the engine receives it. */
export interface Registration {
  urn: string;
  type: string;
  name: string;
  parent: string;
  custom: boolean;
  /** Inputs; secret ones are `{[SECRET_SIG_KEY]: SECRET_SIG, value}`, as on the wire. */
  inputs: Record<string, unknown>;
  dependencies: string[];
  additionalSecretOutputs: string[];
  /** The `import` resource option's id, if the program gave one. */
  importId?: string;
}

/** What the engine answers: the resource's id and outputs (secret ones marked likewise). */
export interface RegistrationResult {
  id?: string;
  state: Record<string, unknown>;
}

export type RegistrationHandler = (registration: Registration) => Promise<RegistrationResult>;

/** The marker of a secret value on the wire. */
export const SECRET_SIG_KEY: string = wire.specialSigKey;
export const SECRET_SIG: string = wire.specialSecretSig;

/** A resource monitor of `sdk`'s kind that hands each registration to `handler`. */
function engineMonitor(sdk: Sdk, handler: RegistrationHandler): unknown {
  const { MockMonitor, rpc, structproto, resproto } = sdk;
  class EngineMonitor extends MockMonitor {
    constructor() {
      super({ newResource: async () => ({ state: {} }), call: async () => ({}) });
    }

    async registerResource(req: any, callback: (error: unknown, response?: unknown) => void): Promise<void> {
      try {
        const urn: string = this.newUrn(req.getParent(), req.getType(), req.getName());
        const result = await handler({
          urn,
          type: req.getType(),
          name: req.getName(),
          parent: req.getParent(),
          custom: req.getCustom(),
          inputs: rpc.deserializeProperties(req.getObject(), true),
          dependencies: req.getDependenciesList(),
          additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
          importId: req.getImportid() || undefined,
        });
        const serialized = await rpc.serializeProperties("", result.state);
        this.resources.set(urn, { urn, id: result.id ?? null, state: serialized });
        const response = new resproto.RegisterResourceResponse();
        response.setUrn(urn);
        response.setId(result.id ?? "");
        response.setObject(structproto.Struct.fromJavaScript(serialized));
        callback(null, response);
      } catch (error) {
        callback(error);
      }
    }
  }
  return new EngineMonitor();
}

/**
 * Makes the Pulumi runtime of the program at `main` (its project's SDK) send every registration to
 * `handler`, for `project`/`stack`, as a preview or an update, with `config` as the stack's
 * configuration.
 */
export function installMonitor(
  handler: RegistrationHandler,
  options: {
    main: string;
    project: string;
    stack: string;
    preview: boolean;
    config: Record<string, string>;
    secretKeys?: string[];
  },
): void {
  const sdk = sdkFor(options.main);
  sdk.pulumi.runtime.setAllConfig(options.config, options.secretKeys ?? []);
  sdk.settings.setMockOptions(engineMonitor(sdk, handler), options.project, options.stack, options.preview);
  // The features the Pulumi engine offers (as pulumi.runtime.setMocks sets them).
  const store = sdk.runtimeState.getStore();
  store.supportsSecrets = true;
  store.supportsResourceReferences = true;
  store.supportsOutputValues = false;
  store.supportsDeletedWith = true;
  store.supportsAliasSpecs = true;
  store.supportsTransforms = true;
}

/**
 * Runs the program at `modulePath` as the root stack; resolves to its outputs once every resource
 * registration it started has finished (as the language host does before it exits).
 */
export async function runProgram(modulePath: string): Promise<Record<string, unknown> | undefined> {
  const { pulumi, settings } = sdkFor(modulePath);
  // As the language host does, catch what the program throws and what its resources fail with
  // asynchronously (Pulumi's runtime leaves those as unhandled rejections), and report them.
  const failures: unknown[] = [];
  const onRejection = (reason: unknown) => failures.push(reason);
  process.on("unhandledRejection", onRejection);
  try {
    const outputs = await pulumi.runtime.runInPulumiStack(async () => {
      try {
        return require(modulePath);
      } catch (error) {
        failures.push(error);
        return {};
      }
    });
    await settings.waitForRPCs();
    if (failures.length > 0) throw failures[0];
    return outputs;
  } finally {
    process.off("unhandledRejection", onRejection);
  }
}

/** Whether a wire value is a marked secret. */
export function isSecret(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG
  );
}

/** The plain properties (the dynamic-provider host gets them so) and which top-level ones were secret. */
export function reveal(props: Record<string, unknown>): { plain: Record<string, unknown>; secret: string[] } {
  const plain: Record<string, unknown> = {};
  const secret: string[] = [];
  for (const [key, value] of Object.entries(props)) {
    if (isSecret(value)) {
      plain[key] = value.value;
      secret.push(key);
    } else {
      plain[key] = value;
    }
  }
  return { plain, secret };
}

/** Marks the `secret` top-level properties of `props` as secrets again. */
export function conceal(props: Record<string, unknown>, secret: string[]): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(props).map(([key, value]) => [
      key,
      secret.includes(key) && value !== undefined ? { [SECRET_SIG_KEY]: SECRET_SIG, value } : value,
    ]),
  );
}
