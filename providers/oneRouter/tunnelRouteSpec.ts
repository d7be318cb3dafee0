/**
 * TunnelRoute's inputs: their zod schema (built inside functions, never at import time), with the
 * checks that keep routing sane, the normalization `check` performs, and the route they describe.
 * Pure: no SSH here.
 *
 * @packageDocumentation
 */
import { z } from "zod";
import {
  IPV6_DEFAULT_METRIC,
  MAIN_TABLE,
  normalizePrefix,
  type RouteSpec,
  type RouteState,
} from "../../commands/iproute2/route";
import type { PersistedFiles } from "../../commands/bootStack/persistedFiles";
import type { BootStackFound } from "../../commands/bootStack/bootStack";
import { connectionSchema } from "../../schemas/connection";
import { UNKNOWN } from "../../schemas/unknown";
import {
  canonicalAddress,
  familyOf,
  prefixFamily,
  routablePrefix,
  isPrefix,
  prefixContains,
  unicastAddress,
} from "../../schemas/addresses";
import { interfaceName } from "../../schemas/tunnel";
import { routeMetric, routeTable } from "../../schemas/numbers";
import type { RouterStateFields } from "./shape";
import {
  TUNNEL_ROUTE_DEFAULTS,
  type TunnelRouteDeclaration,
  type TunnelRouteInputs,
} from "../../model/routerResources";

/** What the router has: its routes, and (when persistence is involved) our boot files. */
export interface RouteView {
  routes: RouteState[];
  files?: PersistedFiles;
  /** What brings the network up at boot (read when persist is wanted). */
  stack?: BootStackFound;
}

/** What the router has, as TunnelRoute's outputs record it. */
export interface TunnelRouteOutputs extends TunnelRouteInputs, RouterStateFields {
  present: boolean;
  /** Whether the route's boot file is there as written (null: persist is off and there is none). */
  persisted: boolean | null;
  /** The route found in the slot (destination, table, metric), whoever made it. */
  found: { gateway: string | null; device: string | null; protocol: number; source: string | null } | null;
}

/** Builds TunnelRoute's input schema, with the checks against recursive routes and stray next hops. */
export function tunnelRouteSchema() {
  return z
    .object({
      connection: connectionSchema(),
      destination: routablePrefix("any"),
      via: unicastAddress("any").optional(),
      device: interfaceName().optional(),
      metric: routeMetric().optional(),
      table: routeTable().optional(),
      source: unicastAddress("any").optional(),
      takeOver: z.boolean().optional(),
      allowCapture: z.boolean().optional(),
      persist: z.boolean().optional(),
      tunnel: z
        .object({
          name: interfaceName(),
          local: unicastAddress("any"),
          remote: unicastAddress("any"),
          address: unicastAddress("any"),
          peerAddress: unicastAddress("any"),
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
      if (r.persist && !r.device && !r.tunnel && r.via) {
        ctx.addIssue({
          code: "custom",
          path: ["persist"],
          message:
            "needs the route's device or tunnel: systemd-networkd brings a route back with the link it goes through",
        });
      }
      const family = known(r.destination) ? prefixFamily(r.destination) : undefined;
      for (const key of ["via", "source"] as const) {
        const value = r[key];
        if (family && value !== undefined && known(value) && familyOf(value) !== family) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: `is not of the destination's family (${family === "ipv6" ? "IPv6" : "IPv4"})`,
          });
        }
      }
      // The management path (the router's address, its jump host's), of either family.
      const management = [
        { address: r.connection.host, what: "the address this router is reached at over SSH" },
        ...(r.connection.proxy
          ? [{ address: r.connection.proxy.host, what: "the jump host this router is reached through" }]
          : []),
      ];
      // Only a destination that is a prefix (zod runs this refinement even when it is not).
      const routed = family && isPrefix(family, r.destination) ? r.destination : undefined;
      for (const { address, what } of management) {
        if (r.allowCapture || !routed) break;
        if (!known(address) || !familyOf(address) || !prefixContains(routed, address)) continue;
        ctx.addIssue({
          code: "custom",
          path: ["destination"],
          message:
            `contains ${address}, ${what}: the route would capture the ` +
            "management path and lock Pulumi out of the router; set allowCapture: true if that is meant",
        });
      }
      const t = r.tunnel;
      if (!t) return;
      if (routed && known(t.remote) && familyOf(t.remote) && prefixContains(routed, t.remote)) {
        ctx.addIssue({
          code: "custom",
          path: ["destination"],
          message:
            `contains ${t.remote}, the tunnel's underlay peer: the tunnel's own GRE packets would be routed into the tunnel ` +
            "(recursive routing); route the LAN behind the peer, not its underlay address",
        });
      }
      if (
        r.via !== undefined &&
        known(r.via) &&
        known(t.peerAddress) &&
        canonicalAddress(r.via) !== canonicalAddress(t.peerAddress)
      ) {
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

/**
 * Fills in the defaults: metric 0 (1024 for IPv6, which is what the kernel makes of 0), the main
 * table, the tunnel's peer as next hop — or the tunnel itself when the route's family is not its
 * addresses' (an IPv6 LAN through a tunnel with IPv4 addresses). IPv6 is written as `ip` prints it.
 */
export function normalizeTunnelRoute(data: TunnelRouteDeclaration): TunnelRouteInputs {
  const ipv6 = prefixFamily(data.destination) === "ipv6";
  const metric = data.metric ?? 0;
  const inputs: TunnelRouteInputs = {
    connection: data.connection,
    destination: data.destination === UNKNOWN ? data.destination : normalizePrefix(data.destination),
    metric: ipv6 && metric === 0 ? IPV6_DEFAULT_METRIC : metric,
    table: data.table === undefined || data.table === "main" ? MAIN_TABLE : data.table,
    takeOver: data.takeOver ?? TUNNEL_ROUTE_DEFAULTS.takeOver,
    allowCapture: data.allowCapture ?? TUNNEL_ROUTE_DEFAULTS.allowCapture,
    persist: data.persist ?? TUNNEL_ROUTE_DEFAULTS.persist,
  };
  const tunnel = data.tunnel;
  const crossFamily = tunnel !== undefined && familyOf(tunnel.peerAddress) !== prefixFamily(data.destination);
  const via = data.via ?? (data.device === undefined && !crossFamily ? tunnel?.peerAddress : undefined);
  const device = data.device ?? (crossFamily && data.via === undefined ? tunnel?.name : undefined);
  if (via !== undefined) inputs.via = canonicalAddress(via);
  if (device !== undefined) inputs.device = device;
  if (data.source !== undefined) inputs.source = canonicalAddress(data.source);
  if (data.tunnel !== undefined) inputs.tunnel = data.tunnel;
  return inputs;
}

export function specOf(inputs: TunnelRouteInputs): RouteSpec {
  const spec: RouteSpec = { destination: inputs.destination, metric: inputs.metric, table: inputs.table };
  if (inputs.via !== undefined) spec.gateway = inputs.via;
  if (inputs.device !== undefined) spec.device = inputs.device;
  if (inputs.source !== undefined) spec.source = inputs.source;
  return spec;
}
