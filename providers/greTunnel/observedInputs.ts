/**
 * GreTunnel's inputs as the routers have them: what `read` returns as inputs, so that Pulumi's own
 * rendering of old inputs against the program's shows the drift, end by end (`endpoints[1]`'s
 * `address` absent where routerB's gre1 is gone, the key as a router has it, `persist` false where
 * a boot file is missing). What no input can show (a link set down, traffic that does not cross)
 * stays in the outputs' `ends[i].drift` and `drift`. Pure: from the outputs of a read.
 *
 * @packageDocumentation
 */
import type { NormalizedGreTunnel } from "../../model/greTunnel";
import type { GreKey } from "../../model/tunnel";
import { mirroredKeys } from "../../schemas/tunnel";
import type { GreEndState } from "./spec";

type EndKeys = { ikey?: number; okey?: number };

const sameKeys = (a: EndKeys, b: { ikey: number | null; okey: number | null }) =>
  (a.ikey ?? null) === b.ikey && (a.okey ?? null) === b.okey;

/** A key as seen from `endpoints[0]`, from one end's keys (`mirror`: they are endpoints[1]'s). */
function keyFrom(end: { ikey: number | null; okey: number | null }, mirror: boolean): GreKey | undefined {
  const [input, output] = mirror ? [end.okey, end.ikey] : [end.ikey, end.okey];
  if (input === null && output === null) return undefined;
  return input === output ? (input as number) : { input: input ?? 0, output: output ?? 0 };
}

/** The declared inputs `t`, with what each router has (its end as `ends[i]` records it) in their place. */
export function observedInputs(
  t: NormalizedGreTunnel,
  ends: [GreEndState, GreEndState],
): NormalizedGreTunnel {
  const observed: NormalizedGreTunnel = { ...t, endpoints: [{ ...t.endpoints[0] }, { ...t.endpoints[1] }] };
  ends.forEach((end, i) => {
    const endpoint = observed.endpoints[i];
    // An end without its device has no tunnel address on that router.
    if (!end.present) {
      delete endpoint.address;
      delete endpoint.peerAddress;
      return;
    }
    if (end.remote !== null && end.remote !== endpoint.remote) endpoint.remote = end.remote;
    if (end.local !== null && end.local !== endpoint.local) endpoint.local = end.local;
    if (endpoint.address !== undefined) {
      if (end.address === null) delete endpoint.address;
      else endpoint.address = end.address;
    }
    if (endpoint.peerAddress !== undefined) {
      if (end.peerAddress === null) delete endpoint.peerAddress;
      else endpoint.peerAddress = end.peerAddress;
    }
  });
  // The key, the TTL and the MTU are the tunnel's: shown as the first end that differs has them.
  const wanted = mirroredKeys(t.key);
  const keyed = [0, 1].find((i) => ends[i].present && !sameKeys(wanted[i], ends[i]));
  if (keyed !== undefined) {
    const key = keyFrom(ends[keyed], keyed === 1);
    if (key === undefined) delete observed.key;
    else observed.key = key;
  }
  const ttl = ends.find((e) => e.present && e.ttl !== null && e.ttl !== t.ttl)?.ttl;
  if (ttl !== undefined && ttl !== null) observed.ttl = ttl;
  if (t.mtu !== undefined) {
    const mtu = ends.find((e) => e.present && e.mtu !== null && e.mtu !== t.mtu)?.mtu;
    if (mtu !== undefined && mtu !== null) observed.mtu = mtu;
  }
  // Persisted: the tunnel's boot files, and its clamp's boot unit where it has one.
  observed.persist = t.persist
    ? ends.every((e) => e.persisted === true && e.tcpMss?.persisted !== false)
    : ends.some((e) => e.persisted === true || e.tcpMss?.persisted === true);
  const clamp = ends.find((e) => (e.tcpMss?.setting ?? undefined) !== t.tcpMss);
  if (clamp) {
    const setting = clamp.tcpMss?.setting;
    if (setting === undefined || setting === "other") delete observed.tcpMss;
    else observed.tcpMss = setting;
  }
  return observed;
}
