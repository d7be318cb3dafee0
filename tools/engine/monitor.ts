/**
 * A resource monitor for running a stack program on Pulumi's Node runtime without the Pulumi CLI:
 * Pulumi's own mock monitor, extended to hand each registration over with what the engine would
 * see — URN, parent, dependencies, additional secret outputs, and inputs with their secrets still
 * marked. The stand-in engine and the program tests both use it.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the SDK's monitor and protobuf stubs are untyped JS */
import * as pulumi from "@pulumi/pulumi";

const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
const settings = require("@pulumi/pulumi/runtime/settings");
const runtimeState = require("@pulumi/pulumi/runtime/state");
const rpc = require("@pulumi/pulumi/runtime/rpc");
const structproto = require("google-protobuf/google/protobuf/struct_pb");
const resproto = require("@pulumi/pulumi/proto/resource_pb");

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
export const SECRET_SIG_KEY: string = rpc.specialSigKey;
export const SECRET_SIG: string = rpc.specialSecretSig;

class EngineMonitor extends MockMonitor {
  constructor(private readonly handler: RegistrationHandler) {
    super({ newResource: async () => ({ state: {} }), call: async () => ({}) });
  }

  async registerResource(req: any, callback: (error: unknown, response?: unknown) => void): Promise<void> {
    try {
      const urn: string = (this as any).newUrn(req.getParent(), req.getType(), req.getName());
      const result = await this.handler({
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
      (this as any).resources.set(urn, { urn, id: result.id ?? null, state: serialized });
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

/**
 * Makes Pulumi's runtime send every registration to `handler`, for `project`/`stack`, as a preview
 * or an update, with `config` as the stack's configuration.
 */
export function installMonitor(
  handler: RegistrationHandler,
  options: {
    project: string;
    stack: string;
    preview: boolean;
    config: Record<string, string>;
    secretKeys?: string[];
  },
): void {
  pulumi.runtime.setAllConfig(options.config, options.secretKeys ?? []);
  settings.setMockOptions(new EngineMonitor(handler), options.project, options.stack, options.preview);
  // The features the Pulumi engine offers (as pulumi.runtime.setMocks sets them).
  const store = runtimeState.getStore();
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
