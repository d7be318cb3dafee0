/**
 * What the routers say about a tunnel, for people: each end's state as the resource's outputs
 * record it (with drift), and the diagnosis of a tunnel that does not carry traffic — keys that do
 * not mirror, a remote that is not the peer (NAT), GRE unavailable, a local address the router does
 * not have, an underlay that does not reach. Pure: given what both routers printed.
 *
 * @packageDocumentation
 */
import {
  collisionWords,
  endDifferences,
  findCollisions,
  observeEnd,
  type RouterObservation,
} from "./planTunnel";
import { greSupport, preflightProblems } from "./greSupport";
import type { TunnelEndSpec } from "./tunnelCommands";
import { excerpt } from "../../transport/errors";
import type { CommandOutcome } from "../../model/command";
import type { TunnelEndState } from "../../model/endState";

/** One end's state, from what its router reported. */
export function endState(
  router: string,
  host: string,
  spec: TunnelEndSpec,
  observation: RouterObservation,
): TunnelEndState {
  const end = observeEnd(spec.name, observation);
  const { link } = end;
  const support = greSupport(spec.mode ?? "gre", observation);
  const address = end.addresses[0];
  return {
    router,
    host,
    present: !!link,
    up: link?.up ?? false,
    ifindex: link?.ifindex ?? null,
    local: link?.local ?? null,
    remote: link?.remote ?? null,
    ikey: link?.ikey ?? null,
    okey: link?.okey ?? null,
    ttl: link?.ttl ?? null,
    mtu: link?.mtu ?? null,
    address: address?.local ?? null,
    peerAddress: address?.peer ?? null,
    drift: [
      ...endDifferences(spec, end),
      // Another device the kernel gives this end's incoming packets to (made by hand beside ours).
      ...findCollisions(spec, observation).map(
        (other) =>
          `${collisionWords(spec, other)}, so ${other.name} can take ${spec.name}'s traffic: remove ${other.name} or give ${spec.name} another key`,
      ),
      // A missing end says why when the router cannot have it (after a reboot without ip_gre).
      ...(!link && !support.available ? [support.said] : []),
    ].map((d) => `${router}: ${d}`),
  };
}

/** What one router showed when a tunnel failed: its observation and an underlay ping, or why it could not be read. */
export type EndView =
  { observation: RouterObservation; underlayPing: CommandOutcome } | { unreadable: string };

/** What a command printed, short (a ping's summary). */
export function said(outcome: CommandOutcome, fallback: string): string {
  return excerpt(outcome.stdout + outcome.stderr, 200) || fallback;
}

/** Why a tunnel does not carry traffic, as far as what the routers have tells. */
export interface Diagnosis {
  /** Each names the router it is about. */
  findings: string[];
  /**
   * Whether a finding alone explains it (an end unreadable, GRE unavailable, a local address the
   * router does not have, keys that do not mirror): a probe of the traffic would tell no more.
   */
  explained: boolean;
  /** The findings that an underlay ping failed (a moment's loss, if traffic crosses after). */
  unreached: string[];
}

/**
 * Why a tunnel between two routers does not carry traffic, from both ends' point of view: each
 * finding names the router it is about.
 */
export function diagnoseTunnel(
  specs: [TunnelEndSpec, TunnelEndSpec],
  labels: [string, string],
  views: [EndView, EndView],
): Diagnosis {
  const findings: string[] = [];
  const unreached: string[] = [];
  let explained = false;
  const [a, b] = views.map((v, i) =>
    "unreadable" in v ? undefined : observeEnd(specs[i].name, v.observation).link,
  );
  views.forEach((view, i) => {
    if ("unreadable" in view) {
      findings.push(`${labels[i]}: could not be inspected: ${view.unreadable}`);
      explained = true;
      return;
    }
    // An end that exists with the declared local address had it when it was made.
    const made = [a, b][i]?.local === specs[i].local;
    const problems = preflightProblems(specs[i], view.observation, made);
    if (problems.length > 0) explained = true;
    findings.push(...problems.map((p) => `${labels[i]}: ${p}`));
    const { local, remote } = specs[i];
    if (view.underlayPing.exitCode === 0) {
      findings.push(`${labels[i]}: the underlay reaches ${remote} from ${local}`);
    } else {
      const line = `${labels[i]}: the underlay does not reach ${remote} from ${local} (${said(view.underlayPing, "no reply")})`;
      findings.push(line);
      unreached.push(line);
    }
  });
  if (a && b) {
    if (a.okey !== b.ikey || b.okey !== a.ikey) {
      explained = true;
      findings.push(
        `keys do not mirror: ${labels[0]} sends key ${a.okey ?? "none"} and expects ${a.ikey ?? "none"}, ` +
          `${labels[1]} sends key ${b.okey ?? "none"} and expects ${b.ikey ?? "none"}`,
      );
    }
    for (const [self, peer, i] of [
      [a, b, 0],
      [b, a, 1],
    ] as const) {
      if (self.remote !== peer.local) {
        findings.push(
          `${labels[i]} sends to ${self.remote}, but ${labels[1 - i]}'s tunnel starts at ${peer.local}: ` +
            `right only if ${labels[1 - i]} is behind a NAT whose public address is ${self.remote} and that forwards GRE (IP protocol 47); ` +
            `many NATs cannot, and then a GRE tunnel cannot cross it`,
        );
      }
    }
  }
  return { findings, explained, unreached };
}
