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
import { observeEnd, type RouterObservation } from "../../commands/iproute2/planTunnel";
import { preflightProblems } from "../../commands/iproute2/greSupport";
import { healthPings } from "../../commands/health/tunnelHealth";
import { changeThenRead } from "../applyOnRouter";
import { builtOnce, checkInputs } from "../checkInputs";
import { stateRequired } from "../stateRequired";
import { observedInputs } from "./observedInputs";
import { diffGreTunnel } from "./diff";
import { greTunnelSchema, normalizeGreTunnel } from "./schema";
import {
  endKeys,
  endLabels,
  endName,
  endSpecs,
  inputsOf,
  outputsFrom,
  healthEnds,
  pingPair,
  probeMtu,
  tunnelId,
  type GreTunnelHealth,
  type GreTunnelOutputs,
  type GreTunnelState,
  withLiveConnections,
  inOldShape,
} from "./spec";
import { type NormalizedGreTunnel } from "../../model/greTunnel";
import { OBSERVATION, observationCommands, parseObservation, type RouterView } from "../observeRouter";
import { layOut, outcomesOf } from "../keyedReads";
import { checkHealth, healthFromProbes } from "./diagnosis";
import { warning } from "../notices";
import { both, runPair } from "../pairOperation";
import { preflight, type Preflighted } from "./preflight";
import { observeBoth, recordedPair, restoreEnd, seenPair, undoEnds, type Pair } from "./ends";
import { keysToRecord } from "../hostKeys";
import { configureDecommissioned, withWayOut } from "../decommissioned";
import { deleteAroundGoneEnds, goneEnds, refuseDecommissioned, removalOf } from "./decommissionedEnds";
import { extrasToRead, parseExtras, wantedExtras, type ExtrasView } from "./extras/extras";
import { diagnoseIpsec, protect } from "./ipsecPair";

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
  return runPair(
    what,
    both((i) => ({
      label: labels[i],
      run: async () => {
        const reads = layOut({ [OBSERVATION]: observationCommands(), ...ready.reads[i] });
        const changes = ready.changes[i];
        if (changes.length === 0) return { observation: ready.observed[i], extras: ready.extras[i] };
        const result = await changeThenRead(
          t.endpoints[i].connection,
          changes,
          reads.commands,
          ready.seen[i],
        );
        const outcomes = reads.byName(result.reads);
        return {
          observation: parseObservation(labels[i], outcomesOf(outcomes, OBSERVATION)),
          extras: parseExtras(endName(t, i), outcomes),
        };
      },
      restore: () => restoreEnd(t.endpoints[i].connection, ready.seen[i], endName(t, i), ready.befores[i]),
    })),
  );
}

/**
 * Pings across the tunnel (from one end, or both with NAT in between), small and full size. When
 * small pings get no reply after changes, both ends are undone and the error says why. Without
 * changes (the tunnel is as declared), a warning says why and the health is recorded: the next
 * refresh shows it as drift. Full-size packets lost (an MTU black hole on the path) are recorded.
 */
async function verify(
  what: string,
  t: NormalizedGreTunnel,
  ready: Preflighted,
  changed: boolean,
): Promise<GreTunnelHealth> {
  const labels = endLabels(t);
  const health = await checkHealth(t, ready.seen);
  if (health.reachable) return health;
  const seen = health.from.map(
    (router) =>
      `${router}: \`ping -I ${pingPair(t.endpoints[labels.indexOf(router)]).join(" ")}\` got no reply (${health.loss}% lost)`,
  );
  const report = `${seen.map((s) => `  ${s}`).join("\n")}\nWhat was seen:\n${health.causes.map((f) => `  - ${f}`).join("\n")}`;
  if (!changed) {
    // Nothing pulumi-gre changed broke it, and nothing it could change would mend it: the state says
    // so (health, drift, the stack's no-traffic), the drift check keeps failing, and the run goes on.
    // "As declared" only while each router still has what the end was declared with (its local address).
    const specs = endSpecs(t);
    const asDeclared = both((i) => preflightProblems(specs[i], ready.observed[i], true).length === 0);
    warning(
      `${what}: ` +
        (asDeclared.every(Boolean)
          ? `${t.name} is as declared on both routers but does not carry traffic; nothing was changed.`
          : `${t.name} does not carry traffic, and ${labels[asDeclared.indexOf(false)]} no longer has what its end was declared with; nothing was changed.`) +
        `\n${report}`,
    );
    return health;
  }
  throw new Error(
    `${what}: the tunnel does not carry traffic.\n${report}\n${await undoEnds(t, ready.seen, ready.befores)}`,
  );
}

