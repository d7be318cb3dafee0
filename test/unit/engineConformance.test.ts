/**
 * The stand-in engine follows the Pulumi engine at the pinned version, rule by rule; each row
 * names the Pulumi source it follows. A promise the stand-in makes that `pulumi` would not is a
 * defect, so the rows fix what it counts, not what would be convenient.
 */
import { countedChanges, type Command, type OperationRecord } from "../../tools/engine/engine";

const op = (operation: OperationRecord["operation"]): OperationRecord => ({
  operation,
  type: "GreTunnel",
  name: "gre1",
  details: [],
});

describe("what --expect-no-changes counts (pkg/engine/update.go: OnResourceStepPost, HasChanges)", () => {
  it.each<[string, Command, OperationRecord["operation"][], number]>([
    ["nothing but same steps: no change", "preview", ["same", "same"], 0],
    ["an update counts", "preview", ["same", "update"], 1],
    ["create, replace and delete count", "up", ["create", "replace", "delete"], 3],
    [
      "a refresh step under preview --refresh is not a logical step (RefreshStep.Logical is false): not counted",
      "preview",
      ["refresh", "same"],
      0,
    ],
    ["drift that diff turns into an update is counted once, as the update", "up", ["refresh", "update"], 1],
    ["in refresh itself a refresh step counts (its ResultOp is recorded)", "refresh", ["refresh", "same"], 1],
  ])("%s", (_title, command, operations, expected) => {
    expect(countedChanges(command, operations.map(op))).toBe(expected);
  });
});
