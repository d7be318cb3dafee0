/**
 * The stand-in engine follows the Pulumi engine at the pinned version, rule by rule; each row
 * names the Pulumi source it follows. A promise the stand-in makes that `pulumi` would not is a
 * defect, so the rows fix what it counts and prints, not what would be convenient. (What it asks of
 * a provider, and prints of the answers, is pinned by test/stacks/engineRules.test.ts.)
 */
import { countedChanges, summaryCounts, type Command, type OperationRecord } from "../../tools/engine/engine";
import {
  Secret,
  renderDiagnostics,
  renderRow,
  renderStepDiff,
  renderStepOutputs,
  renderSummary,
  type StepView,
} from "../../tools/engine/display";

const op = (
  operation: OperationRecord["operation"],
  result?: OperationRecord["result"],
): OperationRecord => ({
  operation,
  ...(result ? { result } : {}),
  type: "GreTunnel",
  name: "gre1",
  details: [],
});

describe("what --expect-no-changes counts (pkg/engine/update.go: OnResourceStepPost, HasChanges)", () => {
  it.each<[string, Command, OperationRecord[], number]>([
    ["nothing but same steps: no change", "preview", [op("same"), op("same")], 0],
    ["an update counts", "preview", [op("same"), op("update")], 1],
    ["create, replace and delete count", "up", [op("create"), op("replace"), op("delete")], 3],
    [
      "a refresh step under preview --refresh is not a logical step (RefreshStep.Logical is false): not counted",
      "preview",
      [op("refresh", "update"), op("same")],
      0,
    ],
    [
      "drift that diff turns into an update is counted once, as the update",
      "up",
      [op("refresh", "update"), op("update")],
      1,
    ],
    [
      "in refresh itself a refresh step counts as its ResultOp: an update counts (step.go, RefreshStep.ResultOp)",
      "refresh",
      [op("refresh", "update"), op("refresh", "same")],
      1,
    ],
    ["in refresh, a resource read as gone counts (ResultOp delete)", "refresh", [op("refresh", "delete")], 1],
  ])("%s", (_title, command, records, expected) => {
    expect(countedChanges(command, records)).toBe(expected);
  });
});

const URN = "urn:pulumi:dev::pulumi-gre::pulumi:pulumi:Stack$pulumi-nodejs:dynamic/gre:GreTunnel::gre1";
const TYPE = "pulumi-nodejs:dynamic/gre:GreTunnel";
const view = (v: Partial<StepView>): StepView => ({
  op: "update",
  urn: URN,
  type: TYPE,
  indent: 1,
  id: "gre1",
  ...v,
});
const head = `    ~ ${TYPE}: (update)\n        [id=gre1]\n        [urn=${URN}]\n`;

describe("what --diff prints of a step (pkg/backend/display/object_diff.go, diff.go)", () => {
  it.each<[string, StepView, boolean, string]>([
    [
      "an update: old inputs against new (printOldNewDiffs), changed keys prefixed, the rest unprefixed, keys aligned (printPropertyTitle)",
      view({ old: { inputs: { name: "gre1", ttl: 255 } }, new: { inputs: { name: "gre1", ttl: 64 } } }),
      true,
      `${head}        name: "gre1"\n      ~ ttl : 255 => 64\n`,
    ],
    [
      "a property the old inputs lack is an add, inside arrays and objects (ArrayDiff, ObjectDiff; printAdd)",
      view({
        old: { inputs: { endpoints: [{ local: "a" }, { local: "b" }] } },
        new: { inputs: { endpoints: [{ local: "a" }, { local: "b", address: "10.10.10.1" }] } },
      }),
      true,
      `${head}      ~ endpoints: [\n            [0]: {\n                    local: "a"\n                }\n          ~ [1]: {\n                  + address: "10.10.10.1"\n                    local  : "b"\n                }\n        ]\n`,
    ],
    [
      "a secret top-level property shows as [secret]; a changed one as [secret] => [secret] (printPrimitivePropertyValue)",
      view({
        old: { inputs: { credentials: new Secret(["key1"]), name: "gre1" } },
        new: { inputs: { credentials: new Secret(["key2"]), name: "gre1" } },
      }),
      true,
      `${head}      ~ credentials: [secret] => [secret]\n        name       : "gre1"\n`,
    ],
    [
      "equal inputs (the provider said changes, nothing to show): every input unchanged (printOldNewDiffs → PrintObject as same)",
      view({ old: { inputs: { name: "gre1" } }, new: { inputs: { name: "gre1" } } }),
      true,
      `${head}        name: "gre1"\n`,
    ],
    [
      "empty strings, arrays and nulls among unchanged inputs are left out (shouldPrintPropertyValue)",
      view({ old: { inputs: { a: "", b: [], c: 1 } }, new: { inputs: { a: "", b: [], c: 2 } } }),
      true,
      `${head}      ~ c: 1 => 2\n`,
    ],
    [
      "internal keys (__provider) are never shown (IsInternalPropertyKey)",
      view({ old: { inputs: { __provider: "x", c: 1 } }, new: { inputs: { __provider: "y", c: 2 } } }),
      true,
      `${head}      ~ c: 1 => 2\n`,
    ],
  ])("%s", (_title, step, planning, expected) => {
    expect(renderStepDiff(step, planning)).toBe(expected);
  });

  it("a create prints its inputs unprefixed under the + header; same steps print only their header (renderDiffResourcePreEvent)", () => {
    expect(
      renderStepDiff(
        { op: "create", urn: URN, type: TYPE, indent: 1, new: { inputs: { name: "gre1" } } },
        true,
      ),
    ).toBe(`    + ${TYPE}: (create)\n        [urn=${URN}]\n        name: "gre1"\n`);
  });

  const refresh = (before: Record<string, unknown>, after: Record<string, unknown>): StepView =>
    view({ op: "refresh", old: { inputs: {}, outputs: before }, new: { inputs: {}, outputs: after } });
  it.each<[string, StepView, boolean, boolean, string]>([
    [
      "a refresh whose outputs changed: its header and the changed outputs under --outputs:-- (renderDiffResourceOutputsEvent)",
      refresh({ state: "up", mtu: 1476 }, { state: "missing", mtu: 1476 }),
      true,
      true,
      `    ~ ${TYPE}: (refresh)\n        [id=gre1]\n        [urn=${URN}]\n        --outputs:--\n      ~ state: "up" => "missing"\n`,
    ],
    [
      "a refresh that changed no output prints nothing (getResourceOutputsPropertiesString)",
      refresh({ state: "up" }, { state: "up" }),
      true,
      true,
      "",
    ],
    [
      "an update's outputs are unknown in a preview: nothing (printOutputDuringPlanning)",
      view({
        old: { inputs: {}, outputs: { state: "up" } },
        new: { inputs: {}, outputs: { state: "missing" } },
      }),
      true,
      false,
      "",
    ],
  ])("%s", (_title, step, planning, isRefresh, expected) => {
    expect(renderStepOutputs(step, planning, isRefresh)).toBe(expected);
  });
});

