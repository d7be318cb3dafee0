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
import {
  observeEnd,
  planEnd,
  planRemove,
  preflightProblems,
  type EndPlan,
  type ObservedEnd,
  type RouterObservation,
} from "../iproute2/planTunnel";
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
import { observeBoth, recordedPair, restoreEnd, seenPair, type Pair } from "./tunnelEnds";
import { keysToRecord, type RecordedHostKeys } from "./hostKeys";

/** What preflight found on both routers, ready to apply. */
interface Preflighted {
  /** The keys both routers presented: expected from here on. */
  seen: Pair<RecordedHostKeys & { hostKey: string }>;
  observed: Pair<RouterObservation>;
  plans: Pair<EndPlan>;
  befores: Pair<ObservedEnd>;
}

/**
 * Preflight, both ends at once: reachable over SSH (with the expected host keys), GRE available,
 * the local address present, the peer reachable over the underlay (the field note's ping, before a
 * create), the name free or an identical tunnel to adopt, no other tunnel the kernel could not tell
 * apart. Throws, with nothing changed on either router, when any end cannot take its plan.
 */
async function preflight(
  what: string,
  t: NormalizedGreTunnel,
  recorded: Pair<RecordedHostKeys>,
  mode: "create" | "converge",
): Promise<Preflighted> {
  const specs = endSpecs(t);
  const labels = endLabels(t);
  const pinging = mode === "create" && t.verify ? pingingEnds(t) : [];
  let views: Pair<RouterView>;
  try {
    views = await observeBoth(
      t,
      recorded,
      both((i) => (pinging.includes(i) ? [pingUnderlay(specs[i].local, specs[i].remote)] : [])),
    );
  } catch (error) {
    throw new Error(
      `${what}: preflight failed, nothing was changed on either router: ${(error as Error).message}`,
    );
  }
  const plans = both((i) => planEnd(specs[i], views[i].observation, mode));
  const problems: string[] = [];
  specs.forEach((spec, i) => {
    const plan = plans[i];
    if (plan.action === "conflict") problems.push(`${labels[i]}: ${plan.reason}`);
    if (plan.action !== "none")
      problems.push(...preflightProblems(spec, views[i].observation).map((p) => `${labels[i]}: ${p}`));
    const ping = views[i].extra[0];
    if (ping && ping.exitCode !== 0) {
      problems.push(
        `${labels[i]}: cannot reach ${spec.remote} from ${spec.local} over the underlay; make sure the network is ok (ping: ${said(ping, "no reply")})`,
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
    plans,
    befores: both((i) => observeEnd(specs[i].name, views[i].observation)),
  };
}

/**
 * Applies each end's plan on both routers at once, each in one round trip that also reads back
 * what the router has; on failure both ends are put back as they were.
 */
function applyPlans(
  what: string,
  t: NormalizedGreTunnel,
  ready: Preflighted,
): Promise<Pair<RouterObservation>> {
  const labels = endLabels(t);
  return runPair(
    what,
    both((i) => ({
      label: labels[i],
      run: async () => {
        const plan = ready.plans[i];
        if (!("commands" in plan) || plan.commands.length === 0) return ready.observed[i];
        const result = await changeThenRead(
          t.endpoints[i].connection,
          plan.commands,
          observationCommands(),
          ready.seen[i],
        );
        return parseObservation(labels[i], result.reads);
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
  const ready = await preflight(what, t, recordedPair(previous), mode);
  let observed = ready.observed;
  if (ready.plans.some((p) => p.action !== "none")) {
    observed = await applyPlans(what, t, ready);
    if (t.verify) await verifyOrUndo(what, t, ready);
  }
  return outputsFrom(
    t,
    both((i) => keysToRecord(t.endpoints[i].connection, ready.seen[i], endKeys(previous, i))),
    observed,
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
    const views = await observeBoth(t, recordedPair(t));
    const seen = seenPair(views);
    const outs = outputsFrom(
      t,
      both((i) => keysToRecord(t.endpoints[i].connection, seen[i], endKeys(t, i))),
      both((i) => views[i].observation),
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
    let views: Pair<RouterView>;
    try {
      views = await observeBoth(t, recordedPair(t));
    } catch (error) {
      throw new Error(
        `${what}: nothing was removed from either router, and the tunnel stays in the state: ${(error as Error).message}`,
      );
    }
    const plans = both((i) => planRemove(specs[i], views[i].observation));
    const befores = both((i) => observeEnd(specs[i].name, views[i].observation));
    await runPair(
      what,
      both((i) => ({
        label: labels[i],
        run: async () => {
          const plan = plans[i];
          if (plan.action === "remove")
            await changeThenRead(t.endpoints[i].connection, plan.commands, [], recordedPair(t)[i]);
        },
        restore: () => restoreEnd(t.endpoints[i].connection, recordedPair(t)[i], t.name, befores[i]),
      })),
    );
  },
};
