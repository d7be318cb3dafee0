/**
 * State shared by everything of this process that talks to routers: Pulumi deserializes each
 * dynamic provider into its own module instance, so module-level state would not be shared — it
 * lives on `globalThis` under a registered symbol instead. The symbol is made on each call, never
 * kept in a module-level constant: Pulumi's closure serializer cannot capture a symbol.
 *
 * @packageDocumentation
 */

/** The process-wide value called `name`, made by `create` the first time it is asked for. */
export function processWide<T>(name: string, create: () => T): T {
  const slot = Symbol.for(`pulumi-gre.transport.${name}`);
  const global = globalThis as unknown as Record<symbol, T | undefined>;
  let value = global[slot];
  if (value === undefined) {
    value = create();
    global[slot] = value;
  }
  return value;
}
