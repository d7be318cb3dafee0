/**
 * Serializes a dynamic provider exactly as `new dynamic.Resource(...)` does, in a plain Node
 * process (Jest's module sandbox would change what the closure serializer sees). Run with ts-node,
 * as Pulumi runs a TypeScript program:
 *
 *   node -r ts-node/register/transpile-only tools/providerHost/serializeProvider.ts MODULE EXPORT
 *
 * Prints `{"text": "<module text>"}` on stdout.
 */
import * as path from "path";

async function main(): Promise<void> {
  const [modulePath, exportName] = process.argv.slice(2);
  if (!modulePath || !exportName) {
    throw new Error("usage: serializeProvider.ts MODULE EXPORT");
  }
  const loaded = require(path.resolve(modulePath)) as Record<string, unknown>;
  const provider = loaded[exportName];
  if (typeof provider !== "object" || provider === null) {
    throw new Error(`${modulePath} exports no provider object named ${exportName}`);
  }
  // The same call as @pulumi/pulumi's dynamic/index.ts serializeFunctionMaybeSecret().
  const closure = require("@pulumi/pulumi/runtime/closure/serializeClosure");
  const serialized = await closure.serializeFunction(() => provider, { allowSecrets: true });
  process.stdout.write(
    JSON.stringify({ text: serialized.text, containsSecrets: serialized.containsSecrets }),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
