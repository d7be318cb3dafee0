/**
 * GreTunnel's inputs: their zod schema (built inside functions, never at import time), the
 * normalization `check` performs, the per-router end specs they imply, and the offline `diff`.
 * Pure: no SSH here.
 *
 * @packageDocumentation
 */
import { z } from "zod";
import type { TunnelEndSpec } from "../iproute2/tunnelCommands";
import type { RouterObservation } from "../iproute2/planTunnel";
import { endState, type TunnelEndState } from "../iproute2/tunnelReport";
import { connectionSchema } from "../schemas/connection";
import {
  containsUnknown,
  greKey,
  interfaceName,
  isKnown,
  mirroredKeys,
  mtu,
  ttl,
  unicastAddress,
  type GreKey,
} from "../schemas/values";
import { routerAddress, routerLabel, withoutSecrets, type Connection } from "../transport/connection";

export type { TunnelEndState };

/** One router's end of the tunnel, as the user declares it. */
export interface GreEndpointInputs {
  /** How to reach the router (the shape of `@pulumi/command`'s `remote.Connection`). */
  connection: Connection;
  /** The router's underlay address: the tunnel's source on this router. */
  local: string;
  /** Where this end sends to: the peer's `local` unless the peer is behind NAT. */
  remote?: string;
  /** This end's tunnel address (`ip addr add ADDRESS dev NAME peer PEER`). */
  address: string;
  /** The other end's tunnel address; defaults to the other endpoint's `address`. */
  peerAddress?: string;
}

/** GreTunnel's inputs as the user writes them. */
export interface GreTunnelInputs {
  /** Interface name on both routers (at most 15 characters: letters, digits, `_ . -`). */
  name: string;
  /**
   * GRE key for both directions, or `{input, output}` as seen from `endpoints[0]` (the other end
   * mirrors it). Tunnels between the same two routers need distinct keys: the kernel matches
   * incoming GRE packets on local address, remote address and key.
   */
  key?: GreKey;
  /** Outer TTL, 1…255; default 255 as in the field note. */
  ttl?: number;
  /** Tunnel MTU; the kernel's default (1476, or 1472 with keys) when unset. */
  mtu?: number;
  /** Exactly two ends, on two different routers. */
  endpoints: GreEndpointInputs[];
  /** Ping across the tunnel from each end after create and update; default true. */
  verify?: boolean;
}

/** The inputs after `check`: defaults filled in. */
export interface NormalizedGreTunnel {
  name: string;
  key?: GreKey;
  ttl: number;
  mtu?: number;
  verify: boolean;
  endpoints: [Required<GreEndpointInputs>, Required<GreEndpointInputs>];
}

/** GreTunnel's outputs: the normalized inputs plus what was observed. */
export interface GreTunnelOutputs extends NormalizedGreTunnel {
  ends: [TunnelEndState, TunnelEndState];
  /** The routers' SSH host keys seen at create, enforced afterwards. */
  hostKeys: [string, string];
}

/** Builds GreTunnel's input schema. */
export function greTunnelSchema() {
  const endpoint = z
    .object({
      connection: connectionSchema(),
      local: unicastAddress(),
      remote: unicastAddress().optional(),
      address: unicastAddress(),
      peerAddress: unicastAddress().optional(),
    })
    .strict();
  return z
    .object({
      name: interfaceName(),
      key: greKey().optional(),
      ttl: ttl().optional(),
      mtu: mtu().optional(),
      endpoints: z.array(endpoint).length(2, "a tunnel has exactly two endpoints"),
      verify: z.boolean().optional(),
    })
    .strict()
    .superRefine((t, ctx) => {
      if (t.endpoints.length !== 2) return;
      const [a, b] = t.endpoints;
      const known = isKnown;
      if (
        known(a.connection) &&
        known(b.connection) &&
        routerAddress(a.connection) === routerAddress(b.connection)
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["endpoints", 1, "connection", "host"],
          message: `both endpoints are on the same router (${a.connection.host}); a tunnel joins two routers`,
        });
      }
      if (a.local === b.local && known(a.local)) {
        ctx.addIssue({
          code: "custom",
          path: ["endpoints", 1, "local"],
          message: "both endpoints have the same underlay address",
        });
      }
      t.endpoints.forEach((end, i) => {
        const peer = t.endpoints[1 - i];
        const remote = end.remote ?? peer.local;
        if (remote === end.local && known(remote)) {
          ctx.addIssue({
            code: "custom",
            path: ["endpoints", i, end.remote === undefined ? "local" : "remote"],
            message: "local and remote are the same address",
          });
        }
        const peerAddress = end.peerAddress ?? peer.address;
        if (peerAddress === end.address && known(peerAddress)) {
          ctx.addIssue({
            code: "custom",
            path: ["endpoints", i, end.peerAddress === undefined ? "address" : "peerAddress"],
            message: "the two tunnel addresses are equal",
          });
        }
        if ((end.address === end.local || end.address === remote) && known(end.address)) {
          ctx.addIssue({
            code: "custom",
            path: ["endpoints", i, "address"],
            message: "a tunnel address must differ from the underlay addresses",
          });
        }
      });
    });
}

/** Fills in the defaults: ttl 255, verify on, each remote the peer's local, each peer address the other's address. */
export function normalizeGreTunnel(inputs: z.infer<ReturnType<typeof greTunnelSchema>>): NormalizedGreTunnel {
  const [a, b] = inputs.endpoints;
  const end = (self: typeof a, peer: typeof a): Required<GreEndpointInputs> => ({
    connection: self.connection,
    local: self.local,
    remote: self.remote ?? peer.local,
    address: self.address,
    peerAddress: self.peerAddress ?? peer.address,
  });
  const normalized: NormalizedGreTunnel = {
    name: inputs.name,
    ttl: inputs.ttl ?? 255,
    verify: inputs.verify ?? true,
    endpoints: [end(a, b), end(b, a)],
  };
  if (inputs.key !== undefined) normalized.key = inputs.key;
  if (inputs.mtu !== undefined) normalized.mtu = inputs.mtu;
  return normalized;
}

