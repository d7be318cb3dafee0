/**
 * Turns zod issues into Pulumi check failures `{property, reason}`, with the property written as
 * a Pulumi property path (`endpoints[0].local`). Values that are unknown during a preview (outputs
 * of resources not created yet) are not failures: they are checked again when known.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";

/** The placeholder the engine sends for a value not known yet during a preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** `["endpoints", 0, "local"]` → `endpoints[0].local`. */
export function propertyPath(path: ReadonlyArray<PropertyKey>): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text === "" ? String(part) : `.${String(part)}`;
  }
  return text;
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value = root;
  for (const part of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[part as string];
  }
  return value;
}

/** Whether the value (or anything inside it) is unknown. */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/** Whether the value at `path`, a parent of it, or anything inside it is unknown. */
function unknownAt(root: unknown, path: ReadonlyArray<PropertyKey>): boolean {
  for (let i = 0; i < path.length; i++) {
    if (valueAt(root, path.slice(0, i)) === UNKNOWN) return true;
  }
  return containsUnknown(valueAt(root, path));
}

/** Check failures for zod issues, leaving out those about unknown values; `prefix` nests them. */
export function checkFailures(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  prefix: PropertyKey[] = [],
): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    if (unknownAt(input, issue.path)) continue;
    const property = propertyPath([...prefix, ...issue.path]);
    const key = `${property}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    failures.push({ property, reason: issue.message });
  }
  return failures;
}

/** Inputs without the engine's own `__provider` and other `__` properties. */
export function userInputs(props: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(props).filter(([k]) => !k.startsWith("__")));
}

/**
 * A provider's `check`: validates the user's inputs with `schema` and returns them normalized, or
 * the failures, each naming the property and the reason. Nothing runs on a router.
 */
export function checkInputs<S extends z.ZodType>(
  schema: S,
  news: Record<string, unknown>,
  normalize: (data: z.infer<S>) => object,
): pulumi.dynamic.CheckResult {
  const inputs = userInputs(news);
  const parsed = schema.safeParse(inputs);
  if (!parsed.success) {
    const failures = checkFailures(parsed.error.issues, inputs);
    // Only values unknown during a preview failed: they are checked again once known.
    return failures.length > 0 ? { failures } : { inputs: news };
  }
  return { inputs: normalize(parsed.data) as Record<string, unknown> };
}
