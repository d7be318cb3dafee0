/**
 * GreTunnel's lifecycle: one resource for both ends of a tunnel. Each step reads like the field
 * note: preflight (GRE available, peer reachable, name free), apply on both routers, verify with a
 * ping across, and undo both ends when anything fails.
 *
 * This object is serialized by Pulumi into the state: it captures no client, key or schema; those
 * are built inside the methods, and credentials come with the inputs.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";
import { observeEnd, planRemove, type RouterObservation } from "../iproute2/planTunnel";
import { pingAcross, pingUnderlay } from "../iproute2/tunnelCommands";
import { diagnoseTunnel, said, type EndView } from "../iproute2/tunnelReport";
import { changeThenRead } from "./applyOnRouter";
import { checkInputs } from "./checkInputs";
import { diffGreTunnel } from "./greTunnelDiff";
import {
  endKeys,
  endLabels,
  endSpecs,
  greTunnelSchema,
  inputsOf,
  normalizeGreTunnel,
  outputsFrom,
  pingingEnds,
  tunnelId,
  type GreTunnelOutputs,
  type NormalizedGreTunnel,
} from "./greTunnelSpec";
import { observationCommands, observeRouter, parseObservation, type RouterView } from "./observeRouter";
import { both, runPair, undoBoth, undoneReport } from "./pairOperation";
import { preflight, wantedExtras, type Preflighted } from "./greTunnelPreflight";
import { observeBoth, recordedPair, restoreEnd, seenPair, type Pair } from "./tunnelEnds";
import { keysToRecord } from "./hostKeys";
import { extrasChanges, extrasReads, extrasToRead, parseExtras, type ExtrasView } from "./tunnelEndExtras";

/**
 * Applies each end's plan on both routers at once, each in one round trip that also reads back
 * what the router has; on failure both ends are put back as they were.
 */
function applyPlans(
  what: string,
  t: NormalizedGreTunnel,
  ready: Preflighted,
): Promise<Pair<{ observation: RouterObservation; extras: ExtrasView }>> {
  const labels = endLabels(t);
  const base = observationCommands();
  return runPair(
    what,
    both((i) => ({
      label: labels[i],
      run: async () => {
        const changes = ready.changes[i];
        if (changes.length === 0) return { observation: ready.observed[i], extras: ready.extras[i] };
        const result = await changeThenRead(
          t.endpoints[i].connection,
          changes,
          [...base, ...extrasReads(ready.reads)],
          ready.seen[i],
        );
        return {
          observation: parseObservation(labels[i], result.reads.slice(0, base.length)),
          extras: parseExtras(t.name, ready.reads, result.reads.slice(base.length)),
        };
      },
      restore: () => restoreEnd(t.endpoints[i].connection, ready.seen[i], t.name, ready.befores[i]),
    })),
  );
}

/** Pings across the tunnel (from one end, or both with NAT in between); on failure, diagnoses, undoes both ends and throws. */
async function verifyOrUndo(what: string, t: NormalizedGreTunnel, ready: Preflighted): Promise<void> {
  const specs = endSpecs(t);
  const labels = endLabels(t);
  const pings = await Promise.all(
    pingingEnds(t).map(async (i) => {
      const end = t.endpoints[i];
      const result = await changeThenRead(
        end.connection,
        [],
        [pingAcross(end.address, end.peerAddress)],
        ready.seen[i],
      );
      return { ping: result.reads[0], i };
    }),
  );
  const failed = pings.filter(({ ping }) => ping.exitCode !== 0);
  if (failed.length === 0) return;
  const seen = failed.map(
    ({ ping, i }) =>
      `${labels[i]}: \`ping -I ${t.endpoints[i].address} ${t.endpoints[i].peerAddress}\` got no reply (${said(ping, "")})`,
  );
  const views = await Promise.all(
    both((i): Promise<EndView> =>
      observeRouter(t.endpoints[i].connection, ready.seen[i], [
        pingUnderlay(specs[i].local, specs[i].remote),
      ]).then(
        (v) => ({ observation: v.observation, underlayPing: v.extra[0] }),
        (e: Error) => ({ unreadable: e.message }),
      ),
    ),
  );
  const findings = diagnoseTunnel(t.name, specs, labels, views as Pair<EndView>);
  const undone = await undoBoth(
    both((i) => ({
      label: labels[i],
      restore: () => restoreEnd(t.endpoints[i].connection, ready.seen[i], t.name, ready.befores[i]),
    })),
  );
  throw new Error(
    `${what}: the tunnel does not carry traffic.\n${seen.map((s) => `  ${s}`).join("\n")}\n` +
      `What was seen:\n${findings.map((f) => `  - ${f}`).join("\n")}\n${undoneReport(undone)}`,
  );
}

