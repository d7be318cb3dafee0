/**
 * The discipline of every operation on a pair of routers: both ends in parallel, and if either
 * fails, both are taken back to how they were, so no half tunnel is ever left. The error says which
 * end failed, with which command, and what was undone.
 *
 * @packageDocumentation
 */

const BRAND = "__pulumiGrePairError";

/**
 * A pair operation failed; `undone` says what happened to each end afterwards. A branded plain
 * `Error` (see TransportError for why not a subclass).
 */
export interface PairOperationError extends Error {
  readonly [BRAND]: true;
  readonly failedEnds: string[];
  readonly undone: UndoOutcome[];
}

/** Recognizes a {@link PairOperationError}, whichever module instance made it. */
export const PairOperationError = {
  isInstance(value: unknown): value is PairOperationError {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[BRAND] === true;
  },
};

function pairOperationError(
  message: string,
  failedEnds: string[],
  undone: UndoOutcome[],
): PairOperationError {
  const error = new Error(message) as Error & Record<string, unknown>;
  error.name = "PairOperationError";
  Object.assign(error, { failedEnds, undone, [BRAND]: true });
  return error as unknown as PairOperationError;
}

/** One router's part of a pair operation. */
export interface EndStep<T> {
  /** The router, as errors name it. */
  label: string;
  /** Changes the router; throws when it cannot. */
  run: () => Promise<T>;
  /** Takes the router back to how it was before `run`, and says what it did ("gre1 removed"). */
  restore: () => Promise<string>;
}

/** Builds a pair from one function of the end's index. */
export function both<T>(make: (i: 0 | 1) => T): [T, T] {
  return [make(0), make(1)];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs both steps in parallel. When one (or both) fails, both ends are restored, and the error
 * names the failed end(s) and the outcome of each restore.
 */
export async function runPair<T>(what: string, steps: [EndStep<T>, EndStep<T>]): Promise<[T, T]> {
  const results = await Promise.allSettled(steps.map((s) => s.run()));
  if (results.every((r) => r.status === "fulfilled")) {
    return results.map((r) => (r as PromiseFulfilledResult<T>).value) as [T, T];
  }
  const failures = steps
    .map((step, i) => ({ step, result: results[i] }))
    .filter((x) => x.result.status === "rejected")
    .map((x) => {
      const message = messageOf((x.result as PromiseRejectedResult).reason);
      // Transport errors already start with the router's name.
      return message.startsWith(x.step.label) ? message : `${x.step.label}: ${message}`;
    });
  const undone = await undoBoth(steps);
  throw pairOperationError(
    `${what} failed on ${failures.length === 2 ? "both routers" : steps[results.findIndex((r) => r.status === "rejected")].label}.\n` +
      `${failures.map((f) => `  ${f}`).join("\n")}\n${undoneReport(undone)}`,
    failures,
    undone,
  );
}

/** What undo did, for the error: all undone, or — said first — an undo that failed. */
export function undoneReport(undone: readonly UndoOutcome[]): string {
  const lines = undone.map((u) => `  ${u.text}`).join("\n");
  return undone.some((u) => !u.ok)
    ? `UNDO FAILED on ${undone
        .filter((u) => !u.ok)
        .map((u) => u.label)
        .join(
          " and ",
        )}: a half tunnel may be left there; fix it by hand (or run \`pulumi up\` again once the router answers):\n${lines}`
    : `Undone, so no half tunnel is left:\n${lines}`;
}

/** What undo did on one end. */
export interface UndoOutcome {
  label: string;
  ok: boolean;
  text: string;
}

/** Restores both ends (in parallel) and reports each outcome. */
export async function undoBoth(
  steps: ReadonlyArray<Pick<EndStep<unknown>, "label" | "restore">>,
): Promise<UndoOutcome[]> {
  const restored = await Promise.allSettled(steps.map((s) => s.restore()));
  return steps.map((step, i) => {
    const r = restored[i];
    return r.status === "fulfilled"
      ? { label: step.label, ok: true, text: `${step.label}: ${r.value}` }
      : { label: step.label, ok: false, text: `${step.label}: UNDO FAILED: ${messageOf(r.reason)}` };
  });
}
