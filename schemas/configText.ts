/**
 * A stack configuration value as Pulumi hands it to a program (`allConfig()`) and to a dynamic
 * provider (`configure`): text, with lists and objects as JSON text.
 *
 * @packageDocumentation
 */

/** The value of a configuration text: parsed when it is JSON, else the text itself. */
export function configValue(text: unknown): unknown {
  if (typeof text !== "string") return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
