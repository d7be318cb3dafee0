/**
 * Routes: the parser of `ip -N -j route show table all`, the builders of `ip route replace/del`,
 * and the planner that decides what a router needs. Routes this product makes carry their own
 * protocol number, so the kernel itself remembers which routes are ours: a route to the same
 * destination with another protocol belongs to someone else and is not clobbered.
 *
 * @packageDocumentation
 */
import * as ipaddr from "ipaddr.js";
import type { RemoteCommand } from "../../model/command";
import { parsedOnce } from "./parsedOnce";

/** The route protocol (`ip route … proto 176`) that marks routes made by pulumi-gre. */
export const ROUTE_PROTOCOL = 176;
/** The main routing table's number. */
export const MAIN_TABLE = 254;

/** A route as the kernel reports it. */
export interface RouteState {
  /** Destination prefix, always with a length (`default` is 0.0.0.0/0). */
  destination: string;
  gateway?: string;
  device?: string;
  protocol: number;
  metric: number;
  table: number;
  /** Preferred source address (`src`). */
  source?: string;
  type: string;
}

/** A route as it should be. */
export interface RouteSpec {
  destination: string;
  /** Next hop (`via`); with a tunnel, the peer's tunnel address. */
  gateway?: string;
  /** Output device (`dev`), e.g. gre1. */
  device?: string;
  metric: number;
  table: number;
  source?: string;
}

interface RawRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string | number;
  metric?: number;
  table?: string | number;
  prefsrc?: string;
  type?: string | number;
}

/**
 * `10.2.1.0/24` stays; `10.2.1.1` becomes `10.2.1.1/32`; `default` becomes `0.0.0.0/0` (`::/0` in
 * IPv6 output); IPv6 as `ip` prints it.
 */
export function normalizePrefix(destination: string, family: "ipv4" | "ipv6" = "ipv4"): string {
  if (destination === "default") return family === "ipv6" ? "::/0" : "0.0.0.0/0";
  if (!destination.includes("/")) {
    const address = ipaddr.parse(destination);
    return `${address.toString()}/${address.kind() === "ipv6" ? 128 : 32}`;
  }
  const [address, length] = ipaddr.parseCIDR(destination);
  // The network address: 10.2.1.7/24 names the same route as 10.2.1.0/24.
  const network =
    address.kind() === "ipv6"
      ? ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${length}`)
      : ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${length}`);
  return `${network.toString()}/${length}`;
}

/** The metric the kernel gives an IPv6 route added with none (or 0). */
export const IPV6_DEFAULT_METRIC = 1024;

/** Parses `ip [-6] -N -j route show table all` (numbers for protocol, table and type). Unicast routes of `family` only. */
export function parseIpRoute(text: string, family: "ipv4" | "ipv6" = "ipv4"): RouteState[] {
  return parsedOnce(`route ${family}`, text, (t) => parseRoutes(t, family));
}

function parseRoutes(text: string, family: "ipv4" | "ipv6"): RouteState[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  let raw: RawRoute[];
  try {
    raw = JSON.parse(trimmed) as RawRoute[];
  } catch {
    throw new Error(`ip -j route show did not print JSON: ${trimmed.slice(0, 200)}`);
  }
  return raw
    .filter(
      (r) =>
        (r.dst === "default" || r.dst.includes(":") === (family === "ipv6")) &&
        (r.type === undefined || String(r.type) === "1" || r.type === "unicast"),
    )
    .map((r) => {
      const route: RouteState = {
        destination: normalizePrefix(r.dst, family),
        // ip leaves out the default protocol, boot (3), like `ip route add` without `proto`.
        protocol: Number(r.protocol ?? 3),
        metric: r.metric ?? 0,
        // Routes of the main table carry no table field in `table all` output.
        table: r.table === undefined ? MAIN_TABLE : Number(r.table),
        type: "unicast",
      };
      if (r.gateway !== undefined) route.gateway = r.gateway;
      if (r.dev !== undefined) route.device = r.dev;
      if (r.prefsrc !== undefined) route.source = r.prefsrc;
      return route;
    });
}

/** The command that reads every route of `family` in every table. */
export function routeShow(family: "ipv4" | "ipv6" = "ipv4"): RemoteCommand {
  return { argv: ["ip", family === "ipv6" ? "-6" : "-4", "-N", "-j", "route", "show", "table", "all"] };
}

