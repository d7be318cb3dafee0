/**
 * GreTunnel's inputs: their zod schema (built inside functions, never at import time), the
 * normalization `check` performs, the per-router end specs they imply, and the offline `diff`.
 * Pure: no SSH here.
 *
 * @packageDocumentation
 */
import { z } from "zod";
import type { TcpMss } from "../iproute2/mssClamp";
import type { TunnelEndSpec } from "../iproute2/tunnelCommands";
import type { RouterObservation } from "../iproute2/planTunnel";
import { endState, type TunnelEndState } from "../iproute2/tunnelReport";
import { connectionSchema } from "../schemas/connection";
import {
  greKey,
  interfaceName,
  isKnown,
  mirroredKeys,
  mssBeyondMtu,
  mtu,
  tcpMss,
  ttl,
  unicastAddress,
  type GreKey,
} from "../schemas/values";
import { routerAddress, routerLabel, type Connection } from "../transport/connection";
import type { HostKeyOrigin, HostKeyState } from "./hostKeys";
import { extrasDrift, extrasState, type ExtrasState, type ExtrasView } from "./tunnelEndExtras";

export type { TunnelEndState, TcpMss };

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
  /**
   * Tunnel MTU; the kernel's default when unset: the underlay's MTU − 24 (1476 over 1500), − 4
   * more with keys (1472).
   */
  mtu?: number;
  /**
   * Clamp the MSS of TCP connections through the tunnel on both ends (a firewall rule of this
   * resource: nftables where the kernel takes it, else iptables): `"clamp"` to the path MTU — the
   * tunnel's MTU − 40, so 1436 over a 1500-byte underlay and 1360 with `mtu: 1400` — or a number of
   * bytes. Unset: no rule.
   */
  tcpMss?: TcpMss;
  /**
   * Bring the tunnel back at boot without Pulumi: systemd-networkd files on both routers
   * (`/etc/systemd/network/50-pulumi-gre-NAME.netdev` and `.network`). Default false. The MSS
   * rule is not persisted.
   */
  persist?: boolean;
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
  tcpMss?: TcpMss;
  persist: boolean;
  verify: boolean;
  endpoints: [Required<GreEndpointInputs>, Required<GreEndpointInputs>];
}

/** One end as the outputs record it: the device, its boot files and MSS rule, and drift. */
export type GreEndState = TunnelEndState & ExtrasState;

/** GreTunnel's outputs: the normalized inputs plus what was observed. */
export interface GreTunnelOutputs extends NormalizedGreTunnel {
  ends: [GreEndState, GreEndState];
  /** The routers' SSH host keys, enforced on every later operation (a new pin replaces them). */
  hostKeys: [string, string];
  /** Each router's jump host's key, when it is reached through one. */
  jumpHostKeys: [string | null, string | null];
  /** Where each router's host key came from. */
  hostKeyOrigins: [HostKeyOrigin, HostKeyOrigin];
}

/** The host keys a state recorded for end `i` (none before create, or in a state from before keys were recorded). */
export function endKeys(
  t: Partial<GreTunnelOutputs> | undefined,
  i: 0 | 1,
): Partial<HostKeyState> | undefined {
  if (!t) return undefined;
  return {
    hostKey: t.hostKeys?.[i],
    jumpHostKey: t.jumpHostKeys?.[i] ?? null,
    hostKeyOrigin: t.hostKeyOrigins?.[i],
  };
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
      tcpMss: tcpMss().optional(),
      persist: z.boolean().optional(),
      endpoints: z.array(endpoint).length(2, "a tunnel has exactly two endpoints"),
      verify: z.boolean().optional(),
    })
    .strict()
    .superRefine((t, ctx) => {
      const beyond = mssBeyondMtu(t.tcpMss, t.mtu);
      if (beyond) ctx.addIssue({ code: "custom", path: ["tcpMss"], message: beyond });
      if (t.persist && t.key !== undefined) {
        const keys = typeof t.key === "number" ? [t.key] : [t.key.input, t.key.output];
        if (keys.includes(0)) {
          ctx.addIssue({
            code: "custom",
            path: ["key"],
            message:
              "0 cannot be persisted: systemd-networkd reads key 0 as no key; choose another key or persist: false",
          });
        }
      }
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
    persist: inputs.persist ?? false,
    verify: inputs.verify ?? true,
    endpoints: [end(a, b), end(b, a)],
  };
  if (inputs.key !== undefined) normalized.key = inputs.key;
  if (inputs.mtu !== undefined) normalized.mtu = inputs.mtu;
  if (inputs.tcpMss !== undefined) normalized.tcpMss = inputs.tcpMss;
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
  const inputs: NormalizedGreTunnel = {
    name: t.name,
    ttl: t.ttl,
    // A state from before persist existed has none.
    persist: t.persist ?? false,
    verify: t.verify,
    endpoints: t.endpoints,
  };
  if (t.key !== undefined) inputs.key = t.key;
  if (t.mtu !== undefined) inputs.mtu = t.mtu;
  if (t.tcpMss !== undefined && t.tcpMss !== null) inputs.tcpMss = t.tcpMss;
  return inputs;
}

/** The outputs for what both routers have. */
export function outputsFrom(
  t: NormalizedGreTunnel,
  keys: [HostKeyState, HostKeyState],
  observed: [RouterObservation, RouterObservation],
  extras: [ExtrasView, ExtrasView],
): GreTunnelOutputs {
  const specs = endSpecs(t);
  const labels = endLabels(t);
  const wanted = { persist: t.persist ?? false, tcpMss: t.tcpMss ?? undefined };
  const ends = [0, 1].map((i): GreEndState => {
    const device = endState(labels[i], t.endpoints[i].connection.host, specs[i], observed[i]);
    return {
      ...device,
      ...extrasState(specs[i], wanted, extras[i], device.mtu ?? undefined),
      drift: [...device.drift, ...extrasDrift(specs[i], wanted, extras[i]).map((d) => `${labels[i]}: ${d}`)],
    };
  });
  return {
    ...inputsOf(t),
    ends: ends as GreTunnelOutputs["ends"],
    hostKeys: [keys[0].hostKey, keys[1].hostKey],
    jumpHostKeys: [keys[0].jumpHostKey, keys[1].jumpHostKey],
    hostKeyOrigins: [keys[0].hostKeyOrigin, keys[1].hostKeyOrigin],
  };
}
