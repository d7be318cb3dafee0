/**
 * What the Pulumi CLI prints, rebuilt after its source at the pinned version (pulumi/pulumi at
 * v3.248.0): the property diff of `--diff` (pkg/backend/display/object_diff.go), the resource blocks
 * of the diff display (pkg/backend/display/diff.go), the rows and the "Diagnostics:" section of the
 * non-interactive progress display (pkg/backend/display/progress.go) and the "Resources:" summary
 * (diff.go, `renderSummaryEvent`). Colourless, as `--color never` prints it. It renders only what the
 * engine holds — inputs, outputs, which top-level properties are secret — never a reading of our
 * providers' outputs for display.
 */

/** A value the engine marks secret (a whole top-level property: provider_plugin.go, `annotateSecrets`). */
export class Secret {
  constructor(readonly value: unknown) {}
}

/** A property bag; values are JSON, `Secret`s, or undefined (absent). */
export type PropertyMap = Record<string, unknown>;

/** Step operations, as `display.StepOp` (pkg/resource/deploy/step.go). */
export type StepOp = "same" | "create" | "update" | "delete" | "replace" | "refresh";

/** `deploy.RawPrefix` (step.go): two characters before each line of an operation. */
const RAW_PREFIX: Record<StepOp, string> = {
  same: "  ",
  create: "+ ",
  update: "~ ",
  delete: "- ",
  replace: "+-",
  refresh: "~ ",
};

/** `deploy.PastTense` (step.go). */
export const PAST_TENSE: Record<StepOp, string> = {
  same: "samed",
  create: "created",
  update: "updated",
  delete: "deleted",
  replace: "replaced",
  refresh: "refreshed",
};

/** The order the summary lists operations in (`deploy.StepOps`). */
export const STEP_OPS: StepOp[] = ["same", "create", "update", "delete", "replace", "refresh"];

// ---------------------------------------------------------------------------------------------
// Diffs (sdk/go/common/resource/properties_diff.go)

export interface ObjectDiff {
  adds: Map<string, unknown>;
  deletes: Map<string, unknown>;
  sames: Map<string, unknown>;
  updates: Map<string, ValueDiff>;
}

export interface ArrayDiff {
  length: number;
  adds: Map<number, unknown>;
  deletes: Map<number, unknown>;
  sames: Map<number, unknown>;
  updates: Map<number, ValueDiff>;
}

export interface ValueDiff {
  old: unknown;
  new: unknown;
  array?: ArrayDiff;
  object?: ObjectDiff;
}

const isObject = (v: unknown): v is PropertyMap =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Secret);

/** `PropertyValue.HasValue`: null and absent have none. */
const hasValue = (v: unknown) => v !== undefined && v !== null;

/** Keys the engine never diffs or prints (`resource.IsInternalPropertyKey`: those starting "__"). */
const isInternal = (key: string) => key.startsWith("__");

/** `PropertyValue.DeepEquals`: a secret equals only a secret with an equal element. */
export function deepEquals(a: unknown, b: unknown): boolean {
  if (a instanceof Secret || b instanceof Secret)
    return a instanceof Secret && b instanceof Secret && deepEquals(a.value, b.value);
  if (Array.isArray(a) || Array.isArray(b))
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEquals(x, b[i]))
    );
  if (isObject(a) || isObject(b)) {
    if (!isObject(a) || !isObject(b)) return false;
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => deepEquals(a[k], b[k]));
  }
  return a === b || (!hasValue(a) && !hasValue(b));
}

/** `PropertyMap.DiffWithOptions(IgnoreKeyFunc(IsInternalPropertyKey))`; undefined when equal. */
export function diffObjects(
  olds: PropertyMap,
  news: PropertyMap,
  ignore = isInternal,
): ObjectDiff | undefined {
  const diff: ObjectDiff = { adds: new Map(), deletes: new Map(), sames: new Map(), updates: new Map() };
  for (const [key, old] of Object.entries(olds)) {
    if (ignore(key) || old === undefined) continue;
    if (key in news && news[key] !== undefined) {
      const next = news[key];
      const changed = diffValues(old, next);
      if (!changed) diff.sames.set(key, old);
      else if (!hasValue(old)) diff.adds.set(key, next);
      else if (!hasValue(next)) diff.deletes.set(key, old);
      else diff.updates.set(key, changed);
    } else if (hasValue(old)) diff.deletes.set(key, old);
  }
  for (const [key, next] of Object.entries(news)) {
    if (ignore(key)) continue;
    if ((!(key in olds) || olds[key] === undefined) && hasValue(next)) diff.adds.set(key, next);
  }
  return diff.adds.size + diff.deletes.size + diff.updates.size === 0 ? undefined : diff;
}

