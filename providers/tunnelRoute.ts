/**
 * TunnelRoute's lifecycle: the field note's `ip route add 10.2.1.0/24 via 10.10.10.2` on one router,
 * read back with `ip -j route show` for drift, repaired with `ip route replace`. A route to the same
 * destination that pulumi-gre did not make is never clobbered unless `takeOver` is set.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";
import * as ipaddr from "ipaddr.js";
import { z } from "zod";
import {
  MAIN_TABLE,
  ROUTE_PROTOCOL,
  findRoute,
  parseIpRoute,
  planRoute,
  planRouteRemoval,
  prefixContains,
  routeDifferences,
  routeShow,
  type RouteSpec,
  type RouteState,
} from "../iproute2/route";
import { connectionSchema, routerLabel, type Connection } from "../transport/connection";
import { TransportError, outcomeFailed } from "../transport/errors";
import type { RemoteCommand } from "../transport/script";
import { runOnRouter } from "../transport";
import { changeThenRead } from "./applyOnRouter";
import { UNKNOWN, checkInputs } from "./checkFailures";
import { diffOnRouter } from "./diffOnRouter";
import { ipv4 } from "./greTunnelSpec";

/** The tunnel a route goes through, for the checks that keep routing sane. */
export interface RouteTunnel {
  /** The tunnel interface (gre1). */
  name: string;
  /** This router's underlay address and the peer's (where the tunnel's own packets go). */
  local: string;
  remote: string;
  /** This end's and the peer's tunnel addresses. */
  address: string;
  peerAddress: string;
}

/** TunnelRoute's inputs after check. */
export interface TunnelRouteInputs {
  connection: Connection;
  /** The destination prefix (the LAN behind the other router), e.g. 10.2.1.0/24. */
  destination: string;
  /** Next hop; with a tunnel, defaults to the tunnel's peer address. */
  via?: string;
  /** Output device, e.g. gre1. */
  device?: string;
  metric: number;
  table: number;
  /** Preferred source address. */
  source?: string;
  /** Replace a route to the same destination that pulumi-gre did not make. */
  takeOver: boolean;
  tunnel?: RouteTunnel;
}

/** What the router has, as TunnelRoute's outputs record it. */
export interface TunnelRouteOutputs extends TunnelRouteInputs {
  present: boolean;
  /** The route found in the slot (destination, table, metric), whoever made it. */
  found: { gateway: string | null; device: string | null; protocol: number; source: string | null } | null;
  hostKey: string;
  drift: string[];
}

const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

function prefix() {
  return z.string().superRefine((value, ctx) => {
    if (value === UNKNOWN) return;
    if (!ipaddr.IPv4.isValidCIDR(value)) {
      ctx.addIssue({ code: "custom", message: "must be an IPv4 prefix such as 10.2.1.0/24" });
      return;
    }
    const [address, length] = ipaddr.IPv4.parseCIDR(value);
    const network = ipaddr.IPv4.networkAddressFromCIDR(value).toString();
    if (network !== address.toString()) {
      ctx.addIssue({
        code: "custom",
        message: `is not a network address; did you mean ${network}/${length}?`,
      });
    }
  });
}

