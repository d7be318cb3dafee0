/**
 * What a router printed, parsed once. A refresh reads a router in one shared round trip and every
 * resource on it parses the same output: a hub with 200 tunnels has 600 resources parsing a
 * 300 KB `ip -j` listing each, which grew with the square of the hub. The results are kept per
 * output (the same string every requester received) and handed out frozen, so that no caller can
 * change what the others see.
 *
 * @packageDocumentation
 */
import { processWide } from "../../schemas/processState";

/** At most this many outputs of one kind are kept (the routers of one shared read at a time). */
const KEPT = 256;

function frozen<T>(items: T[]): readonly T[] {
  for (const item of items) Object.freeze(item);
  return Object.freeze(items);
}

/**
 * `parse(text)`, computed once per `kind` and text: a fresh array each call (callers may sort or
 * filter it), of objects shared and frozen.
 */
export function parsedOnce<T>(kind: string, text: string, parse: (text: string) => T[]): T[] {
  const all = processWide("iproute2.parsedOutput", () => new Map<string, Map<string, readonly unknown[]>>());
  let kept = all.get(kind);
  if (!kept) all.set(kind, (kept = new Map()));
  let result = kept.get(text) as readonly T[] | undefined;
  if (!result) {
    if (kept.size >= KEPT) kept.clear();
    result = frozen(parse(text));
    kept.set(text, result);
  }
  return [...result];
}
