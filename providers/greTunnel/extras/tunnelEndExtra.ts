/**
 * What a tunnel end may own besides its device — the files that bring it back at boot, the rule
 * that clamps TCP's MSS, and whatever comes next — as one interface. GreTunnel's steps iterate
 * over the extras: read what each needs (by name, in the end's round trip), find what stops it,
 * change it, name its drift, report it, and put it back. A new extra is a new file implementing
 * this, added to the list in `extras.ts`. Pure: no SSH here.
 *
 * @packageDocumentation
 */
import type { RemoteCommand } from "../../../model/command";
import type { GroupOutcomes, ReadGroups } from "../../keyedReads";
import type { IpFamily, TcpMss } from "../../../model/tunnel";
import type { TunnelEndSpec } from "../../../commands/iproute2/tunnelCommands";

/** What the inputs ask of an end besides the tunnel itself. */
export interface ExtrasWanted {
  persist: boolean;
  tcpMss?: TcpMss;
  /** The tunnel's addresses are IPv6 (its MSS clamp is for IPv6 TCP). */
  ipv6?: boolean;
  /** GRE over IPsec, the same for both ends. */
  ipsec?: WantedIpsec;
}

/** What `ipsec` asks of both ends: the key, the proposals, and who the ends are. */
export interface WantedIpsec {
  /** The underlay's family (which iptables guards it). */
  family: IpFamily;
  /** The pre-shared key. */
  psk: string;
  ike: readonly string[];
  esp: readonly string[];
  /** Both ends' underlay addresses (each end's identity). */
  locals: readonly [string, string];
}

/** One kind of thing a tunnel end owns besides its device. */
export interface TunnelEndExtra<View, State extends object> {
  /** Its name: its reads and its view travel under it. */
  readonly key: string;
  /**
   * What to read on a router, by name: what the inputs want, and what the state says is there
   * (to remove it), for the end whose interface is `name`. None when neither mentions it, so a
   * plain tunnel's refresh costs nothing more.
   */
  reads(name: string, wanted: ExtrasWanted, previous?: Partial<ExtrasWanted>): ReadGroups;
  /** What the router has, from the outcomes of its reads (undefined when none was read). */
  parse(name: string, outcomes: GroupOutcomes): View | undefined;
  /** Why the router cannot hold what is wanted (for preflight, before anything changes). */
  problems(spec: TunnelEndSpec, wanted: ExtrasWanted, view: View): string[];
  /**
   * The changes that must come before the device's (it sends as soon as it is up): none unless
   * the extra says so.
   */
  before?(spec: TunnelEndSpec, wanted: ExtrasWanted, view: View): RemoteCommand[];
  /** The changes that give the end what is wanted (`deleting`: after its device was removed). */
  changes(spec: TunnelEndSpec, wanted: ExtrasWanted, view: View, deleting: boolean): RemoteCommand[];
  /** How it differs from what is wanted, as short phrases. */
  drift(spec: TunnelEndSpec, wanted: ExtrasWanted, view: View): string[];
  /** Its part of the end's outputs (`view` undefined: not read). `mtu`: the device's, as found. */
  state(spec: TunnelEndSpec, wanted: ExtrasWanted, view: View | undefined, mtu: number | undefined): State;
  /**
   * The changes that put it back as it was (`before`), from how it is (`now`); `deleting`: the
   * device goes too (it was not there before).
   */
  restore(name: string, before: View, now: View, deleting: boolean): RemoteCommand[];
}
