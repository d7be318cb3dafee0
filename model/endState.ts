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
  host: string;
  present: boolean;
  up: boolean;
  ifindex: number | null;
  local: string | null;
  remote: string | null;
  ikey: number | null;
  okey: number | null;
  ttl: number | null;
  mtu: number | null;
  address: string | null;
  peerAddress: string | null;
  /** Each way the end differs from the inputs, naming the router; empty when it matches. */
  drift: string[];
}
