/** The pair discipline's error: which end failed, and what undo did — an undo that failed said first, never under "no half tunnel is left". */
import { PairOperationError, runPair } from "../../providers/pairOperation";

async function failure(promise: Promise<unknown>): Promise<PairOperationError> {
  try {
    await promise;
  } catch (error) {
    if (PairOperationError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("the pair operation succeeded");
}

describe("a pair operation that fails on one end", () => {
  it("undoes both ends and says so", async () => {
    const error = await failure(
      runPair("creating GRE tunnel gre1", [
        { label: "routerA", run: async () => "ok", restore: async () => "gre1 removed" },
        {
          label: "routerB",
          run: () => Promise.reject(new Error("routerB: `ip addr add` failed")),
          restore: async () => "nothing to undo",
        },
      ]),
    );
    expect(error.message).toBe(
      "creating GRE tunnel gre1 failed on routerB.\n  routerB: `ip addr add` failed\nUndone, so no half tunnel is left:\n  routerA: gre1 removed\n  routerB: nothing to undo",
    );
  });

  it("says first, and plainly, that a half tunnel may be left when an undo failed", async () => {
    const error = await failure(
      runPair("creating GRE tunnel gre1", [
        { label: "routerA", run: async () => "ok", restore: async () => "gre1 removed" },
        {
          label: "routerB",
          run: () => Promise.reject(new Error("routerB: the SSH connection was lost")),
          restore: () => Promise.reject(new Error("routerB: unreachable after 10 attempt(s)")),
        },
      ]),
    );
    expect(error.message).toBe(
      "creating GRE tunnel gre1 failed on routerB.\n  routerB: the SSH connection was lost\n" +
        "UNDO FAILED on routerB: a half tunnel may be left there; fix it by hand (or run `pulumi up` again once the router answers):\n" +
        "  routerA: gre1 removed\n  routerB: UNDO FAILED: routerB: unreachable after 10 attempt(s)",
    );
    expect(error.message).not.toContain("no half tunnel is left");
  });
});
