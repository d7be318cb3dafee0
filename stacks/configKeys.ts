/**
 * The config keys the stack reads, and the ones it would silently ignore: a key of the project's
 * namespace it does not read, or a stack key set in a namespace that is a typo of the project's.
 * Pure.
 *
 * @packageDocumentation
 */
import { closestName, type Problem } from "../schemas/issues";

/** The config keys the stack program reads, besides the secret config values routers name. */
export const STACK_CONFIG_KEYS = ["routers", "tunnels", "settings", "sshPrivateKey"];

/**
 * Config keys the program would silently ignore: keys of the project's namespace it does not
 * read, and keys of a namespace that is a typo of the project's (`pulumi-gr:tunnels`). `secretNames`
 * are the secret config values the routers name.
 */
export function unknownConfigKeys(
  keys: readonly string[],
  project: string,
  secretNames: readonly string[],
): Problem[] {
  const known = [...STACK_CONFIG_KEYS, ...secretNames];
  const problems: Problem[] = [];
  for (const full of keys) {
    const colon = full.indexOf(":");
    const namespace = full.slice(0, colon);
    const key = full.slice(colon + 1);
    if (namespace === project) {
      if (!known.includes(key)) {
        const meant = closestName(key, known);
        problems.push({
          path: key,
          reason: `is not a key this stack reads${meant ? `; did you mean ${project}:${meant}?` : ""} (it reads ${STACK_CONFIG_KEYS.join(", ")} and the secrets routers name)`,
        });
      }
    } else if (closestName(namespace, [project]) && STACK_CONFIG_KEYS.includes(key)) {
      problems.push({
        path: key,
        reason: `is set as ${full}, in namespace ${namespace}, which this stack does not read; did you mean ${project}:${key}?`,
      });
    }
  }
  return problems;
}
