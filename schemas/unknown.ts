/**
 * Values not known yet: during a preview the engine sends a placeholder for every input that
 * depends on a resource still to be made. Checks let it pass and judge the value when it is known.
 *
 * @packageDocumentation
 */

/** The placeholder the engine sends for a value not known yet during a preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Whether the value (or anything inside it) is unknown. */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/** Whether the value is known during a preview (anything but the placeholder). */
export function isKnown(value: unknown): boolean {
  return !containsUnknown(value);
}
