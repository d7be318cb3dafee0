/**
 * What a router reported about one end of a tunnel, as the outputs keep it: the device as found,
 * and how it differs from what was declared.
 *
 * @packageDocumentation
 */

/** What the router reported about its end, kept in state (no secrets). */
export interface TunnelEndState {
  /** The router, as errors name it. */
  router: string;
  /** The host the router is reached at. */
  host: string;
  /** Whether the device exists on the router. */
  present: boolean;
  /** Whether the device is up. */
  up: boolean;
  /** The device's interface index; null when it is missing. */
  ifindex: number | null;
  /** The device's underlay addresses as the kernel has them (null when missing). */
  local: string | null;
  /** The underlay address it sends to. */
  remote: string | null;
  /** The GRE key it accepts (null: none). */
  ikey: number | null;
  /** The GRE key it sends (null: none). */
  okey: number | null;
  /** Its outer TTL (hop limit over IPv6). */
  ttl: number | null;
  /** Its MTU. */
  mtu: number | null;
  /** The end's tunnel address on the device (null: none). */
  address: string | null;
  /** The peer address of that point-to-point address. */
  peerAddress: string | null;
  /** Each way the end differs from the inputs, naming the router; empty when it matches. */
  drift: string[];
}

/**
 * A tunnel's state at a glance, from a GreTunnel's outputs: `down` when an end is missing or down,
 * `no-traffic` when both ends are there but pings across fail, `drift` when anything else differs,
 * `up` otherwise; `unknown` before the tunnel was read (in a preview).
 */
export type TunnelState = "up" | "down" | "no-traffic" | "drift" | "unknown";

/** Every difference a GreTunnel's outputs name: its ends' drift, then the tunnel's own. */
export function tunnelDrift(
  ends: ReadonlyArray<Pick<TunnelEndState, "drift">> | undefined,
  own: readonly string[] | undefined,
): string[] {
  return [...(ends ?? []).flatMap((e) => e.drift ?? []), ...(own ?? [])];
}

/**
 * The {@link TunnelState} of a tunnel from its ends, its health (null with verify off) and every
 * difference ({@link tunnelDrift}).
 */
export function tunnelState(
  ends: ReadonlyArray<Pick<TunnelEndState, "present" | "up">> | undefined,
  health: { reachable: boolean } | null | undefined,
  drift: readonly string[],
): TunnelState {
  if (!ends) return "unknown";
  if (ends.some((e) => !e.present || !e.up)) return "down";
  if (health && !health.reachable) return "no-traffic";
  return drift.length > 0 ? "drift" : "up";
}
