/**
 * GreTunnel's preflight, both ends at once, before anything changes: what each router has (the
 * device, its boot files and MSS rule), the plan for each end, and every reason it cannot be
 * applied. Nothing here changes a router.
 *
 * @packageDocumentation
 */
import {
  observeEnd,
  planEnd,
  type EndPlan,
  type RouterObservation,
} from "../../commands/iproute2/planTunnel";
import { preflightProblems } from "../../commands/iproute2/greSupport";
import { pingUnderlay } from "../../commands/iproute2/tunnelCommands";
import { said } from "../../commands/iproute2/tunnelReport";
import { parsePing } from "../../commands/health/tunnelHealth";
import { natRange } from "../../schemas/addresses";
import type { CommandOutcome, RemoteCommand } from "../../model/command";
import { endLabels, endName, endSpecs, pingingEnds, type GreTunnelState } from "./spec";
import { type NormalizedGreTunnel } from "../../model/greTunnel";
import type { RecordedHostKeys } from "../hostKeys";
import type { RouterView } from "../observeRouter";
import { both } from "../pairOperation";
import { observeBoth, recordedPair, seenPair, type EndBefore, type Pair } from "./ends";
import {
  extrasBefore,
  extrasChanges,
  extrasProblems,
  extrasToRead,
  parseExtras,
  wantedExtras,
  type ExtrasView,
} from "./extras/extras";
import type { ReadGroups } from "../keyedReads";

/** What preflight found on both routers, ready to apply. */
export interface Preflighted {
  /** The keys both routers presented: expected from here on. */
  seen: Pair<RecordedHostKeys & { hostKey: string }>;
  observed: Pair<RouterObservation>;
  /** Each end's extras' reads, by group (what the inputs and the state mention). */
  reads: Pair<ReadGroups>;
  extras: Pair<ExtrasView>;
  plans: Pair<EndPlan>;
  /** Each end's changes: what must precede the device (the IPsec guard), its plan, then its boot files, MSS rule and IPsec. */
  changes: Pair<RemoteCommand[]>;
  befores: Pair<EndBefore>;
}

/** A ping's outcome in a few words: its replies, or what it said. */
function pingSaid(ping: CommandOutcome): string {
  const summary = parsePing(ping);
  return summary.transmitted > 0
    ? `ping: ${summary.received} of ${summary.transmitted} answered`
    : `ping: ${said(ping, "no reply")}`;
}

/**
 * Preflight, both ends at once: reachable over SSH (with the expected host keys), GRE available,
 * the local address present, the peer reachable over the underlay (the field note's ping, before a
 * create), the name free or an identical tunnel to adopt, no other tunnel the kernel could not tell
 * apart. Throws, with nothing changed on either router, when any end cannot take its plan.
 */
export async function preflight(
  what: string,
  t: NormalizedGreTunnel,
  previous: GreTunnelState | undefined,
  mode: "create" | "converge",
): Promise<Preflighted> {
  const specs = endSpecs(t);
  const labels = endLabels(t);
  const pinging = mode === "create" && t.verify ? pingingEnds(t) : [];
  const wanted = wantedExtras(t);
  const reads = both((i) => extrasToRead(endName(t, i), wanted, previous && wantedExtras(previous)));
  let views: Pair<RouterView>;
  try {
    views = await observeBoth(
      t,
      recordedPair(previous),
      both((i) => ({
        ...reads[i],
        ...(pinging.includes(i) ? { underlayPing: [pingUnderlay(specs[i].local, specs[i].remote)] } : {}),
      })),
    );
  } catch (error) {
    throw new Error(
      `${what}: preflight failed, nothing was changed on either router: ${(error as Error).message}`,
    );
  }
  const plans = both((i) => planEnd(specs[i], views[i].observation, mode));
  const extras = both((i) => parseExtras(endName(t, i), views[i].extra));
  const problems: string[] = [];
  specs.forEach((spec, i) => {
    const plan = plans[i];
    if (plan.action === "conflict") problems.push(`${labels[i]}: ${plan.reason}`);
    if (plan.action !== "none")
      problems.push(...preflightProblems(spec, views[i].observation).map((p) => `${labels[i]}: ${p}`));
    problems.push(...extrasProblems(spec, wanted, extras[i]).map((p) => `${labels[i]}: ${p}`));
    const ping = views[i].extra.underlayPing?.[0];
    if (ping && ping.exitCode !== 0) {
      const range = natRange(spec.remote);
      const peer = labels[i === 0 ? 1 : 0];
      problems.push(
        `${labels[i]}: cannot reach ${spec.remote} from ${spec.local} over the underlay (${pingSaid(ping)}). ` +
          (range
            ? `${spec.remote} is a ${range === "private" ? "private (RFC 1918)" : "shared (RFC 6598, carrier-grade NAT)"} address: ` +
              `${peer} is behind a NAT, which ${labels[i]} cannot reach past. Set remote on ${labels[i]}'s end to the NAT's public ` +
              `address (the NAT must forward GRE, IP protocol 47, to ${peer}) and keep local as ${peer}'s own address`
            : `Make sure the network is ok; if ${peer} is behind a NAT, set remote on ${labels[i]}'s end to the NAT's public address`),
      );
    }
  });
  if (problems.length > 0) {
    throw new Error(
      `${what}: nothing was changed on either router.\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  return {
    seen: seenPair(views),
    observed: both((i) => views[i].observation),
    reads,
    extras,
    plans,
    changes: both((i) => [
      ...extrasBefore(specs[i], wanted, extras[i]),
      ...("commands" in plans[i] ? (plans[i] as { commands: RemoteCommand[] }).commands : []),
      ...extrasChanges(specs[i], wanted, extras[i]),
    ]),
    befores: both((i) => ({
      end: observeEnd(specs[i].name, views[i].observation),
      reads: reads[i],
      extras: extras[i],
    })),
  };
}
