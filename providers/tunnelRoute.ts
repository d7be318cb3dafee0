/**
 * TunnelRoute's lifecycle: the field note's `ip route add 10.2.1.0/24 via 10.10.10.2` on one router,
 * read back with `ip -j route show` for drift, repaired with `ip route replace`. A route to the same
 * destination that pulumi-gre did not make is never clobbered unless `takeOver` is set.
 *
 * @packageDocumentation
 */
import { z } from "zod";
import {
  MAIN_TABLE,
  ROUTE_PROTOCOL,
  findRoute,
  parseIpRoute,
  planRoute,
  planRouteRemoval,
  routeDifferences,
  routeShow,
  type RouteSpec,
  type RouteState,
} from "../iproute2/route";
import { connectionSchema } from "../schemas/connection";
import {
  UNKNOWN,
  interfaceName,
  ipPrefix,
  isAddress,
  isPrefix,
  prefixContains,
  routeMetric,
  routeTable,
  unicastAddress,
} from "../schemas/values";
import { routerLabel, type Connection } from "../transport/connection";
import { TransportError, outcomeFailed } from "../transport/errors";
import { oneRouterProvider, type RouterStateFields } from "./oneRouter";

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
  /** Allow a destination that contains the address this router is reached at over SSH. */
  allowCapture: boolean;
  tunnel?: RouteTunnel;
}

/** What the router has, as TunnelRoute's outputs record it. */
export interface TunnelRouteOutputs extends TunnelRouteInputs, RouterStateFields {
  present: boolean;
  /** The route found in the slot (destination, table, metric), whoever made it. */
  found: { gateway: string | null; device: string | null; protocol: number; source: string | null } | null;
}

/** Builds TunnelRoute's input schema, with the checks against recursive routes and stray next hops. */
export function tunnelRouteSchema() {
  return z
    .object({
      connection: connectionSchema(),
      destination: ipPrefix(),
      via: unicastAddress().optional(),
      device: interfaceName().optional(),
      metric: routeMetric().optional(),
      table: routeTable().optional(),
      source: unicastAddress().optional(),
      takeOver: z.boolean().optional(),
      allowCapture: z.boolean().optional(),
      tunnel: z
        .object({
          name: interfaceName(),
          local: unicastAddress(),
          remote: unicastAddress(),
          address: unicastAddress(),
          peerAddress: unicastAddress(),
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
      const management = r.connection.host;
      if (
        !r.allowCapture &&
        known(r.destination) &&
        isPrefix("ipv4", r.destination) &&
        known(management) &&
        isAddress("ipv4", management) &&
        prefixContains(r.destination, management)
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["destination"],
          message:
            `contains ${management}, the address this router is reached at over SSH: the route would capture the ` +
            "management path and lock Pulumi out of the router; set allowCapture: true if that is meant",
        });
      }
      const t = r.tunnel;
      if (!t) return;
      if (
        known(r.destination) &&
        isPrefix("ipv4", r.destination) &&
        known(t.remote) &&
        isAddress("ipv4", t.remote) &&
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
    allowCapture: data.allowCapture ?? false,
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

/** The dynamic provider behind {@link TunnelRoute}. */
export const tunnelRouteProvider = oneRouterProvider<TunnelRouteInputs, RouteState[], TunnelRouteOutputs>({
  kind: "TunnelRoute",
  subject: (inputs) => inputs.destination,
  schema: tunnelRouteSchema,
  normalize,
  inputKeys: [
    "connection",
    "destination",
    "via",
    "device",
    "metric",
    "table",
    "source",
    "takeOver",
    "tunnel",
  ],
  replaceOn: ["destination", "metric", "table"],
  // A new slot does not collide with the old one: create the new route, then delete the old.
  deleteBeforeReplace: false,
  id: (inputs) => `${inputs.connection.host}:${inputs.table}:${inputs.destination}:${inputs.metric}`,

  // ip -j route show table all.
  reads: () => [routeShow()],
  parse(_inputs, [routes], router) {
    if (routes.exitCode !== 0) throw outcomeFailed(router, routes);
    return parseIpRoute(routes.stdout);
  },

  // ip route replace, unless the slot holds a route someone else made. Once the resource exists the
  // slot is its own (its create made or took the route): whatever is there since is drift to repair.
  plan(inputs, routes, { previous }) {
    const plan = planRoute(specOf(inputs), routes, previous !== undefined || inputs.takeOver);
    if (plan.action === "conflict") throw new Error(`${routerLabel(inputs.connection)}: ${plan.reason}`);
    return plan.action === "none" ? [] : plan.commands;
  },
  explainFailure(inputs, _routes, error) {
    if (
      inputs.tunnel &&
      TransportError.isInstance(error) &&
      /Nexthop has invalid gateway|Network is unreachable/.test(error.message)
    ) {
      error.message += ` (is tunnel ${inputs.tunnel.name} up? routes through it come after it)`;
    }
    return error;
  },

  outputs(inputs, routes) {
    const spec = specOf(inputs);
    const route = findRoute(spec, routes);
    return {
      present: !!route && route.protocol === ROUTE_PROTOCOL,
      found: route
        ? {
            gateway: route.gateway ?? null,
            device: route.device ?? null,
            protocol: route.protocol,
            source: route.source ?? null,
          }
        : null,
      drift: routeDifferences(spec, route).map((d) => `${routerLabel(inputs.connection)}: ${d}`),
    };
  },

  // ip route del … proto 176: only ever our own route.
  planDelete: (state, routes) => ({ changes: planRouteRemoval(specOf(state), routes), notices: [] }),
});
