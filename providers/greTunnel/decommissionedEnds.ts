/**
 * A tunnel with an end on a decommissioned router (see `../decommissioned`): that end is never
 * contacted. Nothing is created or changed on it; on delete it is dropped from the state with a
 * notice, and the live end, if any, is removed alone (there is no pair left to keep in step).
 *
 * @packageDocumentation
 */
import { planRemove } from "../../commands/iproute2/planTunnel";
import type { TunnelEndSpec } from "../../commands/iproute2/tunnelCommands";
import type { NormalizedGreTunnel } from "../../model/greTunnel";
import { changeThenRead } from "../applyOnRouter";
import { decommissionedError, decommissionedNotice, isDecommissioned } from "../decommissioned";
import { notice } from "../notices";
import { both } from "../pairOperation";
import { observeRouter, type RouterView } from "../observeRouter";
import type { ReadGroups } from "../keyedReads";
import { recordedPair, type Pair } from "./ends";
import { extrasChanges, parseExtras } from "./extras/extras";
import { endLabels, endName, endSpecs } from "./spec";

/** Which ends are on a decommissioned router. */
export function goneEnds(t: NormalizedGreTunnel): Pair<boolean> {
  return both((i) => isDecommissioned(t.endpoints[i].connection));
}

/** Refuses a create or update that would touch a decommissioned router. */
export function refuseDecommissioned(t: NormalizedGreTunnel): void {
  const i = goneEnds(t).indexOf(true);
  if (i >= 0) throw decommissionedError(`GRE tunnel ${t.name}`, t.endpoints[i].connection);
}

/** What removes the end `spec` of tunnel `name` as its router has it: the device, its boot files and MSS rule. */
export function removalOf(name: string, spec: TunnelEndSpec, view: RouterView) {
  const plan = planRemove(spec, view.observation);
  return [
    ...(plan.action === "remove" ? plan.commands : []),
    // Its boot files and MSS rule go with it (they are this resource's, by name and mark).
    ...extrasChanges(spec, { persist: false }, parseExtras(name, view.extra), true),
  ];
}

/**
 * Deletes a tunnel with at least one end on a decommissioned router; false when no end is.
 * `reads` are the extra reads a delete needs on the live end.
 */
export async function deleteAroundGoneEnds(
  t: NormalizedGreTunnel,
  what: string,
  reads: Pair<ReadGroups>,
): Promise<boolean> {
  const gone = goneEnds(t);
  if (!gone.includes(true)) return false;
  for (const i of [0, 1] as const)
    if (gone[i]) notice(decommissionedNotice(`${t.name}'s end`, t.endpoints[i].connection));
  if (gone[0] && gone[1]) return true;
  const i = gone[0] ? 1 : 0;
  const recorded = recordedPair(t)[i];
  const view = await observeRouter<string>(t.endpoints[i].connection, recorded, reads[i]).catch(
    (error: Error) => {
      throw new Error(
        `${what}: nothing was removed from ${endLabels(t)[i]}, and the tunnel stays in the state: ${error.message}`,
      );
    },
  );
  const changes = removalOf(endName(t, i), endSpecs(t)[i], view);
  if (changes.length > 0) await changeThenRead(t.endpoints[i].connection, changes, [], recorded);
  return true;
}
