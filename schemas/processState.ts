/**
 * State shared by everything of this process (the connection pool, coalesced reads, parsed output):
 * Pulumi deserializes each dynamic provider into its own module instance, so module-level state
 * would not be shared — and Pulumi's closure serializer can capture neither a module-level Map nor
 * a symbol — so it lives on `globalThis` under a registered symbol made on each call. In the lowest
 * layer so that every layer can keep its state this one way.
 *
 * @packageDocumentation
 */

/** The process-wide value called `name`, made by `create` the first time it is asked for. */
export function processWide<T>(name: string, create: () => T): T {
  const slot = Symbol.for(`pulumi-gre.${name}`);
  const global = globalThis as unknown as Record<symbol, T | undefined>;
  let value = global[slot];
  if (value === undefined) {
    value = create();
    global[slot] = value;
  }
  return value;
}