/** Preflight, apply, verify: what create and update share. */
async function converge(
  what: string,
  t: NormalizedGreTunnel,
  previous: GreTunnelState | undefined,
  mode: "create" | "converge",
): Promise<GreTunnelOutputs> {
  const ready = await preflight(what, t, previous, mode);
  let observed = ready.observed;
  let extras = ready.extras;
  if (ready.changes.some((c) => c.length > 0)) {
    const applied = await applyPlans(what, t, ready);
    observed = both((i) => applied[i].observation);
    extras = both((i) => applied[i].extras);
  }
  const up = await protect(what, t, ready, extras);
  const changedDevice = ready.plans.some((p) => p.action !== "none");
  const health = healthEnds(t).length > 0 ? await verify(what, t, ready, changedDevice) : null;
  return outputsFrom(
    t,
    both((i) => keysToRecord(t.endpoints[i].connection, ready.seen[i], endKeys(previous, i))),
    observed,
    up.extras,
    health,
    up.problem,
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
export const greTunnelProvider: pulumi.dynamic.ResourceProvider<NormalizedGreTunnel, GreTunnelState> = {
  async configure(req) {
    configureDecommissioned(req.config);
  },

  async check(_olds, news) {
    return checkInputs(builtOnce("GreTunnel", greTunnelSchema), news, normalizeGreTunnel);
  },

  async diff(_id, olds, news) {
    // Where the secrets are kept (credentials, or inside the connections) is no change, but a
    // state written by 0.3.0 or earlier is updated once, to move them into credentials (nothing on a router).
    const result = diffGreTunnel(withLiveConnections(olds), withLiveConnections(news));
    return {
      changes: result.changes || olds.credentials === undefined,
      replaces: result.replaces,
      deleteBeforeReplace: result.deleteBeforeReplace,
    };
  },

  async create(inputs) {
    const t = withLiveConnections(inputs);
    refuseDecommissioned(t);
    return {
      id: tunnelId(t),
      outs: await converge(describe("creating", t), t, undefined, "create"),
    };
  },

  async read(id, state) {
    const stored = stateRequired("GreTunnel", id, state);
    const t = withLiveConnections(stored);
    // A state written by 0.3.0 or earlier keeps its shape (the secrets inside its endpoints, which
    // that state holds secret) until an update moves them: read alone must not put them in the clear.
    const oldShape = stored.credentials === undefined;
    // A decommissioned router is not contacted: the tunnel stays as the state has it (its live end
    // is read again once the tunnel is out of the program and deleted).
    if (goneEnds(t).includes(true))
      return { id, props: stored, inputs: oldShape ? inOldShape(inputsOf(t), t) : inputsOf(t) };
    const names = both((i) => endName(t, i));
    const reads = both((i) => extrasToRead(names[i], wantedExtras(t)));
    // The health check rides in the same round trip as the reads (a keepalive GRE itself lacks).
    const pinging = healthEnds(t);
    const mtus = both((i) => probeMtu(t, i, t.ends));
    const views = await observeBoth(
      t,
      recordedPair(t),
      both((i) => ({
        ...reads[i],
        ...(pinging.includes(i) ? { health: healthPings(...pingPair(t.endpoints[i]), mtus[i]) } : {}),
      })),
    );
    const seen = seenPair(views);
    const health =
      pinging.length === 0
        ? null
        : await healthFromProbes(
            t,
            seen,
            pinging.map((i) => ({
              i,
              outcomes: outcomesOf(views[i].extra, "health"),
              mtu: mtus[i],
              deviceMtu: views[i].observation.links.find((l) => l.name === names[i])?.mtu,
            })),
            // An end missing or down says why already: no need to look further.
            views.every((v, e) => v.observation.links.find((l) => l.name === names[e])?.up === true),
          );
    const up = await diagnoseIpsec(
      t,
      seen,
      reads,
      both((i) => parseExtras(names[i], views[i].extra)),
    );
    const outs = outputsFrom(
      t,
      both((i) => keysToRecord(t.endpoints[i].connection, seen[i], endKeys(t, i))),
      both((i) => views[i].observation),
      up.extras,
      health,
      up.problem,
    );
    // The inputs as the routers have them: Pulumi renders them against the program's.
    const inputs = observedInputs(inputsOf(t), outs.ends);
    if (oldShape) return { id, props: inOldShape(outs, t), inputs: inOldShape(inputs, t) };
    return { id, props: outs, inputs };
  },

  async update(_id, old, news) {
    const t = withLiveConnections(news);
    refuseDecommissioned(t);
    return { outs: await converge(describe("updating", t), t, withLiveConnections(old), "converge") };
  },

  async delete(_id, state) {
    const t = withLiveConnections(state);
    const specs = endSpecs(t);
    const labels = endLabels(t);
    const what = describe("deleting", t);
    const reads = both((i) => extrasToRead(endName(t, i), { persist: false }, wantedExtras(t)));
    // An end on a decommissioned router is dropped without a word to it.
    if (await deleteAroundGoneEnds(t, what, reads)) return;
    let views: Pair<RouterView>;
    try {
      views = await observeBoth(t, recordedPair(t), reads);
    } catch (error) {
      throw new Error(
        `${what}: nothing was removed from either router, and the tunnel stays in the state: ${(withWayOut(error) as Error).message}`,
      );
    }
    const befores = both((i) => ({
      end: observeEnd(specs[i].name, views[i].observation),
      reads: reads[i],
      extras: parseExtras(endName(t, i), views[i].extra),
    }));
    await runPair(
      what,
      both((i) => ({
        label: labels[i],
        run: async () => {
          const changes = removalOf(specs[i].name, specs[i], views[i]);
          if (changes.length > 0)
            await changeThenRead(t.endpoints[i].connection, changes, [], recordedPair(t)[i]);
        },
        restore: () => restoreEnd(t.endpoints[i].connection, recordedPair(t)[i], endName(t, i), befores[i]),
      })),
    );
  },
};
