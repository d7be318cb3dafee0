/**
 * GreTunnel's inputs and outputs: their types, the per-router end specs the inputs imply, and
 * the outputs for what both routers have (the schema is in greTunnelSchema.ts). Pure: no SSH here.
 *
 * @packageDocumentation
 */
import type { TunnelEndSpec } from "../../commands/iproute2/tunnelCommands";
import { healthProblem, type TunnelHealth } from "../../commands/health/tunnelHealth";
import type { RouterObservation } from "../../commands/iproute2/planTunnel";
import { endState } from "../../commands/iproute2/tunnelReport";
import type { TunnelEndState } from "../../model/endState";
import { hostPrefixLength } from "../../commands/iproute2/tunnelCommands";
import { carriesEthernet, underlayFamily, type TunnelMode } from "../../model/tunnel";
import { mirroredKeys } from "../../schemas/tunnel";
import { credentialsOf, routerLabel, withCredentials, withoutSecrets } from "../../transport/connection";
import type { NormalizedGreEndpoint, NormalizedGreTunnel } from "../../model/greTunnel";
import type { HostKeyOrigin, HostKeyState } from "../hostKeys";
import { extrasDrift, extrasState, wantedExtras, type ExtrasState, type ExtrasView } from "./extras/extras";

/** One end as the outputs record it: the device, its boot files and MSS rule, and drift. */
export type GreEndState = TunnelEndState & ExtrasState;

/** Whether the tunnel carries traffic, at the last create, update or refresh, and why not. */
export interface GreTunnelHealth extends TunnelHealth {
  /** Why it does not carry traffic, each naming the router; empty when it does. */
  causes: string[];
}

/** GreTunnel's outputs: the normalized inputs plus what was observed. */
export interface GreTunnelOutputs extends NormalizedGreTunnel {
  ends: [GreEndState, GreEndState];
  /** The routers' SSH host keys, enforced on every later operation (a new pin replaces them). */
  hostKeys: [string, string];
  /** Each router's jump host's key, when it is reached through one. */
  jumpHostKeys: [string | null, string | null];
  /** Where each router's host key came from. */
  hostKeyOrigins: [HostKeyOrigin, HostKeyOrigin];
  /** Pings across the tunnel (null with verify off). */
  health: GreTunnelHealth | null;
  /** What is wrong with the tunnel as a whole (it carries no traffic, and why); the ends' own drift is theirs. */
  drift: string[];
}

/**
 * A GreTunnel state as the engine hands it back: the normalized inputs, and what the version that
 * wrote it observed (a state from an older version may lack some of it).
 */
export type GreTunnelState = Omit<NormalizedGreTunnel, "credentials"> &
  Partial<Omit<GreTunnelOutputs, keyof Omit<NormalizedGreTunnel, "credentials">>>;

/**
 * The tunnel as the steps work with it: each end's connection with its credentials put back in
 * (from `credentials`, or already inside the connection in a state written by 0.3.0 or earlier), and the
 * credentials apart as well. Outputs and the inputs `read` returns keep them apart again
 * ({@link inputsOf}).
 */