/** `PropertyValue.Diff`: arrays element by element, objects key by key, anything else whole. */
export function diffValues(old: unknown, next: unknown): ValueDiff | undefined {
  if (Array.isArray(old) && Array.isArray(next)) {
    const array: ArrayDiff = {
      length: Math.max(old.length, next.length),
      adds: new Map(),
      deletes: new Map(),
      sames: new Map(),
      updates: new Map(),
    };
    for (let i = old.length; i < next.length; i++) array.adds.set(i, next[i]);
    for (let i = next.length; i < old.length; i++) array.deletes.set(i, old[i]);
    for (let i = 0; i < old.length && i < next.length; i++) {
      const d = diffValues(old[i], next[i]);
      if (d) array.updates.set(i, d);
      else array.sames.set(i, old[i]);
    }
    return array.adds.size + array.deletes.size + array.updates.size === 0
      ? undefined
      : { old, new: next, array };
  }
  if (isObject(old) && isObject(next)) {
    const object = diffObjects(old, next, () => false);
    return object ? { old, new: next, object } : undefined;
  }
  return deepEquals(old, next) ? undefined : { old, new: next };
}

// ---------------------------------------------------------------------------------------------
// Printing (pkg/backend/display/object_diff.go, `propertyPrinter`)

/** `getIndentationString`: four spaces a level; a prefixed line puts the op's prefix in the last two. */
function indentation(indent: number, op: StepOp, prefix: boolean): string {
  const result = "    ".repeat(indent);
  if (!prefix || result === "") return result;
  return result.slice(0, -2) + RAW_PREFIX[op];
}

/** `shouldPrintPropertyValue`: nulls, empty strings, arrays and objects are left out. */
function shouldPrint(v: unknown): boolean {
  if (!hasValue(v)) return false;
  if (v === "") return false;
  if (Array.isArray(v) && v.length === 0) return false;
  if (isObject(v) && Object.keys(v).length === 0) return false;
  return true;
}

const isPrimitive = (v: unknown) => !hasValue(v) || v instanceof Secret || typeof v !== "object";