/** Preflight, apply, verify: what create and update share. */
async function converge(
  what: string,
  t: NormalizedGreTunnel,
  previous: GreTunnelOutputs | undefined,
  mode: "create" | "converge",
): Promise<GreTunnelOutputs> {
  const ready = await preflight(what, t, previous, mode);
  let observed = ready.observed;
  let extras = ready.extras;
  if (ready.changes.some((c) => c.length > 0)) {
    const applied = await applyPlans(what, t, ready);
    observed = both((i) => applied[i].observation);
    extras = both((i) => applied[i].extras);
    if (t.verify && ready.plans.some((p) => p.action !== "none")) await verifyOrUndo(what, t, ready);
  }
  return outputsFrom(
    t,
    both((i) => keysToRecord(t.endpoints[i].connection, ready.seen[i], endKeys(previous, i))),
    observed,
    extras,
  );
}

function describe(verb: string, t: NormalizedGreTunnel): string {
  const labels = endLabels(t);
  return `${verb} GRE tunnel ${t.name} between ${labels[0]} and ${labels[1]}`;
}

/**
 * The dynamic provider behind {@link GreTunnel}. Exported for the provider-host tests; programs
 * use the resource class.
 */
export const greTunnelProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    return checkInputs(greTunnelSchema(), news, normalizeGreTunnel);
  },

  async diff(_id, olds, news) {
    const result = diffGreTunnel(olds as Partial<GreTunnelOutputs>, news as unknown as NormalizedGreTunnel);
    return {
      changes: result.changes,
      replaces: result.replaces,
      deleteBeforeReplace: result.deleteBeforeReplace,
    };
  },

  async create(inputs) {
    const t = inputs as unknown as NormalizedGreTunnel;
    return {
      id: tunnelId(t),
      outs: await converge(describe("creating", t), t, undefined, "create"),
    };
  },

  async read(id, props) {
    const t = props as unknown as GreTunnelOutputs;
    const reads = extrasToRead(wantedExtras(t));
    const views = await observeBoth(
      t,
      recordedPair(t),
      both(() => extrasReads(reads)),
    );
    const seen = seenPair(views);
    const outs = outputsFrom(
      t,
      both((i) => keysToRecord(t.endpoints[i].connection, seen[i], endKeys(t, i))),
      both((i) => views[i].observation),
      both((i) => parseExtras(t.name, reads, views[i].extra)),
    );
    return {
      id,
      props: outs as unknown as Record<string, unknown>,
      inputs: inputsOf(t) as unknown as Record<string, unknown>,
    };
  },

  async update(_id, olds, news) {
    const old = olds as unknown as GreTunnelOutputs;
    const t = news as unknown as NormalizedGreTunnel;
    return { outs: await converge(describe("updating", t), t, old, "converge") };
  },

  async delete(_id, props) {
    const t = props as unknown as GreTunnelOutputs;
    const specs = endSpecs(t);
    const labels = endLabels(t);
    const what = describe("deleting", t);
    const reads = extrasToRead({ persist: false }, wantedExtras(t));
    let views: Pair<RouterView>;
    try {
      views = await observeBoth(
        t,
        recordedPair(t),
        both(() => extrasReads(reads)),
      );
    } catch (error) {
      throw new Error(
        `${what}: nothing was removed from either router, and the tunnel stays in the state: ${(error as Error).message}`,
      );
    }
    const plans = both((i) => planRemove(specs[i], views[i].observation));
    const extras = both((i) => parseExtras(t.name, reads, views[i].extra));
    const befores = both((i) => ({
      end: observeEnd(specs[i].name, views[i].observation),
      reads,
      extras: extras[i],
    }));
    await runPair(
      what,
      both((i) => ({
        label: labels[i],
        run: async () => {
          const plan = plans[i];
          const changes = [
            ...(plan.action === "remove" ? plan.commands : []),
            // Its boot files and MSS rule go with it (they are this resource's, by name and mark).
            ...extrasChanges(specs[i], { persist: false }, extras[i], true),
          ];
          if (changes.length > 0)
            await changeThenRead(t.endpoints[i].connection, changes, [], recordedPair(t)[i]);
        },
        restore: () => restoreEnd(t.endpoints[i].connection, recordedPair(t)[i], t.name, befores[i]),
      })),
    );
  },
};
