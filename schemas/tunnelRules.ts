/**
 * The rules a tunnel's properties obey together, one set for every place a tunnel is declared
 * (GreTunnel's `check` and the stack config, which refuses all of them before declaring anything):
 * what a mode refuses in an end, one family for the tunnel's addresses, ends that differ, the MSS
 * clamp and MTU per family (with the kernel's default MTU when `mtu` is not set), interface names
 * strongSwan can take with `ipsec`, and what `persist` cannot bring back. Pure.
 *
 * @packageDocumentation
 */
import {
  carriesEthernet,
  TCP_HEADERS,
  underlayFamily,
  type GreKey,
  type IpFamily,
  type TunnelMode,
} from "../model/tunnel";
import { canonicalAddress, FAMILY_NAME, familyOf, notUnicast } from "./addresses";
import { isKnown, UNKNOWN } from "./unknown";

/** One tunnel end's addressing, as both GreTunnel and the stack config give it. */
export interface EndAddressing {
  /** The end's own interface name, when it has one. */
  name?: string;
  local?: string;
  remote?: string;
  address?: string;
  peerAddress?: string;
  bridge?: string;
}

/** A tunnel as the rules see it; the stack leaves out the underlay addresses its routers give. */
export interface TunnelDeclaration {
  name?: string;
  /** Only whether it is there matters to the rules. */
  ipsec?: unknown;
  mode?: TunnelMode;
  key?: GreKey;
  mtu?: number;
  tcpMss?: unknown;
  persist?: boolean;
  ends: EndAddressing[];
}

/** A broken rule: its path in the declaration (the ends under `endsKey`), and why. */
export interface RuleProblem {
  path: Array<string | number>;
  message: string;
}

/** The IPv6 minimum link MTU (RFC 8200): below it the kernel turns IPv6 off on the link. */
export const IPV6_MIN_MTU = 1280;

/**
 * The MTU the kernel gives a tunnel when none is set, over a 1500-byte underlay (as measured on
 * Linux): 1500 less the outer header (IPv4 20; IPv6 40 and the 8-byte encapsulation limit option
 * ip6gre adds by default) and GRE's 4 bytes, 4 more with a key.
 */
export function defaultMtu(mode: TunnelMode, keyed: boolean): number {
  const outer = underlayFamily(mode) === "ipv6" ? 48 : 20;
  return 1500 - outer - 4 - (keyed ? 4 : 0);
}

/** The family of the tunnel's addresses (the first end's that is known); undefined when none is. */
export function innerFamily(
  ends: ReadonlyArray<Pick<EndAddressing, "address" | "peerAddress">>,
): IpFamily | undefined {
  for (const end of ends)
    for (const value of [end.address, end.peerAddress]) {
      const family = value !== undefined && value !== UNKNOWN ? familyOf(value) : undefined;
      if (family) return family;
    }
  return undefined;
}

/** The family of a known address that is valid as a tunnel's (an invalid one is refused already). */
function familyIfValid(value: string | undefined): IpFamily | undefined {
  const family = value !== undefined && isKnown(value) ? familyOf(value) : undefined;
  return family && notUnicast(value!) === undefined ? family : undefined;
}

/** Whether two values are the same known address, however spelt. */
function same(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || !isKnown(a) || !isKnown(b)) return false;
  return familyOf(a) !== undefined && canonicalAddress(a) === canonicalAddress(b);
}

/** Why the MSS clamp does not fit the tunnel, or undefined. */
function mssProblem(t: TunnelDeclaration): string | undefined {
  const mode = t.mode ?? "gre";
  if (t.tcpMss === undefined) return undefined;
  if (carriesEthernet(mode))
    return `applies to routed tunnels (gre, ip6gre): a ${mode} tunnel carries Ethernet frames through a bridge, so clamp where that traffic is routed`;
  if (typeof t.tcpMss !== "number") return undefined;
  const family = innerFamily(t.ends) ?? "ipv4";
  const headers = TCP_HEADERS[family];
  const mtu = t.mtu ?? defaultMtu(mode, t.key !== undefined);
  if (t.tcpMss <= mtu - headers) return undefined;
  const what = `${headers} bytes of ${FAMILY_NAME[family]} and TCP headers`;
  return t.mtu !== undefined
    ? `is more than mtu ${mtu} allows (${mtu} − ${what} = ${mtu - headers}): segments would still not fit the tunnel`
    : `is more than the tunnel carries: without mtu, the kernel gives a ${mode} tunnel${t.key !== undefined ? " with a key" : ""} ` +
        `MTU ${mtu} over a 1500-byte underlay (${mtu} − ${what} = ${mtu - headers}); set mtu to what the underlay path carries, or a smaller tcpMss`;
}

/**
 * What a mode refuses in one end, as `[property, reason]`: underlay addresses of the other family,
 * tunnel addresses of two families, a bridge on a tunnel that carries no Ethernet, an address on a
 * bridge port, and an end with neither.
 */
