/**
 * An extra's boot unit of ours (with `persist`: the MSS clamp's, the IPsec guard's), by unit name:
 * wanted with a content (the clamp's from its rule, firewall and family), written and enabled, read
 * back (file and enablement), disabled and removed when not wanted, and put back as it was by an undo.
 *
 * @packageDocumentation
 */
import {
  clampUnitContent,
  disableUnit,
  enableUnit,
  enabledUnitsRead,
  parseEnabledUnits,
  reloadSystemd,
  unitFile,
} from "../../../commands/firewall/bootClamp";
import {
  parsePersistedFiles,
  persistChanges,
  persistDrift,
  readPersistedFiles,
  type PersistedFiles,
} from "../../../commands/bootStack/persistedFiles";
import type { Firewall } from "../../../commands/firewall/mssClamp";
import type { RemoteCommand } from "../../../model/command";
import type { IpFamily, TcpMss } from "../../../model/tunnel";
import type { GroupOutcomes, ReadGroups } from "../../keyedReads";

/** What a router has of the boot units: our files, and our units enabled. */
export interface BootUnitsView {
  files: PersistedFiles;
  enabled: string[];
}

/** The unit as wanted: its content, or undefined when it must not be there. */
export type WantedUnit = string | undefined;

/** The unit's content for a clamp `mss` in `firewall` (undefined: none wanted, or no firewall). */
export function wantedUnit(
  name: string,
  mss: TcpMss | undefined,
  persist: boolean,
  firewall: Firewall | undefined,
  family: IpFamily,
): WantedUnit {
  return persist && mss !== undefined && firewall !== undefined
    ? clampUnitContent(name, mss, firewall, family)
    : undefined;
}

/** The reads (under `boot.*`): all our boot files and the units enabled, shared by every end. */
export function bootUnitReads(): ReadGroups {
  return { boot: [readPersistedFiles(), enabledUnitsRead()] };
}

/** What was found, from the reads' outcomes (undefined: not read). */
export function parseBootUnits(outcomes: GroupOutcomes): BootUnitsView | undefined {
  if (!outcomes.boot) return undefined;
  const [files, enabled] = outcomes.boot;
  return { files: parsePersistedFiles(files.stdout), enabled: parseEnabledUnits(enabled.stdout) };
}

/** The changes that make boot unit `unit` as wanted (enabled with it; disabled before it goes). */
export function bootUnitChanges(unit: string, content: WantedUnit, view: BootUnitsView): RemoteCommand[] {
  const file = [{ path: unitFile(unit), content }];
  const enabled = view.enabled.includes(unit);
  if (content !== undefined) {
    return [...persistChanges(file, view.files), ...(enabled ? [] : [enableUnit(unit)])];
  }
  const there = view.files.has(unitFile(unit));
  if (!there && !enabled) return [];
  return [disableUnit(unit), ...persistChanges(file, view.files), reloadSystemd()];
}

/**
 * Whether the unit is there as written for `content` and enabled; null when persist is off and
 * nothing of it is there.
 */
export function bootUnitPersisted(
  unit: string,
  content: WantedUnit,
  persist: boolean,
  view: BootUnitsView,
): boolean | null {
  const there = view.files.has(unitFile(unit)) || view.enabled.includes(unit);
  if (!persist && !there) return null;
  return content !== undefined && bootUnitDrift(unit, content, view).length === 0;
}

/** How the unit differs from what is wanted, as short phrases. */
export function bootUnitDrift(unit: string, content: WantedUnit, view: BootUnitsView): string[] {
  const enabled = view.enabled.includes(unit);
  return [
    ...persistDrift([{ path: unitFile(unit), content }], view.files),
    ...(content !== undefined && !enabled ? [`${unit} is not enabled at boot`] : []),
    ...(content === undefined && enabled ? [`${unit} should not be enabled`] : []),
  ];
}

/** The changes that put boot unit `unit` back as it was (`before`: its file, and whether it was enabled). */
export function bootUnitRestore(unit: string, before: BootUnitsView, now: BootUnitsView): RemoteCommand[] {
  const content = before.files.get(unitFile(unit));
  if (content === undefined) return bootUnitChanges(unit, undefined, now);
  const wasEnabled = before.enabled.includes(unit);
  const isEnabled = now.enabled.includes(unit);
  return [
    ...persistChanges([{ path: unitFile(unit), content }], now.files),
    ...(wasEnabled && !isEnabled ? [enableUnit(unit)] : []),
    ...(!wasEnabled && isEnabled ? [disableUnit(unit)] : []),
  ];
}