/** Keys in `PropertyMap.StableKeys` order (byte order). */
const stableKeys = (keys: Iterable<string>) => [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

class Printer {
  constructor(
    private readonly out: string[],
    readonly indent: number,
    readonly op: StepOp,
    readonly prefix: boolean,
    readonly planning: boolean,
  ) {}

  with(changes: { indent?: number; op?: StepOp; prefix?: boolean }): Printer {
    return new Printer(
      this.out,
      changes.indent ?? this.indent,
      changes.op ?? this.op,
      changes.prefix ?? this.prefix,
      this.planning,
    );
  }
  indented(amount: number): Printer {
    return this.with({ indent: this.indent + amount });
  }
  write(text: string): void {
    this.out.push(text);
  }
  writeIndented(text: string): void {
    this.write(indentation(this.indent, this.op, this.prefix) + text);
  }
  writeUnprefixedIndented(text: string): void {
    this.write(indentation(this.indent, this.op, false) + text);
  }
  title(name: string, align: number): void {
    this.writeIndented(`${name.padEnd(align)}: `);
  }

  printObject(props: PropertyMap): void {
    const keys = stableKeys(Object.keys(props).filter((k) => props[k] !== undefined));
    const align = Math.max(0, ...keys.map((k) => k.length));
    for (const key of keys) if (!isInternal(key)) this.printObjectProperty(key, props[key], align);
  }
  printObjectProperty(key: string, value: unknown, align: number): void {
    this.title(key, align);
    this.printPropertyValue(value);
  }
  printPropertyValue(v: unknown): void {
    this.printValue(v);
    this.write("\n");
  }
  private printValue(v: unknown): void {
    if (isPrimitive(v)) return this.printPrimitive(v);
    if (Array.isArray(v)) {
      if (v.length === 0) return this.write("[]");
      this.write("[\n");
      v.forEach((element, i) => {
        this.writeIndented(`    [${i}]: `);
        this.indented(1).printPropertyValue(element);
      });
      return this.writeUnprefixedIndented("]");
    }
    const object = v as PropertyMap;
    if (Object.keys(object).length === 0) return this.write("{}");
    this.write("{\n");
    this.indented(1).printObject(object);
    this.writeUnprefixedIndented("}");
  }
  /** `printPrimitivePropertyValue`: strings quoted as Go's %q, secrets as [secret]. */
  printPrimitive(v: unknown): void {
    if (v instanceof Secret) this.write("[secret]");
    else if (!hasValue(v)) this.write("<null>");
    else if (typeof v === "string") {
      const decoded = decodeJson(v);
      if (decoded !== undefined) {
        this.write("(json) ");
        this.printPropertyValue(decoded);
        return;
      }
      this.write(JSON.stringify(v));
    } else this.write(String(v));
  }

  printObjectDiff(diff: ObjectDiff): void {
    const keys = stableKeys([
      ...diff.adds.keys(),
      ...diff.deletes.keys(),
      ...diff.sames.keys(),
      ...diff.updates.keys(),
    ]);
    const align = Math.max(0, ...keys.map((k) => k.length));
    for (const key of keys) this.printObjectPropertyDiff(key, align, diff);
  }
  printObjectPropertyDiff(key: string, align: number, diff: ObjectDiff): void {
    const title = (p: Printer) => p.title(key, align);
    if (diff.adds.has(key)) this.printAdd(diff.adds.get(key), title);
    else if (diff.deletes.has(key)) this.printDelete(diff.deletes.get(key), title);
    else if (diff.updates.has(key)) this.printValueDiff(title, diff.updates.get(key)!);
    else if (shouldPrint(diff.sames.get(key)))
      this.with({ op: "same", prefix: false }).printObjectProperty(key, diff.sames.get(key), align);
  }
  private printAdd(v: unknown, title: (p: Printer) => void): void {
    const p = this.with({ op: "create", prefix: true });
    title(p);
    p.printPropertyValue(v);
  }
  private printDelete(v: unknown, title: (p: Printer) => void): void {
    const p = this.with({ op: "delete", prefix: true });
    title(p);
    p.printPropertyValue(v);
  }
  private printValueDiff(title: (p: Printer) => void, diff: ValueDiff): void {
    const p = this.with({ op: "update", prefix: true });
    if (diff.array) {
      title(p);
      p.write("[\n");
      const a = diff.array;
      for (let i = 0; i < a.length; i++) {
        const element = p.indented(2);
        const elementTitle = (q: Printer) => q.indented(-1).writeIndented(`[${i}]: `);
        if (a.adds.has(i)) element.printAdd(a.adds.get(i), elementTitle);
        else if (a.deletes.has(i)) element.printDelete(a.deletes.get(i), elementTitle);
        else if (a.updates.has(i)) element.printValueDiff(elementTitle, a.updates.get(i)!);
        else if (a.sames.has(i)) {
          const same = element.with({ op: "same", prefix: false });
          elementTitle(same);
          same.printPropertyValue(a.sames.get(i));
        }
      }
      p.writeUnprefixedIndented("]\n");
    } else if (diff.object) {
      title(p);
      p.write("{\n");
      p.indented(1).printObjectDiff(diff.object);
      p.writeUnprefixedIndented("}\n");
    } else {
      const printOld = shouldPrint(diff.old);
      const printNew = shouldPrint(diff.new);
      if (printOld && printNew && isPrimitive(diff.old) && isPrimitive(diff.new)) {
        // Strings go through a character diff that, without colour, reads "old" => "new".
        title(p);
        p.with({ op: "delete" }).printPrimitive(diff.old);
        p.write(" => ");
        p.with({ op: "create" }).printPrimitive(diff.new);
        p.write("\n");
        return;
      }
      if (printOld) p.printDelete(diff.old, title);
      if (printNew) p.printAdd(diff.new, title);
    }
  }
}

/** `decodeValue`: a string that is a whole JSON object or array is shown decoded, as "(json) {…}". */
function decodeJson(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Resource blocks of `--diff` (diff.go: renderDiff, renderDiffResourceOutputsEvent)

export interface ResourceView {
  inputs: PropertyMap;
  outputs?: PropertyMap;
}

export interface StepView {
  op: StepOp;
  urn: string;
  type: string;
  id?: string;
  /** Visible parents above it: 0 for the stack, 1 for its children (`getIndent`). */
  indent: number;
  old?: ResourceView;
  new?: ResourceView;
}

/** `getResourcePropertiesSummary`: the "~ type: (update)" line and its [id=…], [urn=…]. */
function summary(step: StepView): string {
  const lines = [
    `${indentation(step.indent, step.op, false)}${RAW_PREFIX[step.op]}${step.type}: (${step.op})\n`,
  ];
  const simple = step.op === "create" || step.op === "delete" ? step.op : "same";
  if (step.old && step.id) lines.push(`${indentation(step.indent + 1, simple, false)}[id=${step.id}]\n`);
  lines.push(`${indentation(step.indent + 1, simple, false)}[urn=${step.urn}]\n`);
  return lines.join("");
}

/**
 * What `--diff` prints when a step starts (`renderDiffResourcePreEvent`): the summary, then for a
 * change the old inputs against the new ones (`getResourcePropertiesDetails`, `printOldNewDiffs`:
 * a dynamic provider returns no detailed diff, so this is all a reviewer sees). Same steps are not
 * shown (`shouldShow` without --show-sames), except the stack's.
 */
export function renderStepDiff(step: StepView, planning: boolean): string {
  const out: string[] = [summary(step)];
  if (step.op === "same") return out.join("");
  const indent = step.indent + 1;
  const printer = new Printer(out, indent, step.op, false, planning);
  if (!step.old && step.new) {
    printer.printObject(
      step.new.outputs && Object.keys(step.new.outputs).length > 0 ? step.new.outputs : step.new.inputs,
    );
  } else if (step.old && !step.new) {
    printer.printObject(step.old.inputs);
  } else if (step.old && step.new) {
    const olds =
      step.new.outputs && Object.keys(step.new.outputs).length > 0
        ? (step.old.outputs ?? {})
        : step.old.inputs;
    const news =
      step.new.outputs && Object.keys(step.new.outputs).length > 0 ? step.new.outputs : step.new.inputs;
    const diff = diffObjects(olds, news);
    if (diff) new Printer(out, indent, step.op, true, planning).printObjectDiff(diff);
    else new Printer(out, indent, "same", true, planning).printObject(news);
  }
  return out.join("");
}

/**
 * What `--diff` prints when a step's outputs are known (`renderDiffResourceOutputsEvent` and
 * `getResourceOutputsPropertiesString`): in a preview only a refresh's (and the stack's); a refresh
 * whose outputs changed gets its summary and the changed outputs; otherwise outputs that differ from
 * the inputs or from the old outputs, under "--outputs:--".
 */
export function renderStepOutputs(
  step: StepView,
  planning: boolean,
  refresh: boolean,
  isStack = false,
): string {
  const text = outputsText(step, planning, refresh, isStack);
  const head = refresh && (step.op !== "refresh" || text !== "" || isStack) ? summary(step) : "";
  return text === "" ? head : `${head}${indentation(step.indent + 1, step.op, false)}--outputs:--\n${text}`;
}

function outputsText(step: StepView, planning: boolean, refresh: boolean, isStack: boolean): string {
  // During an update the stack's outputs are all shown; in a preview only a refresh's, a read's and
  // the stack's are known.
  const showSames = isStack && !planning;
  if (planning && !refresh && !isStack) return "";
  const ins = step.new?.inputs ?? {};
  const outs = step.new?.outputs ?? {};
  const outputDiff = step.old?.outputs ? diffObjects(step.old.outputs, outs) : undefined;
  if (step.old?.outputs && !outputDiff && !showSames) return "";
  const keys = outputDiff
    ? stableKeys([
        ...outputDiff.adds.keys(),
        ...outputDiff.deletes.keys(),
        ...outputDiff.sames.keys(),
        ...outputDiff.updates.keys(),
      ])
    : stableKeys(Object.keys(outs).filter((k) => outs[k] !== undefined));
  const align = Math.max(0, ...keys.map((k) => k.length));
  const out: string[] = [];
  const printer = new Printer(out, step.indent + 1, step.op, false, planning);
  for (const key of keys) {
    if (!outputDiff && (isInternal(key) || !shouldPrint(outs[key]))) continue;
    // An output equal to its input is not repeated, except in a refresh.
    if (!refresh && key in ins && deepEquals(outs[key], ins[key])) continue;
    if (!showSames && outputDiff?.sames.has(key)) continue;
    if (outputDiff) printer.printObjectPropertyDiff(key, align, outputDiff);
    else printer.printObjectProperty(key, outs[key], align);
  }
  return out.join("");
}

// ---------------------------------------------------------------------------------------------
// The progress display's rows, diagnostics and summary (progress.go, diff.go)

/**
 * A row of the non-interactive progress display once its step is done: prefix, type, name, and the
 * status — in a preview the plan ("update"; nothing for same), in an update the past tense, and
 * "**updating failed**" for a failure (`getStepDoneDescription`, `getPreviewDoneText`).
 */
export function renderRow(
  op: StepOp,
  type: string,
  name: string,
  status: { planning: boolean; failed?: boolean; seconds?: number },
): string {
  let text: string;
  if (status.failed) {
    const ing: Record<StepOp, string> = {
      same: "failed",
      create: "creating failed",
      update: "updating failed",
      delete: "deleting failed",
      replace: "replacing failed",
      refresh: "refreshing failed",
    };
    text = `**${ing[op]}**`;
  } else if (status.planning) text = op === "same" ? "" : op;
  else text = op === "same" ? "" : PAST_TENSE[op];
  const took = !status.planning && !status.failed && op !== "same" && status.seconds !== undefined;
  return ` ${RAW_PREFIX[op]} ${type} ${name} ${text}${took ? ` (${Math.round(status.seconds!)}s)` : ""}`.trimEnd();
}

/** The "Diagnostics:" section: each resource's messages under "  type (name):", as `printDiagnostics`. */
export function renderDiagnostics(groups: Array<{ type: string; name: string; messages: string[] }>): string {
  const shown = groups.filter((g) => g.messages.length > 0);
  if (shown.length === 0) return "";
  const lines = ["Diagnostics:"];
  for (const group of shown) {
    lines.push(`  ${group.type} (${group.name}):`);
    for (const message of group.messages)
      for (const line of message.split("\n")) lines.push(`    ${line}`.trimEnd());
    lines.push("");
  }
  return lines.join("\n");
}

/**
 * `renderSummaryEvent`: "Resources:", a line per kind of change ("~ 1 to update" in a preview,
 * "~ 1 updated" after), "N changes" when there are two kinds or more, "N unchanged", "N errored".
 */
export function renderSummary(
  counts: Partial<Record<StepOp, number>>,
  preview: boolean,
  errored: number,
): string {
  const lines = ["Resources:"];
  let kinds = 0;
  let changes = 0;
  for (const op of STEP_OPS) {
    const n = counts[op] ?? 0;
    if (op === "same" || n === 0) continue;
    kinds++;
    changes += n;
    lines.push(`    ${RAW_PREFIX[op]}${n} ${preview ? "to " : ""}${preview ? op : PAST_TENSE[op]}`);
  }
  const pieces: string[] = [];
  if (kinds >= 2) pieces.push(`${changes} ${changes === 1 ? "change" : "changes"}`);
  if (counts.same) pieces.push(`${counts.same} unchanged`);
  if (pieces.length > 0) lines.push(`    ${pieces.join(". ")}`);
  if (errored > 0) lines.push(`    ${errored} errored`);
  return lines.join("\n");
}

/** Stack outputs as the "Outputs:" section prints them (`PrintObject` at indent 1). */
export function renderOutputs(outputs: PropertyMap): string {
  const out: string[] = ["Outputs:\n"];
  new Printer(out, 1, "same", false, false).printObject(outputs);
  return out.join("").trimEnd();
}
