/**
 * Reading a router's tunnel-relevant state in one round trip: every link with details, every
 * address, and whether the kernel can do GRE now. Extra reads (an end's boot files, a reachability
 * ping) ride along in the same round trip, each group under its own name.
 *
 * @packageDocumentation
 */
import { parseIpAddr, parseIpLink } from "../commands/iproute2/parseIp";
import type { RouterObservation } from "../commands/iproute2/planTunnel";
import type { Connection } from "../model/connection";
import { outcomeFailed } from "../transport/errors";
import { routerLabel } from "../transport/connection";
import type { RecordedHostKeys } from "../transport/roundTripTypes";
import type { CommandOutcome, RemoteCommand } from "../model/command";
import { changeThenRead } from "./applyOnRouter";
import { layOut, type GroupOutcomes, type ReadGroups } from "./keyedReads";

/** The commands that read a router's links, addresses and GRE support. */
export function observationCommands(): RemoteCommand[] {
  return [
    // One process for both: with -d, `addr show` prints each link's details as `link show` does.
    { argv: ["ip", "-d", "-j", "addr", "show"] },
    // Loaded or built in, ip_gre has a directory here (its parameters).
    { argv: ["test", "-d", "/sys/module/ip_gre"], mayFail: true },
    // The same for GRE over IPv6.
    { argv: ["test", "-d", "/sys/module/ip6_gre"], mayFail: true },
  ];
}

/** Turns the outcomes of {@link observationCommands} into an observation. */
export function parseObservation(router: string, outcomes: CommandOutcome[]): RouterObservation {
  const [devices, gre, gre6] = outcomes;
  if (devices.exitCode !== 0) {
    throw outcomeFailed(router, devices);
  }
  return {
    links: parseIpLink(devices.stdout),
    addresses: parseIpAddr(devices.stdout),
    greAvailable: gre.exitCode === 0,
    gre6Available: gre6.exitCode === 0,
  };
}

/** What {@link observeRouter} returns. */
export interface RouterView<K extends string = string> {
  observation: RouterObservation;
  hostKey: string;
  jumpHostKey?: string;
  /** Outcomes of the extra reads, by the names they were sent under. */
  extra: GroupOutcomes<K>;
}

/** The name the device listing travels under; the extra reads' names are the caller's. */
export const OBSERVATION = "@observation";

/** Reads the router (plus `extra` reads, by name) in one round trip. */
export async function observeRouter<K extends string = never>(
  connection: Connection,
  recorded: RecordedHostKeys,
  extra: ReadGroups<K> = {},
): Promise<RouterView<K>> {
  const laid = layOut<K | typeof OBSERVATION>({
    [OBSERVATION]: observationCommands(),
    ...extra,
  } as ReadGroups<K | typeof OBSERVATION>);
  // Only reads (and pings): they may share a round trip with other resources reading this router.
  const result = await changeThenRead(connection, [], laid.commands, recorded);
  const { [OBSERVATION]: base, ...rest } = laid.byName(result.reads);
  return {
    observation: parseObservation(routerLabel(connection), base!),
    hostKey: result.hostKey,
    jumpHostKey: result.jumpHostKey,
    extra: rest as GroupOutcomes<K>,
  };
}