/** What each router should have: the field note's tunnel, address and link state. */
export function endSpecs(tunnel: NormalizedGreTunnel): [TunnelEndSpec, TunnelEndSpec] {
  const keys = mirroredKeys(tunnel.key);
  const spec = (i: 0 | 1): TunnelEndSpec => {
    const end = tunnel.endpoints[i];
    const result: TunnelEndSpec = {
      name: tunnel.name,
      local: end.local,
      remote: end.remote,
      ttl: tunnel.ttl,
      up: true,
      addresses: [{ local: end.address, peer: end.peerAddress, prefixLength: 32 }],
      ...keys[i],
    };
    if (tunnel.mtu !== undefined) result.mtu = tunnel.mtu;
    return result;
  };
  return [spec(0), spec(1)];
}

/**
 * The ends a ping has to start from. One ping proves both directions when each end's remote is
 * the other's local (the reply crosses back the same way); with NAT in between, both ends ping.
 */
export function pingingEnds(tunnel: Pick<NormalizedGreTunnel, "endpoints">): Array<0 | 1> {
  const [a, b] = tunnel.endpoints;
  return a.remote === b.local && b.remote === a.local ? [0] : [0, 1];
}

/** The router names of both ends, as errors and drift name them. */
export function endLabels(tunnel: Pick<NormalizedGreTunnel, "endpoints">): [string, string] {
  return [routerLabel(tunnel.endpoints[0].connection), routerLabel(tunnel.endpoints[1].connection)];
}

/** The resource id: the interface name and both routers' addresses. */
export function tunnelId(tunnel: NormalizedGreTunnel): string {
  const [a, b] = tunnel.endpoints;
  return `${tunnel.name}:${a.connection.host}:${b.connection.host}`;
}

/** The normalized inputs stored in outputs (what `read` hands back as inputs). */
export function inputsOf(t: NormalizedGreTunnel): NormalizedGreTunnel {
  const inputs: NormalizedGreTunnel = { name: t.name, ttl: t.ttl, verify: t.verify, endpoints: t.endpoints };
  if (t.key !== undefined) inputs.key = t.key;
  if (t.mtu !== undefined) inputs.mtu = t.mtu;
  return inputs;
}

/** The outputs for what both routers have. */
export function outputsFrom(
  t: NormalizedGreTunnel,
  hostKeys: [string, string],
  observed: [RouterObservation, RouterObservation],
): GreTunnelOutputs {
  const specs = endSpecs(t);
  const labels = endLabels(t);
  return {
    ...inputsOf(t),
    ends: [0, 1].map((i) =>
      endState(labels[i], t.endpoints[i].connection.host, specs[i], observed[i]),
    ) as GreTunnelOutputs["ends"],
    hostKeys,
  };
}

/** The result of the offline diff. */
export interface TunnelDiff {
  changes: boolean;
  replaces: string[];
  deleteBeforeReplace: boolean;
  /** Why, for people: changed properties and drifted ends. */
  reasons: string[];
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Compares the state (old outputs, refreshed or not) with new inputs, without SSH. A changed name,
 * router or underlay address replaces the tunnel (delete before create: the name is unique on a
 * router); keys, ttl, mtu and tunnel addresses change in place; an end that drifted (missing,
 * down, changed by hand) is an update that repairs that end.
 */
export function diffGreTunnel(olds: Partial<GreTunnelOutputs>, news: NormalizedGreTunnel): TunnelDiff {
  const replaces: string[] = [];
  const reasons: string[] = [];
  const changed = (path: string, before: unknown, after: unknown) => {
    if (containsUnknown(after) || !same(before, after)) {
      reasons.push(path);
      return true;
    }
    return false;
  };
  if (changed("name", olds.name, news.name)) replaces.push("name");
  news.endpoints.forEach((end, i) => {
    const old = olds.endpoints?.[i];
    for (const field of ["local", "remote"] as const) {
      if (changed(`endpoints[${i}].${field}`, old?.[field], end[field]))
        replaces.push(`endpoints[${i}].${field}`);
    }
    if (
      changed(
        `endpoints[${i}].connection.host`,
        old?.connection && routerAddress(old.connection),
        routerAddress(end.connection),
      )
    ) {
      replaces.push(`endpoints[${i}].connection.host`);
    }
    changed(`endpoints[${i}].address`, old?.address, end.address);
    changed(`endpoints[${i}].peerAddress`, old?.peerAddress, end.peerAddress);
    // Credentials, proxies or pins changed: nothing to do on the router, but the state must learn them.
    if (old?.connection) {
      const rest = (c: Connection) => ({ ...c, host: "", port: 0 });
      if (!same(withoutSecrets(rest(old.connection)), withoutSecrets(rest(end.connection)))) {
        reasons.push(`endpoints[${i}].connection`);
      } else if (!same(rest(old.connection), rest(end.connection))) {
        reasons.push(`endpoints[${i}].connection (credentials)`);
      }
    }
  });
  changed("key", olds.key, news.key);
  changed("ttl", olds.ttl, news.ttl);
  changed("mtu", olds.mtu, news.mtu);
  changed("verify", olds.verify, news.verify);
  for (const end of olds.ends ?? []) {
    reasons.push(...end.drift);
  }
  return { changes: reasons.length > 0, replaces, deleteBeforeReplace: replaces.length > 0, reasons };
}