/** Builds TunnelRoute's input schema, with the checks against recursive routes and stray next hops. */
export function tunnelRouteSchema() {
  return z
    .object({
      connection: connectionSchema(),
      destination: prefix(),
      via: ipv4().optional(),
      device: z.string().regex(INTERFACE_NAME, "must be a Linux interface name").optional(),
      metric: z.number().int("must be a whole number").min(0).max(4294967295).optional(),
      table: z
        .union([z.literal("main"), z.number().int("must be a whole number").min(1).max(4294967295)])
        .optional()
        .refine((t) => t !== 255, "must not be the local table (255)"),
      source: ipv4().optional(),
      takeOver: z.boolean().optional(),
      tunnel: z
        .object({
          name: z.string().regex(INTERFACE_NAME, "must be a Linux interface name"),
          local: ipv4(),
          remote: ipv4(),
          address: ipv4(),
          peerAddress: ipv4(),
        })
        .strict()
        .optional(),
    })
    .strict()
    .superRefine((r, ctx) => {
      const known = (v: unknown) => typeof v === "string" && v !== UNKNOWN;
      if (!r.via && !r.device && !r.tunnel) {
        ctx.addIssue({
          code: "custom",
          path: ["via"],
          message: "give a next hop (via), a device, or the tunnel the route goes through",
        });
      }
      const t = r.tunnel;
      if (!t) return;
      const validPrefix = known(r.destination) && ipaddr.IPv4.isValidCIDR(r.destination);
      if (
        validPrefix &&
        known(t.remote) &&
        ipaddr.IPv4.isValidFourPartDecimal(t.remote) &&
        prefixContains(r.destination, t.remote)
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["destination"],
          message:
            `contains ${t.remote}, the tunnel's underlay peer: the tunnel's own GRE packets would be routed into the tunnel ` +
            "(recursive routing); route the LAN behind the peer, not its underlay address",
        });
      }
      if (r.via !== undefined && known(r.via) && known(t.peerAddress) && r.via !== t.peerAddress) {
        ctx.addIssue({
          code: "custom",
          path: ["via"],
          message: `is outside the tunnel's addresses: a route through ${t.name} goes via its peer address ${t.peerAddress}`,
        });
      }
      if (r.device !== undefined && known(r.device) && r.device !== t.name) {
        ctx.addIssue({
          code: "custom",
          path: ["device"],
          message: `is not the tunnel's interface ${t.name}`,
        });
      }
    });
}

function normalize(data: z.infer<ReturnType<typeof tunnelRouteSchema>>): TunnelRouteInputs {
  const inputs: TunnelRouteInputs = {
    connection: data.connection,
    destination: data.destination,
    metric: data.metric ?? 0,
    table: data.table === undefined || data.table === "main" ? MAIN_TABLE : data.table,
    takeOver: data.takeOver ?? false,
  };
  const via = data.via ?? (data.device === undefined ? data.tunnel?.peerAddress : undefined);
  if (via !== undefined) inputs.via = via;
  if (data.device !== undefined) inputs.device = data.device;
  if (data.source !== undefined) inputs.source = data.source;
  if (data.tunnel !== undefined) inputs.tunnel = data.tunnel;
  return inputs;
}

function specOf(inputs: TunnelRouteInputs): RouteSpec {
  const spec: RouteSpec = { destination: inputs.destination, metric: inputs.metric, table: inputs.table };
  if (inputs.via !== undefined) spec.gateway = inputs.via;
  if (inputs.device !== undefined) spec.device = inputs.device;
  if (inputs.source !== undefined) spec.source = inputs.source;
  return spec;
}

/** Reads the router's IPv4 routes after running `changes`, in one round trip. */
async function look(
  inputs: TunnelRouteInputs,
  expectedHostKey?: string,
  changes: RemoteCommand[] = [],
): Promise<{ routes: RouteState[]; hostKey: string }> {
  let result;
  try {
    result = await changeThenRead(inputs.connection, changes, [routeShow()], expectedHostKey);
  } catch (error) {
    if (
      inputs.tunnel &&
      TransportError.isInstance(error) &&
      /Nexthop has invalid gateway|Network is unreachable/.test(error.message)
    ) {
      error.message += ` (is tunnel ${inputs.tunnel.name} up? routes through it come after it)`;
    }
    throw error;
  }
  const [routes] = result.outcomes;
  if (routes.exitCode !== 0) {
    throw outcomeFailed(routerLabel(inputs.connection), routes);
  }
  return { routes: parseIpRoute(routes.stdout), hostKey: result.hostKey };
}

