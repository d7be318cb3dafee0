/**
 * zod issues as problems that name a property path and a reason — `endpoints[0].local: must be an
 * IPv4 address …` — for providers' check failures and for the stack config's errors alike. Values
 * unknown during a preview are not problems: they are checked again once known.
 *
 * @packageDocumentation
 */
import type { z } from "zod";
import { UNKNOWN, containsUnknown } from "./unknown";

/** The edit distance between two words (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

/** How many first characters two words share. */
function sharedPrefix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** The candidate closest to `word` (ties go to the longest shared beginning), when one is close enough to be what was meant. */
export function closestName(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: { name: string; distance: number; prefix: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(lower, name.toLowerCase());
    const prefix = sharedPrefix(lower, name.toLowerCase());
    if (!best || distance < best.distance || (distance === best.distance && prefix > best.prefix))
      best = { name, distance, prefix };
  }
  return best && best.distance <= Math.max(2, Math.floor(best.name.length / 3)) ? best.name : undefined;
}

/** Secrets that have a `…Secret` field naming a secret config value instead (the stack config). */
const BY_REFERENCE = ["password", "privateKey", "privateKeyPassword"];

/** Why `key` is not a property here, with the valid name meant when there is one. */
export function unknownPropertyReason(key: string, known: readonly string[]): string {
  if (BY_REFERENCE.includes(key) && known.includes(`${key}Secret`)) {
    return `must not be written in the config: store it with \`pulumi config set --secret NAME\` and give NAME as ${key}Secret`;
  }
  const meant = closestName(key, known);
  return `is not a known property${meant ? `; did you mean ${meant}?` : ""} (known: ${known.join(", ")})`;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "an object (a map of properties)",
  record: "an object (a map of names)",
};

/**
 * Our wording for what zod would say generically ("Invalid input", "Too small: …"): pass it as the
 * `error` of a parse. Messages a schema sets itself take precedence. For unknown properties it says
 * one line per property (see {@link problemsOf}), with the valid name meant.
 */
export function explainIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case "unrecognized_keys": {
      const shape = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod
        ?.def?.shape;
      const known = shape ? Object.keys(shape) : [];
      return issue.keys.map((key) => unknownPropertyReason(key, known)).join("\n");
    }
    case "too_small":
      if (issue.origin === "array")
        return `must have at least ${issue.minimum} item${issue.minimum === 1 ? "" : "s"}`;
      if (issue.origin === "string")
        return issue.minimum === 1
          ? "must not be empty"
          : `must be at least ${issue.minimum} characters long`;
      return `must be ${issue.inclusive ? "" : "more than "}${issue.minimum}${issue.inclusive ? " or more" : ""}`;
    case "too_big":
      if (issue.origin === "array") return `must have at most ${issue.maximum} items`;
      if (issue.origin === "string") return `must be at most ${issue.maximum} characters long`;
      return `must be ${issue.inclusive ? "at most" : "less than"} ${issue.maximum}`;
    case "invalid_value":
      return `must be ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}`;
    case "invalid_union":
      return "matches none of the forms this property takes";
    case "invalid_key":
      return "is not a valid name here";
    default:
      return undefined;
  }
}

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
  const add = (at: PropertyKey[], reason: string) => {
    const path = propertyPath([...prefix, ...at]);
    const key = `${path}\u0000${reason}`;
    if (seen.has(key)) return;
    seen.add(key);
    problems.push({ path, reason });
  };
  for (const issue of issues) {
    if (unknownAt(input, issue.path)) continue;
    if (issue.code === "unrecognized_keys") {
      // One problem per unknown property, at its own path (explainIssue wrote one line each).
      const lines = issue.message.split("\n");
      issue.keys.forEach((key, i) =>
        add([...issue.path, key], lines.length === issue.keys.length ? lines[i] : issue.message),
      );
      continue;
    }
    add(issue.path, issue.message);
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

/** How deep any input may nest: far beyond every real shape, far below what overflows a parser. */
export const MAX_DEPTH = 32;

/**
 * The first place in `value` nested deeper than {@link MAX_DEPTH}, as a problem, or undefined.
 * Iterative, so that no input can overflow the stack while it is looked at.
 */
export function tooDeep(value: unknown): Problem | undefined {
  const pending: Array<{ value: unknown; path: PropertyKey[] }> = [{ value, path: [] }];
  while (pending.length > 0) {
    const { value: here, path } = pending.pop()!;
    if (here === null || typeof here !== "object") continue;
    if (path.length >= MAX_DEPTH)
      return {
        path: propertyPath(path),
        reason: `is nested more than ${MAX_DEPTH} levels deep: no input is`,
      };
    const entries = Array.isArray(here) ? Array.from(here, (v, i) => [i, v] as const) : Object.entries(here);
    for (const [key, v] of entries) pending.push({ value: v, path: [...path, key] });
  }
  return undefined;
}
