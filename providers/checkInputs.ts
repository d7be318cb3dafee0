/**
 * A provider's `check`: the user's inputs validated with their schema and normalized, or check
 * failures `{property, reason}` with the property written as a Pulumi property path
 * (`endpoints[0].local`). Values unknown during a preview are not failures.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { explainIssue, problemsOf, tooDeep } from "../schemas/issues";
import { processWide } from "../schemas/processState";

/**
 * The schema `build` makes, built once per process: zod compiles a schema on its first parse, and
 * a refresh checks every resource's inputs (a hub of 200: a thousand checks).
 */
export function builtOnce<S extends z.ZodType>(name: string, build: () => S): S {
  return processWide(`schema.${name}`, build);
}

/** Inputs without the engine's own `__provider` and other `__` properties. */
export function userInputs(props: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(props).filter(([k]) => !k.startsWith("__")));
}

/**
 * Validates the user's inputs with `schema` and returns them normalized, or the failures, each
 * naming the property and the reason. Nothing runs on a router.
 */
export function checkInputs<S extends z.ZodType, In extends object>(
  schema: S,
  news: In,
  normalize: (data: z.output<S>) => In,
): pulumi.dynamic.CheckResult<In> {
  const inputs = userInputs(news);
  const deep = tooDeep(inputs);
  if (deep) return { failures: [{ property: deep.path, reason: deep.reason }] };
  const parsed = schema.safeParse(inputs, { error: explainIssue });
  if (!parsed.success) {
    const failures = problemsOf(parsed.error.issues, inputs).map((p) => ({
      property: p.path,
      reason: p.reason,
    }));
    // Only values unknown during a preview failed: they are checked again once known.
    return failures.length > 0 ? { failures } : { inputs: news };
  }
  return { inputs: normalize(parsed.data) };
}
