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
  endDifferences,
  observeEnd,
  planEnd,
  planRemove,
  planRestore,
  preflightProblems,
  type EndPlan,
  type ObservedEnd,
  type RouterObservation,
} from "../iproute2/planTunnel";
import { pingAcross, pingUnderlay, type TunnelEndSpec } from "../iproute2/tunnelCommands";
import type { Connection } from "../transport/connection";
import { excerpt } from "../transport/errors";
import { runOnRouter } from "../transport";
import { checkInputs } from "./checkFailures";
import {
  diffGreTunnel,
  endLabels,
  endSpecs,
  greTunnelSchema,
  normalizeGreTunnel,
  pingingEnds,
  tunnelId,
  type GreTunnelOutputs,
  type NormalizedGreTunnel,
  type TunnelEndState,
} from "./greTunnelSpec";
import { applyOnRouter } from "./applyOnRouter";
import { observationCommands, observeRouter, parseObservation } from "./observeRouter";
import { both, runPair, undoBoth } from "./pairOperation";

/** The normalized inputs stored in outputs (what `read` hands back as inputs). */
function inputsOf(t: NormalizedGreTunnel): NormalizedGreTunnel {
  const inputs: NormalizedGreTunnel = { name: t.name, ttl: t.ttl, verify: t.verify, endpoints: t.endpoints };
  if (t.key !== undefined) inputs.key = t.key;
  if (t.mtu !== undefined) inputs.mtu = t.mtu;
  return inputs;
}

/** What the state records for one end. */
export function endState(
  label: string,
  connection: Connection,
  spec: TunnelEndSpec,
  observation: RouterObservation,
): TunnelEndState {
  const end = observeEnd(spec.name, observation);
  const { link } = end;
  const address = end.addresses[0];
  return {
    router: label,
    host: connection.host,
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
    drift: endDifferences(spec, end).map((d) => `${label}: ${d}`),
  };
}

/** Takes one end back to `before`; says what it did. */
async function restoreEnd(
  connection: Connection,
  hostKey: string | undefined,
  name: string,
  before: ObservedEnd,
): Promise<string> {
  const now = await observeRouter(connection, hostKey);
  const commands = planRestore(name, before, now.observation);
  if (commands.length === 0) return "nothing to undo";
  await applyOnRouter(connection, commands, hostKey);
  return before.link ? `${name} put back as it was` : `${name} removed`;
}

/**
 * Why a ping across the tunnel failed, from both ends' point of view: keys that do not mirror,
 * remotes that do not point at the peer (NAT), local addresses not on the router, the underlay.
 */
