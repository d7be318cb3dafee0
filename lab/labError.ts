/**
 * An error of the lab itself (not of a router command).
 *
 * @packageDocumentation
 */

/** An error of the lab itself: a missing package, a host command that failed, a router that did not boot. */
export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabError";
  }
}