function outputsOf(inputs: TunnelRouteInputs, routes: RouteState[], hostKey: string): TunnelRouteOutputs {
  const label = routerLabel(inputs.connection);
  const spec = specOf(inputs);
  const route = findRoute(spec, routes);
  return {
    ...inputs,
    present: !!route && route.protocol === ROUTE_PROTOCOL,
    found: route
      ? {
          gateway: route.gateway ?? null,
          device: route.device ?? null,
          protocol: route.protocol,
          source: route.source ?? null,
        }
      : null,
    hostKey,
    drift: routeDifferences(spec, route).map((d) => `${label}: ${d}`),
  };
}

/** Makes the route so; `mayReplace` lets it replace a route pulumi-gre did not make. */
async function apply(
  inputs: TunnelRouteInputs,
  routes: RouteState[],
  hostKey: string,
  mayReplace: boolean,
): Promise<TunnelRouteOutputs> {
  const plan = planRoute(specOf(inputs), routes, mayReplace);
  if (plan.action === "conflict") throw new Error(`${routerLabel(inputs.connection)}: ${plan.reason}`);
  if (plan.action === "none") return outputsOf(inputs, routes, hostKey);
  const after = await look(inputs, hostKey, plan.commands);
  return outputsOf(inputs, after.routes, after.hostKey);
}

function inputsOf(state: TunnelRouteOutputs): TunnelRouteInputs {
  const inputs: TunnelRouteInputs = {
    connection: state.connection,
    destination: state.destination,
    metric: state.metric,
    table: state.table,
    takeOver: state.takeOver,
  };
  for (const key of ["via", "device", "source", "tunnel"] as const) {
    if (state[key] !== undefined && state[key] !== null)
      (inputs as unknown as Record<string, unknown>)[key] = state[key];
  }
  return inputs;
}

async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.CheckResult> {
  return checkInputs(tunnelRouteSchema(), news, normalize);
}

async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.DiffResult> {
  return diffOnRouter(olds as Partial<TunnelRouteOutputs>, news as unknown as TunnelRouteInputs, {
    inputs: ["connection", "destination", "via", "device", "metric", "table", "source", "takeOver", "tunnel"],
    replaceOn: ["destination", "metric", "table"],
    // A new slot does not collide with the old one: create the new route, then delete the old.
    deleteBeforeReplace: false,
  });
}

async function create(props: Record<string, unknown>): Promise<pulumi.dynamic.CreateResult> {
  const inputs = props as unknown as TunnelRouteInputs;
  const { routes, hostKey } = await look(inputs);
  const outs = await apply(inputs, routes, hostKey, inputs.takeOver);
  return { id: `${inputs.connection.host}:${inputs.table}:${inputs.destination}:${inputs.metric}`, outs };
}

async function read(id: string, props: Record<string, unknown>): Promise<pulumi.dynamic.ReadResult> {
  const state = props as unknown as TunnelRouteOutputs;
  const inputs = inputsOf(state);
  const { routes, hostKey } = await look(inputs, state.hostKey);
  return {
    id,
    props: outputsOf(inputs, routes, hostKey) as unknown as Record<string, unknown>,
    inputs: inputs as unknown as Record<string, unknown>,
  };
}

async function update(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.UpdateResult> {
  const state = olds as unknown as TunnelRouteOutputs;
  const inputs = news as unknown as TunnelRouteInputs;
  const { routes, hostKey } = await look(inputs, state.hostKey);
  // The slot is this resource's (its create made or took the route): whatever someone put there
  // since is drift to repair, not someone else's route.
  return { outs: await apply(inputs, routes, hostKey, true) };
}

async function deleteRoute(_id: string, props: Record<string, unknown>): Promise<void> {
  const state = props as unknown as TunnelRouteOutputs;
  const inputs = inputsOf(state);
  const { routes } = await look(inputs, state.hostKey);
  const commands = planRouteRemoval(specOf(inputs), routes);
  if (commands.length > 0) await runOnRouter(inputs.connection, commands, { expectedHostKey: state.hostKey });
}

/** The dynamic provider behind {@link TunnelRoute}. */
export const tunnelRouteProvider: pulumi.dynamic.ResourceProvider = {
  check,
  diff,
  create,
  read,
  update,
  delete: deleteRoute,
};