export function withLiveConnections<T extends GreTunnelState>(t: T): T & NormalizedGreTunnel {
  const live = (i: 0 | 1) => withCredentials(t.endpoints[i].connection, t.credentials?.[i]);
  return {
    ...t,
    endpoints: [0, 1].map((i) => ({ ...t.endpoints[i], connection: live(i as 0 | 1) })) as [
      NormalizedGreEndpoint,
      NormalizedGreEndpoint,
    ],
    credentials: [credentialsOf(live(0)), credentialsOf(live(1))],
  };
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

/** End `i`'s interface name on its router: its own, else the tunnel's. */
export function endName(tunnel: Pick<NormalizedGreTunnel, "name" | "endpoints">, i: 0 | 1): string {
  return tunnel.endpoints[i].name ?? tunnel.name;
}

/** What each router should have: the field note's tunnel, address and link state. */
export function endSpecs(tunnel: NormalizedGreTunnel): [TunnelEndSpec, TunnelEndSpec] {
  const keys = mirroredKeys(tunnel.key);
  const spec = (i: 0 | 1): TunnelEndSpec => {
    const end = tunnel.endpoints[i];
    const result: TunnelEndSpec = {
      name: endName(tunnel, i),
      local: end.local,
      remote: end.remote,
      ttl: tunnel.ttl,
      up: true,
      addresses:
        end.address === undefined
          ? []
          : [{ local: end.address, peer: end.peerAddress, prefixLength: hostPrefixLength(end.address) }],
      ...keys[i],
    };
    if (tunnel.mode !== undefined) result.mode = tunnel.mode;
    if (end.bridge !== undefined) result.bridge = end.bridge;
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

/**
 * The normalized inputs stored in outputs (what `read` hands back as inputs), from the tunnel as
 * {@link withLiveConnections} gives it: the connections without their secrets, which are in its
 * credentials already.
 */
export function inputsOf(t: NormalizedGreTunnel): NormalizedGreTunnel {
  const inputs: NormalizedGreTunnel = {
    name: t.name,
    ...(t.mode === undefined ? {} : { mode: t.mode }),
    ttl: t.ttl,
    // A state from before persist existed has none.
    persist: t.persist ?? false,
    verify: t.verify,
    // The connections without their secrets, which are in credentials (a secret property).
    endpoints: [0, 1].map((i) => ({
      ...t.endpoints[i],
      connection: withoutSecrets(t.endpoints[i].connection),
    })) as NormalizedGreTunnel["endpoints"],
    credentials: t.credentials,
  };
  if (t.key !== undefined) inputs.key = t.key;
  if (t.mtu !== undefined) inputs.mtu = t.mtu;
  if (t.tcpMss !== undefined && t.tcpMss !== null) inputs.tcpMss = t.tcpMss;
  if (t.ipsec !== undefined && t.ipsec !== null) inputs.ipsec = t.ipsec;
  return inputs;
}

/**
 * Outputs or inputs in the shape states had up to 0.3.0: each end's connection with its secrets
 * inside it (`live`'s), no `credentials`.
 */
export function inOldShape<T extends GreTunnelState>(values: T, live: NormalizedGreTunnel): T {
  const { credentials: _credentials, ...rest } = values;
  return {
    ...rest,
    endpoints: values.endpoints.map((e, i) => ({ ...e, connection: live.endpoints[i].connection })),
  } as T;
}

/** The outputs for what both routers have. */
export function outputsFrom(
  t: NormalizedGreTunnel,
  keys: [HostKeyState, HostKeyState],
  observed: [RouterObservation, RouterObservation],
  extras: [ExtrasView, ExtrasView],
  health: GreTunnelHealth | null,
  ipsecProblem?: string,
): GreTunnelOutputs {
  const specs = endSpecs(t);
  const labels = endLabels(t);
  const wanted = wantedExtras(t);
  // The health's problem, named after the end whose pings found it, and its causes: the tunnel's own drift.
  const pinger = health ? labels.indexOf(health.from[0]) : -1;
  const from = pinger === 1 ? 1 : 0;
  const problem = health
    ? healthProblem(endName(t, from), pingPair(t.endpoints[from])[1], health, t.ipsec !== undefined)
    : undefined;
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
    health,
    drift: [
      ...(ipsecProblem ? [`IPsec: ${ipsecProblem}`] : []),
      ...(problem ? [`${labels[Math.max(pinger, 0)]}: ${problem}`, ...health!.causes] : []),
    ],
  };
}

/**
 * The kernel's MTU for a tunnel over a 1500-byte underlay: 1500 − the outer IP header (20, or 40
 * and an 8-byte encapsulation limit option over IPv6) − GRE's 4 bytes (8 with a key) − an
 * Ethernet header (14) for gretap modes. 1476 for the field note's tunnel, 1472 with its key.
 */
export function defaultMtu(mode: TunnelMode, keyed: boolean): number {
  const outer = underlayFamily(mode) === "ipv6" ? 48 : 20;
  return 1500 - outer - (keyed ? 8 : 4) - (carriesEthernet(mode) ? 14 : 0);
}

/** The size a health check probes at end `i`: the tunnel's MTU as declared, or as last seen, or the kernel's default. */
export function probeMtu(
  t: Pick<NormalizedGreTunnel, "mtu" | "key" | "mode">,
  i: 0 | 1,
  ends?: Array<{ mtu: number | null }>,
): number {
  return t.mtu ?? ends?.[i]?.mtu ?? defaultMtu(t.mode ?? "gre", t.key !== undefined);
}

/** The tunnel addresses an end pings from and to (only ends {@link healthEnds} chose, which have both). */
export function pingPair(end: NormalizedGreEndpoint): [string, string] {
  if (end.address === undefined || end.peerAddress === undefined) {
    throw new Error("a tunnel end without addresses cannot ping across");
  }
  return [end.address, end.peerAddress];
}

/** The ends a health check pings from: none when the tunnel has no addresses of its own (bridged ends). */
export function healthEnds(t: Pick<NormalizedGreTunnel, "endpoints" | "verify">): Array<0 | 1> {
  if (!t.verify || t.endpoints.some((e) => e.address === undefined || e.peerAddress === undefined)) return [];
  return pingingEnds(t);
}
