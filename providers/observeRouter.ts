/**
 * Reading a router's tunnel-relevant state in one round trip: every link with details, every
 * address, and whether the kernel can do GRE now. Extra commands (a reachability ping) ride along
 * in the same round trip.
 *
 * @packageDocumentation
 */
import { parseIpAddr, parseIpLink } from "../commands/iproute2/parseIp";
import type { RouterObservation } from "../commands/iproute2/planTunnel";
import type { Connection } from "../transport/connection";
import { outcomeFailed } from "../transport/errors";
import { routerLabel } from "../transport/connection";
import type { RecordedHostKeys } from "../transport/roundTripTypes";
import type { CommandOutcome, RemoteCommand } from "../model/command";
import { changeThenRead } from "./applyOnRouter";

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
export interface RouterView {
  observation: RouterObservation;
  hostKey: string;
  jumpHostKey?: string;
  /** Outcomes of the extra commands, in order. */
  extra: CommandOutcome[];
}

/** Reads the router (plus `extra` commands) in one round trip. */
export async function observeRouter(
  connection: Connection,
  recorded: RecordedHostKeys,
  extra: RemoteCommand[] = [],
): Promise<RouterView> {
  const base = observationCommands();
  // Only reads (and pings): they may share a round trip with other resources reading this router.
  const result = await changeThenRead(connection, [], [...base, ...extra], recorded);
  return {
    observation: parseObservation(routerLabel(connection), result.reads.slice(0, base.length)),
    hostKey: result.hostKey,
    jumpHostKey: result.jumpHostKey,
    extra: result.reads.slice(base.length),
  };
}
