/**
 * GRE over IPsec as a pair: both ends load their connection (trapped), then one end (see
 * {@link initiator}) brings the SA up, so that two ends starting at once never make two IKE SAs. What `swanctl
 * --initiate` says when it fails names the cause and the router at fault: a key that differs, no
 * common proposal, a peer that does not answer IKE.
 *
 * @packageDocumentation
 */
import { setTimeout as sleep } from "timers/promises";
import { INITIATE_SECONDS, initiate, initiateFailure } from "../../commands/ipsec/swanctl";
import type { NormalizedGreTunnel } from "../../model/greTunnel";
import type { RecordedHostKeys } from "../hostKeys";
import { outcomesOf, type ReadGroups } from "../keyedReads";
import { observeRouter } from "../observeRouter";
import { both } from "../pairOperation";
import { observeBoth, undoEnds, type Pair } from "./ends";
import type { Preflighted } from "./preflight";
import { warning } from "../notices";
import { parseExtras, type ExtrasView } from "./extras/extras";
import { protectedSa, type IpsecView } from "./extras/ipsec";
import { endLabels, endName } from "./spec";

/** What bringing the SA up found: each end's extras read after it, and why it is not up. */
export interface Established {
  extras: Pair<ExtrasView>;
  /** Why GRE is not protected (undefined: it is, or the tunnel has no IPsec). */
  problem?: string;
}

/**
 * The end that brings the SA up: one behind a NAT (the other sends to the NAT's address, not to
 * its own), whose NAT lets its IKE out and the answers back in without a port forward; else the first.
 */
export function initiator(t: Pick<NormalizedGreTunnel, "endpoints">): 0 | 1 {
  const [a, b] = t.endpoints;
  return a.remote !== b.local && b.remote === a.local ? 1 : 0;
}

/** Whether the tunnel has IPsec and its initiating end has no SA protecting GRE. */
export function needsInitiate(t: NormalizedGreTunnel, extras: Pair<ExtrasView>): boolean {
  const view = extras[initiator(t)].ipsec;
  return t.ipsec !== undefined && view !== undefined && protectedSa(view) === undefined;
}

/** How often the ends' SAs are read again while IKE is still at work on one of them. */
const SETTLE_POLL_MS = 500;

/**
 * Whether IKE is still at work on an end: an IKE SA of ours not ESTABLISHED (connecting, rekeying,
 * deleting) or a child SA of it not INSTALLED. Two ESTABLISHED ones (both ends sent GRE at once and
 * each started one) are not: charon keeps both, and GRE passes.
 */
export function negotiating(view: IpsecView | undefined): boolean {
  return (view?.sas ?? []).some(
    (sa) => sa.state !== "ESTABLISHED" || sa.children.some((c) => c !== "INSTALLED"),
  );
}

/** Whether both ends have an SA of ours ESTABLISHED with its child INSTALLED, and none still at work. */
export function agreed(extras: Pair<ExtrasView>): boolean {
  return extras.every(
    (e) => e.ipsec !== undefined && protectedSa(e.ipsec) !== undefined && !negotiating(e.ipsec),
  );
}

/**
 * Brings the SA up from the initiating end when it is not (both ends have their connection loaded), and
 * reads both ends' extras again (`reads`) every {@link SETTLE_POLL_MS} until they agree on it (see
 * {@link agreed}), for at most {@link INITIATE_SECONDS}: while IKE is at work on an end, or after
 * changes (`changed`) or an initiate, until both have it — initiating then if the initiating end
 * lost its SA meanwhile. Both ends' GRE devices send as they come up, so each end's trap may start IKE
 * while the other's does, and a slow router lists its SA later than the other end's `swanctl
 * --initiate` returned: pings sent meanwhile are held or dropped. What was last read is returned;
 * the health check that follows says whether GRE passes. Changes nothing else: the caller decides
 * what a failure undoes.
 */
export async function establish(
  t: NormalizedGreTunnel,
  recorded: Pair<RecordedHostKeys>,
  reads: Pair<ReadGroups>,
  extras: Pair<ExtrasView>,
  changed = false,
): Promise<Established> {
  if (t.ipsec === undefined) return { extras };
  const deadline = Date.now() + INITIATE_SECONDS * 1000;
  const readBoth = async () => {
    const after = await observeBoth(t, recorded, reads);
    return both((e) => parseExtras(endName(t, e), after[e].extra));
  };
  let views = extras;
  let initiated = false;
  for (;;) {
    if (!initiated && needsInitiate(t, views)) {
      const labels = endLabels(t);
      const i = initiator(t);
      const first = await observeRouter<string>(t.endpoints[i].connection, recorded[i], {
        initiate: [initiate(endName(t, i))],
      });
      initiated = true;
      const problem = initiateFailure(outcomesOf(first.extra, "initiate")[0], labels[i], labels[1 - i]);
      views = await readBoth();
      if (problem) return { extras: views, problem };
    }
    const waiting = changed || initiated || views.some((e) => negotiating(e.ipsec));
    if (agreed(views) || !waiting || Date.now() >= deadline) return { extras: views };
    await sleep(SETTLE_POLL_MS);
    views = await readBoth();
  }
}

/**
 * On refresh: when IPsec does not protect GRE although both ends have their connection loaded,
 * the initiating end tries to bring the SA up (as the first GRE packet would), so that drift can name
 * the cause. Ends without charon or their connection say so in their own drift already.
 */
export async function diagnoseIpsec(
  t: NormalizedGreTunnel,
  recorded: Pair<RecordedHostKeys>,
  reads: Pair<ReadGroups>,
  extras: Pair<ExtrasView>,
): Promise<Established> {
  if (!extras.every((e) => e.ipsec?.loaded === true)) return { extras };
  return establish(t, recorded, reads, extras);
}

/**
 * With IPsec, brings the SA up from the initiating end. When it does not come up after changes, both
 * ends are undone and the error names the cause; without changes, a warning does and the outputs
 * record it as drift.
 */
export async function protect(
  what: string,
  t: NormalizedGreTunnel,
  ready: Preflighted,
  extras: Pair<ExtrasView>,
): Promise<Established> {
  const changed = ready.changes.some((c) => c.length > 0);
  const up = await establish(t, ready.seen, ready.reads, extras, changed);
  if (up.problem === undefined) return up;
  if (changed)
    throw new Error(
      `${what}: IPsec did not come up: ${up.problem}.\n${await undoEnds(t, ready.seen, ready.befores)}`,
    );
  warning(
    `${what}: ${t.name} is as declared on both routers but IPsec is not up: ${up.problem}; nothing was changed.`,
  );
  return up;
}