function routeSelector(spec: Pick<RouteSpec, "destination" | "metric" | "table">): string[] {
  return [spec.destination, "metric", String(spec.metric), "table", String(spec.table)];
}

/** `ip route replace DEST [via GW] [dev DEV] proto 176 metric M table T [src S]`. */
export function routeReplace(spec: RouteSpec): RemoteCommand {
  return {
    argv: [
      "ip",
      "route",
      "replace",
      spec.destination,
      ...(spec.gateway ? ["via", spec.gateway] : []),
      ...(spec.device ? ["dev", spec.device] : []),
      "proto",
      String(ROUTE_PROTOCOL),
      "metric",
      String(spec.metric),
      "table",
      String(spec.table),
      ...(spec.source ? ["src", spec.source] : []),
    ],
  };
}

/** `ip route del DEST proto 176 metric M table T`: only ever our own route. */
export function routeDelete(spec: Pick<RouteSpec, "destination" | "metric" | "table">): RemoteCommand {
  const [destination, ...rest] = routeSelector(spec);
  return { argv: ["ip", "route", "del", destination, "proto", String(ROUTE_PROTOCOL), ...rest] };
}

/** The route that occupies the spec's slot (same destination, table and metric), if any. */
export function findRoute(
  spec: Pick<RouteSpec, "destination" | "metric" | "table">,
  routes: RouteState[],
): RouteState | undefined {
  return routes.find(
    (r) => r.destination === spec.destination && r.table === spec.table && r.metric === spec.metric,
  );
}

/** How the route differs from the spec, as short phrases; empty when it matches. */
export function routeDifferences(spec: RouteSpec, route: RouteState | undefined): string[] {
  const label = `route to ${spec.destination}${spec.table === MAIN_TABLE ? "" : ` in table ${spec.table}`}`;
  if (!route) return [`${label} is missing`];
  const differences: string[] = [];
  if (route.protocol !== ROUTE_PROTOCOL)
    differences.push(`${label} belongs to protocol ${route.protocol}, not to pulumi-gre (${ROUTE_PROTOCOL})`);
  if ((route.gateway ?? undefined) !== spec.gateway)
    differences.push(
      `${label} goes via ${route.gateway ?? "no gateway"}, wanted ${spec.gateway ?? "no gateway"}`,
    );
  if (spec.device !== undefined && route.device !== spec.device)
    differences.push(`${label} leaves through ${route.device}, wanted ${spec.device}`);
  if ((route.source ?? undefined) !== spec.source && spec.source !== undefined)
    differences.push(`${label} has source ${route.source ?? "none"}, wanted ${spec.source}`);
  return differences;
}

/** What to do for one route on one router. */
export type RoutePlan =
  | { action: "none" }
  | { action: "create" | "repair" | "take-over"; commands: RemoteCommand[]; differences: string[] }
  | { action: "conflict"; reason: string };

/**
 * Plans a route. A route in the same slot that pulumi-gre did not make is someone else's: a
 * conflict, unless `takeOver` is set.
 */
export function planRoute(spec: RouteSpec, routes: RouteState[], takeOver: boolean): RoutePlan {
  const route = findRoute(spec, routes);
  const differences = routeDifferences(spec, route);
  if (differences.length === 0) return { action: "none" };
  if (route && route.protocol !== ROUTE_PROTOCOL) {
    if (!takeOver) {
      const via = route.gateway ? `via ${route.gateway}` : `dev ${route.device}`;
      return {
        action: "conflict",
        reason:
          `a route to ${spec.destination} ${via} (protocol ${route.protocol}, metric ${route.metric}) already exists and was not made by pulumi-gre; ` +
          "it is left alone. Set takeOver: true to replace it, or use another metric or table",
      };
    }
    return { action: "take-over", commands: [routeReplace(spec)], differences };
  }
  return { action: route ? "repair" : "create", commands: [routeReplace(spec)], differences };
}

/** Commands that remove our route (nothing when it is gone or no longer ours). */
export function planRouteRemoval(spec: RouteSpec, routes: RouteState[]): RemoteCommand[] {
  const route = findRoute(spec, routes);
  return route && route.protocol === ROUTE_PROTOCOL ? [routeDelete(spec)] : [];
}

/** Whether `address` lies inside `prefix` (both IPv4). */
export function prefixContains(prefix: string, address: string): boolean {
  return ipaddr.IPv4.parse(address).match(ipaddr.IPv4.parseCIDR(prefix));
}
