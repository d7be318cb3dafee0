/**
 * Reads sent together and answered by name. One round trip carries what several parts of a step
 * want to know (the device listing, an end's boot files and MSS rule, a health probe); each part
 * names its group of commands and gets back the outcomes of that group alone, whatever else rode
 * along and in whatever order it was laid out. Pure.
 *
 * @packageDocumentation
 */
import type { CommandOutcome, RemoteCommand } from "../model/command";

/** Groups of commands, each under its name. */
export type ReadGroups<K extends string = string> = Partial<Record<K, readonly RemoteCommand[]>>;

/** The outcomes of each group sent, under its name (a group not sent is absent). */
export type GroupOutcomes<K extends string = string> = Partial<Record<K, CommandOutcome[]>>;

/** Groups laid out as one list of commands, and how to give each group its outcomes back. */
export interface LaidOut<K extends string> {
  commands: RemoteCommand[];
  byName(outcomes: readonly CommandOutcome[]): GroupOutcomes<K>;
}

/**
 * Lays groups out for one round trip. Groups made only of concurrent probes go last, so that they
 * form the trailing run the transport starts together (a ping must not wait behind a read).
 */
export function layOut<K extends string>(groups: ReadGroups<K>): LaidOut<K> {
  const named = (Object.entries(groups) as Array<[K, readonly RemoteCommand[] | undefined]>).filter(
    (entry): entry is [K, readonly RemoteCommand[]] => entry[1] !== undefined,
  );
  const probes = (commands: readonly RemoteCommand[]) =>
    commands.length > 0 && commands.every((c) => c.concurrent === true);
  const ordered = [...named.filter(([, c]) => !probes(c)), ...named.filter(([, c]) => probes(c))];
  const spans: Array<[K, number, number]> = [];
  const commands: RemoteCommand[] = [];
  for (const [name, group] of ordered) {
    spans.push([name, commands.length, commands.length + group.length]);
    commands.push(...group);
  }
  return {
    commands,
    byName(outcomes) {
      if (outcomes.length !== commands.length) {
        throw new Error(
          `expected ${commands.length} outcomes for ${spans.length} groups of reads, got ${outcomes.length}`,
        );
      }
      const result: GroupOutcomes<K> = {};
      for (const [name, from, to] of spans) result[name] = outcomes.slice(from, to);
      return result;
    },
  };
}

/** The outcomes of group `name`, which the caller sent (a bug when absent). */
export function outcomesOf<K extends string>(outcomes: GroupOutcomes<K>, name: K): CommandOutcome[] {
  const found = outcomes[name];
  if (found === undefined) throw new Error(`no outcomes for reads "${name}": they were not sent`);
  return found;
}
