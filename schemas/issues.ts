/**
 * zod issues as problems that name a property path and a reason — `endpoints[0].local: must be an
 * IPv4 address …` — for providers' check failures and for the stack config's errors alike. Values
 * unknown during a preview are not problems: they are checked again once known.
 *
 * @packageDocumentation
 */
import type { z } from "zod";
import { UNKNOWN, containsUnknown } from "./values";

/** One problem with an input: where, and why. */
export interface Problem {
  path: string;
  reason: string;
}

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

/** Whether the value at `path`, a parent of it, or anything inside it is unknown. */
function unknownAt(root: unknown, path: ReadonlyArray<PropertyKey>): boolean {
  for (let i = 0; i < path.length; i++) {
    if (valueAt(root, path.slice(0, i)) === UNKNOWN) return true;
  }
  return containsUnknown(valueAt(root, path));
}

/**
 * The problems of `issues` (from parsing `input`), each once, leaving out those about unknown
 * values; `prefix` nests them under a parent path.
 */
export function problemsOf(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  prefix: PropertyKey[] = [],
): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    if (unknownAt(input, issue.path)) continue;
    const path = propertyPath([...prefix, ...issue.path]);
    const key = `${path}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ path, reason: issue.message });
  }
  return problems;
}

/** Drops problems that say the same thing about the same place. */
export function distinctProblems(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
