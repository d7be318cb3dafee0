/**
 * Why a tunnel does not carry traffic, asked of both routers: what each has (GRE available, its
 * local address, keys that mirror, a remote that is not the peer — NAT), whether the underlay
 * reaches and routes to the peer, and — when both ends are configured — where GRE disappears,
 * from gre1's counters around pings across and a capture on the receiving router's underlay.
 * Reads and pings only: nothing is changed.
 *
 * @packageDocumentation
 */
import type { RecordedHostKeys } from "../../transport/roundTripTypes";
import type { CommandOutcome } from "../../model/command";
import { healthPings, parsePing, tunnelHealth } from "../../commands/health/tunnelHealth";
import { runOnRouter } from "../../transport";
import { pingAcross, pingUnderlay } from "../../commands/iproute2/tunnelCommands";
import { observeEnd } from "../../commands/iproute2/planTunnel";
import { diagnoseTunnel, said, type EndView } from "../../commands/iproute2/tunnelReport";
import {
  captureCommand,
  countersCommand,
  parseCounters,
  crossedBothWays,
  routeGetCommand,
  trafficFindings,
  type LinkCounters,
} from "../../commands/health/trafficProbe";
import {
  endLabels,
  endSpecs,
  healthEnds,
  pingingEnds,
  pingPair,
  probeMtu,
  type GreTunnelHealth,
} from "./spec";
import { type NormalizedGreTunnel } from "../../model/greTunnel";
import { observeRouter } from "../observeRouter";
import { outcomesOf } from "../keyedReads";
import { both } from "../pairOperation";
import type { Pair } from "./ends";

/** Whether both ends' devices agree: keys mirror and each remote is the other's local. */
function tunnelsAgree(names: string[], views: EndView[]): boolean {
  const [a, b] = views.map((v, i) =>
    "unreadable" in v ? undefined : observeEnd(names[i], v.observation).link,
  );
  return !!a && !!b && a.okey === b.ikey && b.okey === a.ikey && a.remote === b.local && b.remote === a.local;
}

/** How long the receiving router listens for GRE while the other pings across. */
const CAPTURE_SECONDS = 5;

