/**
 * A stack's resources as `npm run graph` reads them: from `pulumi stack export` (Pulumi's
 * deployment, version 3) or from this repository's stand-in engine (`.lab/state/STACK.json`). Only
 * plain outputs are kept: a secret value (encrypted in either form) is left out, and the graph never
 * needs one. Pure.
 *
 * @packageDocumentation
 */

/** A resource of the stack: its type token, its name and its plain outputs. */
export interface StackResource {
  type: string;
  name: string;
  outputs: Record<string, unknown>;
}

/** The key Pulumi marks a secret value with in a deployment (and the stand-in engine in its state). */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";

/** The value with every secret inside it removed (`undefined` for a secret itself). */
function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value === null || typeof value !== "object") return value;
  if (SECRET_SIG_KEY in value) return undefined;
  return Object.fromEntries(
    Object.entries(value)
      .map(([key, inner]) => [key, withoutSecrets(inner)])
      .filter(([, inner]) => inner !== undefined),
  );
}

interface RawResource {
  urn?: unknown;
  type?: unknown;
  outputs?: unknown;
}

/** The resources of a state file's text, whichever of the two forms it is; throws naming the problem. */
export function parseStackState(text: string, origin: string): StackResource[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${origin}: not JSON (${(error as Error).message})`);
  }
  const top = (parsed ?? {}) as {
    version?: unknown;
    deployment?: { resources?: unknown };
    resources?: unknown;
  };
  const resources =
    top.version === 3 && top.deployment !== undefined
      ? top.deployment.resources // pulumi stack export
      : top.version === 1
        ? top.resources // the stand-in engine's state
        : undefined;
  if (resources === undefined)
    throw new Error(
      `${origin}: neither \`pulumi stack export\` output (version 3) nor a stand-in engine state (version 1)`,
    );
  if (!Array.isArray(resources)) return [];
  return (resources as RawResource[])
    .filter((r) => typeof r.type === "string" && typeof r.urn === "string")
    .map((r) => ({
      type: r.type as string,
      name: (r.urn as string).split("::").pop()!,
      outputs: (withoutSecrets(r.outputs ?? {}) ?? {}) as Record<string, unknown>,
    }));
}