describe("rows, diagnostics and the summary (pkg/backend/display/progress.go, diff.go)", () => {
  it.each<[string, string, string]>([
    [
      "a planned update: the plan (getPreviewDoneText)",
      renderRow("update", TYPE, "gre1", { planning: true }),
      ` ~  ${TYPE} gre1 update`,
    ],
    ["a same step: no status", renderRow("same", TYPE, "gre1", { planning: true }), `    ${TYPE} gre1`],
    [
      "a done create: past tense and time (getStepDoneDescription)",
      renderRow("create", TYPE, "gre1", { planning: false, seconds: 2.4 }),
      ` +  ${TYPE} gre1 created (2s)`,
    ],
    [
      "a failed update",
      renderRow("update", TYPE, "gre1", { planning: false, failed: true }),
      ` ~  ${TYPE} gre1 **updating failed**`,
    ],
  ])("%s", (_title, row, expected) => expect(row).toBe(expected));

  it("a message without a resource goes under the stack, grouped as the Diagnostics section (printDiagnostics)", () => {
    expect(
      renderDiagnostics([
        {
          type: "pulumi:pulumi:Stack",
          name: "pulumi-gre-dev",
          messages: ["warning: [runtime] gre1: key 1 is also used"],
        },
        { type: TYPE, name: "gre1", messages: ["error: routerB: exit 2"] },
      ]),
    ).toBe(
      "Diagnostics:\n  pulumi:pulumi:Stack (pulumi-gre-dev):\n    warning: [runtime] gre1: key 1 is also used\n\n" +
        `  ${TYPE} (gre1):\n    error: routerB: exit 2\n`,
    );
  });

  it.each<[string, Command, OperationRecord[], boolean, string]>([
    [
      "a preview: '~ 1 to update', 'N unchanged'",
      "preview",
      [op("update"), op("same"), op("same")],
      true,
      "Resources:\n    ~ 1 to update\n    2 unchanged",
    ],
    [
      "two kinds of change: the total as 'N changes' (renderSummaryEvent)",
      "up",
      [op("create"), op("update"), op("same")],
      false,
      "Resources:\n    + 1 created\n    ~ 1 updated\n    2 changes. 1 unchanged",
    ],
    [
      "refresh steps under preview --refresh are not in the summary",
      "preview",
      [op("refresh", "update"), op("same")],
      true,
      "Resources:\n    1 unchanged",
    ],
    [
      "refresh counts each refresh as its result",
      "refresh",
      [op("refresh", "update"), op("refresh", "same")],
      false,
      "Resources:\n    ~ 1 updated\n    1 unchanged",
    ],
  ])("%s", (_title, command, records, preview, expected) => {
    expect(renderSummary(summaryCounts(command, records), preview, 0)).toBe(expected);
  });
});