/** Both routers' findings; each names the router it is about. Never throws: what cannot be read is a finding. */
export async function diagnoseTraffic(
  t: Pick<NormalizedGreTunnel, "name" | "key" | "ttl" | "mtu" | "endpoints" | "ipsec">,
  seen: Pair<RecordedHostKeys>,
): Promise<string[]> {
  const specs = endSpecs(t as NormalizedGreTunnel);
  const labels = endLabels(t);
  const connection = (i: 0 | 1) => t.endpoints[i].connection;
  const first = await Promise.all(
    both((i) =>
      observeRouter(connection(i), seen[i], {
        underlayPing: [pingUnderlay(specs[i].local, specs[i].remote)],
        routeGet: [routeGetCommand(specs[i].remote, specs[i].local)],
        counters: [countersCommand(specs[i].name)],
      }).then(
        (v) => ({
          view: {
            observation: v.observation,
            underlayPing: outcomesOf(v.extra, "underlayPing")[0],
          } as EndView,
          extra: {
            underlayPing: outcomesOf(v.extra, "underlayPing")[0],
            routeGet: outcomesOf(v.extra, "routeGet")[0],
            counters: outcomesOf(v.extra, "counters")[0],
          },
        }),
        (e: Error) => ({ view: { unreadable: e.message } as EndView, extra: undefined }),
      ),
    ),
  );
  const diagnosis = diagnoseTunnel(specs, labels, [first[0].view, first[1].view]);
  const findings = diagnosis.findings;
  first.forEach(({ extra }, i) => {
    if (extra && extra.underlayPing.exitCode !== 0 && extra.routeGet.exitCode !== 0) {
      findings.push(
        `${labels[i]}: has no route to ${specs[i].remote} from ${specs[i].local} (ip route get: ${said(extra.routeGet, "failed")})`,
      );
    }
  });
  const before = first.map((f) => (f.extra ? parseCounters(f.extra.counters) : undefined));
  // What the routers have explains it already: a traffic probe would only add a guess beside it.
  if (diagnosis.explained || !before[0] || !before[1]) return findings;

  // From the end that pings in a health check, with the other end listening on its underlay.
  const [s] = pingingEnds(t);
  const r = s === 0 ? 1 : 0;
  try {
    const [capture] = await Promise.all([
      runOnRouter(connection(r), [captureCommand(specs[r].local, CAPTURE_SECONDS)], {
        check: false,
        recorded: seen[r],
      }),
      runOnRouter(connection(s), [{ argv: ["sleep", "1.5"] }, pingAcross(...pingPair(t.endpoints[s]))], {
        check: false,
        recorded: seen[s],
      }),
    ]);
    const after = await Promise.all(
      both((i) =>
        runOnRouter(connection(i), [countersCommand(specs[i].name)], {
          check: false,
          recorded: seen[i],
        }).then((res) => parseCounters(res.outcomes[0])),
      ),
    );
    if (!after[0] || !after[1]) return findings;
    const status = capture.outcomes[0].exitCode;
    const order = (pair: Array<LinkCounters | undefined>): [LinkCounters, LinkCounters] => [
      pair[s]!,
      pair[r]!,
    ];
    const probe = {
      sender: labels[s],
      receiver: labels[r],
      names: [specs[s].name, specs[r].name] as [string, string],
      before: order(before),
      after: order(after),
      captured: status === 0 ? true : status === 124 ? false : undefined,
      agree: tunnelsAgree(
        specs.map((spec) => spec.name),
        first.map((f) => f.view),
      ),
      ...(specs[s].remote !== specs[r].local ? { nat: specs[s].remote } : {}),
      ...(t.ipsec ? { ipsec: true } : {}),
    };
    // Traffic that crossed both ways overrules an underlay ping that failed a moment before.
    if (crossedBothWays(probe))
      return [
        ...findings.filter((f) => !diagnosis.unreached.includes(f)),
        ...trafficFindings(probe),
        ...diagnosis.unreached.map((f) => `${f}, a moment earlier`),
      ];
    findings.push(...trafficFindings(probe));
  } catch (error) {
    findings.push(`the traffic check could not finish: ${(error as Error).message}`);
  }
  return findings;
}

/** The health of a tunnel from each pinging end's probes (`healthPings`' outcomes), with causes when it carries nothing. */
export async function healthFromProbes(
  t: Pick<NormalizedGreTunnel, "name" | "key" | "ttl" | "mtu" | "endpoints" | "ipsec">,
  seen: Pair<RecordedHostKeys>,
  probes: Array<{ i: 0 | 1; outcomes: CommandOutcome[]; mtu: number; deviceMtu?: number }>,
  diagnose = true,
): Promise<GreTunnelHealth> {
  const labels = endLabels(t);
  const health = tunnelHealth(
    probes.map((p) => ({
      router: labels[p.i],
      small: parsePing(p.outcomes[0]),
      large: parsePing(p.outcomes[1]),
    })),
    probes[0].mtu,
    new Date().toISOString(),
  );
  // A probe sized for another MTU than the device has says nothing about the path.
  if (probes.some((p) => p.deviceMtu !== undefined && p.deviceMtu !== p.mtu)) health.fullSize = null;
  return { ...health, causes: health.reachable || !diagnose ? [] : await diagnoseTraffic(t, seen) };
}

/** Pings across the tunnel from the end(s) that ping, small and full size: its health, with causes when it carries nothing. */
export async function checkHealth(
  t: Pick<NormalizedGreTunnel, "name" | "key" | "ttl" | "mtu" | "endpoints" | "ipsec">,
  seen: Pair<RecordedHostKeys>,
  ends?: Array<{ mtu: number | null }>,
): Promise<GreTunnelHealth> {
  const probes = await Promise.all(
    healthEnds({ ...t, verify: true }).map(async (i) => {
      const end = t.endpoints[i];
      const mtu = probeMtu(t, i, ends);
      // Shared with other reads of the router: a hub verifies its new tunnels together.
      const result = await runOnRouter(end.connection, healthPings(...pingPair(end), mtu), {
        check: false,
        recorded: seen[i],
        coalesce: true,
      });
      return { i, outcomes: result.outcomes, mtu };
    }),
  );
  return healthFromProbes(t, seen, probes);
}
