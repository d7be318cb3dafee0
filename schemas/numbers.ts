/**
 * Whole numbers with messages that name what is wrong, and the ports and route numbers made of
 * them.
 *
 * @packageDocumentation
 */
import { z } from "zod";

/** A whole number in [min, max], with the message naming what is wrong. */
export function wholeNumber(min: number, max: number) {
  return z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(min, `must be ${min} or more`)
    .max(max, `must be at most ${max}`);
}

/** A TCP port. */
export function port() {
  return wholeNumber(1, 65535);
}

/** A route metric. */
export function routeMetric() {
  return wholeNumber(0, 4294967295);
}

/** A routing table: its number or "main"; never the local table (255), which the kernel owns. */
export function routeTable() {
  return z
    .union([z.literal("main"), wholeNumber(1, 4294967295)], { error: 'must be a table number or "main"' })
    .refine((t) => t !== 255, "must not be the local table (255)");
}