export function modeProblems(mode: TunnelMode, end: EndAddressing): Array<[keyof EndAddressing, string]> {
  const problems: Array<[keyof EndAddressing, string]> = [];
  const family = underlayFamily(mode);
  for (const key of ["local", "remote"] as const) {
    const value = end[key];
    if (value === undefined || value === UNKNOWN) continue;
    const found = familyOf(value);
    if (found && found !== family) {
      problems.push([
        key,
        `is an ${FAMILY_NAME[found]} address, but mode ${mode} runs over ${FAMILY_NAME[family]} ` +
          `(${family === "ipv6" ? "use gre or gretap for an IPv4 underlay" : "use ip6gre or ip6gretap for an IPv6 underlay"})`,
      ]);
    }
  }
  const [a, p] = [end.address, end.peerAddress].map((v) => (v === undefined ? undefined : familyOf(v)));
  if (a && p && a !== p) {
    problems.push([
      "peerAddress",
      `is ${FAMILY_NAME[p]} but address is ${FAMILY_NAME[a]}: both ends of the tunnel's addresses are one family`,
    ]);
  }
  if (end.bridge !== undefined && !carriesEthernet(mode)) {
    problems.push([
      "bridge",
      `only an Ethernet tunnel (gretap, ip6gretap) joins a bridge; mode ${mode} carries IP packets`,
    ]);
  }
  if (end.bridge !== undefined && end.address !== undefined) {
    problems.push([
      "address",
      `must be left out with bridge: a bridge port has no address of its own (give it to ${end.bridge})`,
    ]);
  }
  if (end.bridge === undefined && end.address === undefined) {
    problems.push([
      "address",
      carriesEthernet(mode) ? "is required unless the end joins a bridge" : "is required",
    ]);
  }
  return problems;
}

/** The rules between the two ends: families, bridges, and addresses that must differ. */
function pairProblems(
  mode: TunnelMode,
  ends: EndAddressing[],
  at: (e: number, key: string) => RuleProblem["path"],
) {
  const problems: RuleProblem[] = [];
  const [a, b] = ends;
  if ((a.bridge === undefined) !== (b.bridge === undefined) && carriesEthernet(mode))
    problems.push({
      path: at(a.bridge === undefined ? 0 : 1, "bridge"),
      message:
        "is needed on both ends or neither: a bridged end and an addressed end do not talk to each other",
    });
  if (same(a.local, b.local))
    problems.push({ path: at(1, "local"), message: "both endpoints have the same underlay address" });
  const explicitPeers = a.peerAddress !== undefined || b.peerAddress !== undefined;
  ends.forEach((end, i) => {
    const peer = ends[1 - i];
    const remote = end.remote ?? peer.local;
    if (same(remote, end.local))
      problems.push({
        path: at(i, end.remote === undefined ? "local" : "remote"),
        message: "local and remote are the same address",
      });
    const peerAddress = end.peerAddress ?? peer.address;
    // Two ends that give no peer address break a rule of their addresses together: said once, at
    // the second end.
    const quiet = i === 0 && !explicitPeers;
    const [own, theirs] = [end.address, peerAddress].map(familyIfValid);
    if (!quiet && end.peerAddress === undefined && own && theirs && own !== theirs)
      problems.push({
        path: at(i, "address"),
        message: `is ${FAMILY_NAME[own]} but the other end's address is ${FAMILY_NAME[theirs]}: a tunnel's addresses are one family`,
      });
    if (!quiet && same(end.address, peerAddress))
      problems.push({
        path: at(i, end.peerAddress === undefined ? "address" : "peerAddress"),
        message: "the two tunnel addresses are equal",
      });
    if (same(end.address, end.local) || same(end.address, remote))
      problems.push({
        path: at(i, "address"),
        message: "a tunnel address must differ from the underlay addresses",
      });
  });
  return problems;
}

/**
 * Every rule but persistence's (see {@link persistRules}), as problems whose end paths are under
 * `endsKey` (`endpoints` in GreTunnel, `ends` in the stack config).
 */
export function tunnelRules(t: TunnelDeclaration, endsKey: string): RuleProblem[] {
  const mode = t.mode ?? "gre";
  const at = (e: number, key: string) => [endsKey, e, key];
  const problems: RuleProblem[] = [];
  const mss = mssProblem(t);
  if (mss) problems.push({ path: ["tcpMss"], message: mss });
  const family = innerFamily(t.ends);
  if (family === "ipv6" && t.mtu !== undefined && t.mtu < IPV6_MIN_MTU)
    problems.push({
      path: ["mtu"],
      message: `is below ${IPV6_MIN_MTU}, the least a link carrying IPv6 may have: the kernel would turn IPv6 off on the tunnel, and its IPv6 addresses with it`,
    });
  t.ends.forEach((end, e) => {
    for (const [key, message] of modeProblems(mode, end)) problems.push({ path: at(e, key), message });
  });
  if (t.ends.length === 2) problems.push(...pairProblems(mode, t.ends, at));
  if (t.ipsec !== undefined) {
    // The tunnel's name and each end's own: each names that end's strongSwan connection.
    const names: Array<[Array<string | number>, string | undefined]> = [
      [["name"], t.name],
      ...t.ends.map((end, e): [Array<string | number>, string | undefined] => [at(e, "name"), end.name]),
    ];
    for (const [path, name] of names)
      if (name?.includes("."))
        problems.push({
          path,
          message:
            "with ipsec, letters, digits, `_` and `-` only: strongSwan reads `.` in a connection name as a separator",
        });
  }
  return problems;
}

/** What `persist` cannot bring back at boot: a bridge port, key 0. */
export function persistRules(t: TunnelDeclaration): RuleProblem[] {
  if (!t.persist) return [];
  const problems: RuleProblem[] = [];
  if (t.ends.some((e) => e.bridge !== undefined))
    problems.push({
      path: ["persist"],
      message:
        "cannot bring back a bridge port at boot: systemd-networkd joins a link only to a bridge it creates itself; " +
        "set persist: false and let the bridge's own configuration take the port",
    });
  const keys = t.key === undefined ? [] : typeof t.key === "number" ? [t.key] : [t.key.input, t.key.output];
  if (keys.includes(0))
    problems.push({
      path: ["key"],
      message:
        "0 cannot be persisted: systemd-networkd reads key 0 as no key; choose another key or persist: false",
    });
  return problems;
}