async function diagnose(
  t: NormalizedGreTunnel,
  specs: [TunnelEndSpec, TunnelEndSpec],
  labels: [string, string],
  hostKeys: (string | undefined)[],
): Promise<string[]> {
  const views = await Promise.all(
    t.endpoints.map((end, i) =>
      observeRouter(end.connection, hostKeys[i], [pingUnderlay(specs[i].local, specs[i].remote)]).catch(
        (e: Error) => e,
      ),
    ),
  );
  const findings: string[] = [];
  const links = views.map((v) => (v instanceof Error ? undefined : observeEnd(t.name, v.observation).link));
  views.forEach((view, i) => {
    if (view instanceof Error) {
      findings.push(`${labels[i]}: could not be inspected: ${view.message}`);
      return;
    }
    findings.push(...preflightProblems(specs[i], view.observation).map((p) => `${labels[i]}: ${p}`));
    const ping = view.extra[0];
    findings.push(
      ping.exitCode === 0
        ? `${labels[i]}: the underlay reaches ${specs[i].remote} from ${specs[i].local}`
        : `${labels[i]}: the underlay does not reach ${specs[i].remote} from ${specs[i].local} (${excerpt(ping.stdout + ping.stderr, 200) || "no reply"})`,
    );
  });
  const [a, b] = links;
  if (a && b) {
    if (a.okey !== b.ikey || b.okey !== a.ikey) {
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
  return findings;
}

/** Pings across the tunnel from both ends; on failure, diagnoses, undoes both ends and throws. */
async function verifyOrUndo(
  what: string,
  t: NormalizedGreTunnel,
  specs: [TunnelEndSpec, TunnelEndSpec],
  labels: [string, string],
  hostKeys: (string | undefined)[],
  befores: [ObservedEnd, ObservedEnd],
): Promise<void> {
  const pings = await Promise.all(
    pingingEnds(t).map((i) =>
      runOnRouter(
        t.endpoints[i].connection,
        [pingAcross(t.endpoints[i].address, t.endpoints[i].peerAddress)],
        {
          check: false,
          expectedHostKey: hostKeys[i],
        },
      ).then((r) => ({ p: r.outcomes[0], i })),
    ),
  );
  const failed = pings.filter(({ p }) => p.exitCode !== 0);
  if (failed.length === 0) return;
  const seen = failed.map(
    ({ p, i }) =>
      `${labels[i]}: \`ping -I ${t.endpoints[i].address} ${t.endpoints[i].peerAddress}\` got no reply (${excerpt(p.stdout + p.stderr, 200)})`,
  );
  const findings = await diagnose(t, specs, labels, hostKeys);
  const undone = await undoBoth(
    t.endpoints.map((end, i) => ({
      label: labels[i],
      restore: () => restoreEnd(end.connection, hostKeys[i], t.name, befores[i]),
    })),
  );
  throw new Error(
    `${what}: the tunnel does not carry traffic.\n${seen.map((s) => `  ${s}`).join("\n")}\n` +
      `What was seen:\n${findings.map((f) => `  - ${f}`).join("\n")}\nUndone, so no half tunnel is left:\n${undone.map((u) => `  ${u}`).join("\n")}`,
  );
}

async function observeBoth(
  t: Pick<NormalizedGreTunnel, "endpoints">,
  hostKeys: (string | undefined)[],
  extras: [Parameters<typeof observeRouter>[2], Parameters<typeof observeRouter>[2]] = [[], []],
) {
  return Promise.all(t.endpoints.map((end, i) => observeRouter(end.connection, hostKeys[i], extras[i])));
}

/** The outputs for what both routers have. */
function outputsFrom(
  t: NormalizedGreTunnel,
  hostKeys: [string, string],
  observed: [RouterObservation, RouterObservation],
): GreTunnelOutputs {
  const specs = endSpecs(t);
  const labels = endLabels(t);
  return {
    ...inputsOf(t),
    ends: both((i) => endState(labels[i], t.endpoints[i].connection, specs[i], observed[i])),
    hostKeys,
  };
}

/** Reads both ends and builds the outputs. */
async function outputsAfter(t: NormalizedGreTunnel, hostKeys: [string, string]): Promise<GreTunnelOutputs> {
  const views = await observeBoth(t, hostKeys);
  return outputsFrom(
    t,
    hostKeys,
    both((i) => views[i].observation),
  );
}

/**
 * Applies each end's plan on both routers at once, each in one round trip that also reads back
 * what the router has; on failure both ends are put back as they were (`befores`).
 */
async function applyPlans(
  what: string,
  t: NormalizedGreTunnel,
  plans: [EndPlan, EndPlan],
  observed: [RouterObservation, RouterObservation],
  befores: [ObservedEnd, ObservedEnd],
  hostKeys: (string | undefined)[],
): Promise<[RouterObservation, RouterObservation]> {
  const labels = endLabels(t);
  return runPair(
    what,
    both((i) => ({
      label: labels[i],
      run: async () => {
        const plan = plans[i];
        if (!("commands" in plan) || plan.commands.length === 0) return observed[i];
        const outcomes = await applyOnRouter(
          t.endpoints[i].connection,
          plan.commands,
          hostKeys[i],
          observationCommands(),
        );
        return parseObservation(labels[i], outcomes);
      },
      restore: () => restoreEnd(t.endpoints[i].connection, hostKeys[i], t.name, befores[i]),
    })),
  );
}

async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.CheckResult> {
  return checkInputs(greTunnelSchema(), news, normalizeGreTunnel);
}

async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.DiffResult> {
  const result = diffGreTunnel(olds as Partial<GreTunnelOutputs>, news as unknown as NormalizedGreTunnel);
  return {
    changes: result.changes,
    replaces: result.replaces,
    deleteBeforeReplace: result.deleteBeforeReplace,
  };
}

async function create(inputs: Record<string, unknown>): Promise<pulumi.dynamic.CreateResult> {
  const t = inputs as unknown as NormalizedGreTunnel;
  const specs = endSpecs(t);
  const labels = endLabels(t);
  const what = `creating GRE tunnel ${t.name} between ${labels[0]} and ${labels[1]}`;

  // Preflight, both ends at once: reachable over SSH, GRE available, local address present, peer
  // reachable over the underlay (the field note's ping), name free or an identical tunnel to adopt.
  let views;
  try {
    views = await observeBoth(
      t,
      [undefined, undefined],
      both((i) =>
        t.verify && pingingEnds(t).includes(i) ? [pingUnderlay(specs[i].local, specs[i].remote)] : [],
      ),
    );
  } catch (error) {
    throw new Error(
      `${what}: preflight failed, nothing was changed on either router: ${(error as Error).message}`,
    );
  }
  const hostKeys = views.map((v) => v.hostKey) as [string, string];
  const plans = both((i) => planEnd(specs[i], views[i].observation, "create"));
  const problems: string[] = [];
  specs.forEach((spec, i) => {
    problems.push(...preflightProblems(spec, views[i].observation).map((p) => `${labels[i]}: ${p}`));
    const ping = views[i].extra[0];
    if (ping && ping.exitCode !== 0) {
      problems.push(
        `${labels[i]}: cannot reach ${spec.remote} from ${spec.local} over the underlay; make sure the network is ok (ping: ${excerpt(ping.stdout + ping.stderr, 200) || "no reply"})`,
      );
    }
    const plan = plans[i];
    if (plan.action === "conflict") problems.push(`${labels[i]}: ${plan.reason}`);
  });
  if (problems.length > 0) {
    throw new Error(
      `${what}: nothing was changed on either router.\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }

  const befores = both((i) => observeEnd(specs[i].name, views[i].observation));
  const observed = await applyPlans(
    what,
    t,
    plans,
    both((i) => views[i].observation),
    befores,
    hostKeys,
  );
  if (t.verify) {
    await verifyOrUndo(what, t, specs, labels, hostKeys, befores);
  }
  return { id: tunnelId(t), outs: outputsFrom(t, hostKeys, observed) };
}

async function read(id: string, props: Record<string, unknown>): Promise<pulumi.dynamic.ReadResult> {
  const t = props as unknown as GreTunnelOutputs;
  const outs = await outputsAfter(t, t.hostKeys);
  return {
    id,
    props: outs as unknown as Record<string, unknown>,
    inputs: inputsOf(t) as unknown as Record<string, unknown>,
  };
}

async function update(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.UpdateResult> {
  const old = olds as unknown as GreTunnelOutputs;
  const t = news as unknown as NormalizedGreTunnel;
  const specs = endSpecs(t);
  const labels = endLabels(t);
  const hostKeys = old.hostKeys;
  const what = `updating GRE tunnel ${t.name} between ${labels[0]} and ${labels[1]}`;

  let views;
  try {
    views = await observeBoth(t, hostKeys);
  } catch (error) {
    throw new Error(`${what}: nothing was changed on either router: ${(error as Error).message}`);
  }
  const plans = both((i) => planEnd(specs[i], views[i].observation, "converge"));
  const problems: string[] = [];
  plans.forEach((plan, i) => {
    if (plan.action === "conflict") problems.push(`${labels[i]}: ${plan.reason}`);
    if (plan.action !== "none")
      problems.push(...preflightProblems(specs[i], views[i].observation).map((p) => `${labels[i]}: ${p}`));
  });
  if (problems.length > 0) {
    throw new Error(
      `${what}: nothing was changed on either router.\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  const befores = both((i) => observeEnd(specs[i].name, views[i].observation));
  let observed = both((i) => views[i].observation);
  if (plans.some((p) => p.action !== "none")) {
    observed = await applyPlans(what, t, plans, observed, befores, hostKeys);
    if (t.verify) {
      await verifyOrUndo(what, t, specs, labels, hostKeys, befores);
    }
  }
  return { outs: outputsFrom(t, hostKeys, observed) };
}

async function deleteTunnel(_id: string, props: Record<string, unknown>): Promise<void> {
  const t = props as unknown as GreTunnelOutputs;
  const specs = endSpecs(t);
  const labels = endLabels(t);
  const what = `deleting GRE tunnel ${t.name} between ${labels[0]} and ${labels[1]}`;
  let views;
  try {
    views = await observeBoth(t, t.hostKeys);
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
          await applyOnRouter(t.endpoints[i].connection, plan.commands, t.hostKeys[i]);
      },
      restore: () => restoreEnd(t.endpoints[i].connection, t.hostKeys[i], t.name, befores[i]),
    })),
  );
}

/**
 * The dynamic provider behind {@link GreTunnel}. Exported for the provider-host tests; programs
 * use the resource class.
 */
export const greTunnelProvider: pulumi.dynamic.ResourceProvider = {
  check,
  diff,
  create,
  read,
  update,
  delete: deleteTunnel,
};
