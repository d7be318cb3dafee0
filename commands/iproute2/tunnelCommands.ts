/**
 * The field note's iproute2 commands for one end of a GRE tunnel, as argv arrays. Pure builders:
 * nothing here runs anything.
 *
 * @packageDocumentation
 */
import type { RemoteCommand } from "../../model/command";
import { familyOf } from "../../schemas/addresses";
import { type TunnelMode } from "../../model/tunnel";

/** An address on the tunnel device (IPv4 or IPv6); with `peer`, a point-to-point address as in the field note. */
export interface TunnelAddress {
  local: string;
  peer?: string;
  prefixLength: number;
}

/** One end of a GRE tunnel, as it should be (or was) on one router. */
export interface TunnelEndSpec {
  /** Interface name, the same on both routers. */
  name: string;
  /** The GRE mode; undefined is the field note's `gre`. */
  mode?: TunnelMode;
  /** For gretap and ip6gretap: the bridge this end is a port of. */
  bridge?: string;
  /** This router's underlay address. */
  local: string;
  /** Where this end sends to and expects packets from (the peer, or its NAT's public address). */
  remote: string;
  /** Input key (what this end expects on received packets) and output key; undefined: no key. */
  ikey?: number;
  okey?: number;
  ttl: number;
  /** Managed only when set; the kernel picks 1476 (1472 with keys) otherwise. */
  mtu?: number;
  up: boolean;
  addresses: TunnelAddress[];
}

/**
 * `ip tunnel add name NAME mode gre remote R local L [ikey I] [okey O] ttl T`: the field note's
 * command, with the name given as `name NAME` so that no name is read as a keyword (`ip tunnel add
 * csum …` would name the tunnel itself).
 */
export function tunnelAdd(spec: TunnelEndSpec): RemoteCommand {
  const mode = modeOf(spec);
  if (mode !== "gre") {
    // The other modes are link types: `ip link add name NAME type gretap|ip6gre|ip6gretap …`.
    return { argv: ["ip", "link", "add", "name", spec.name, "type", mode, ...linkParameters(spec)] };
  }
  return { argv: ["ip", "tunnel", "add", "name", spec.name, ...tunnelParameters(spec)] };
}

/** `ip tunnel change name NAME …` (`ip link set dev NAME type MODE …` for the other modes): keys, TTL and endpoints in place (the ifindex stays). */
export function tunnelChange(spec: TunnelEndSpec): RemoteCommand {
  const mode = modeOf(spec);
  if (mode !== "gre") {
    return { argv: ["ip", "link", "set", "dev", spec.name, "type", mode, ...linkParameters(spec)] };
  }
  return { argv: ["ip", "tunnel", "change", "name", spec.name, ...tunnelParameters(spec)] };
}

/** The end's mode: `gre` unless it says otherwise. */
export function modeOf(spec: Pick<TunnelEndSpec, "mode">): TunnelMode {
  return spec.mode ?? "gre";
}

function keyParameters(spec: TunnelEndSpec): string[] {
  return [
    ...(spec.ikey === undefined ? [] : ["ikey", String(spec.ikey)]),
    ...(spec.okey === undefined ? [] : ["okey", String(spec.okey)]),
  ];
}

function tunnelParameters(spec: TunnelEndSpec): string[] {
  return [
    "mode",
    "gre",
    "remote",
    spec.remote,
    "local",
    spec.local,
    ...keyParameters(spec),
    "ttl",
    String(spec.ttl),
  ];
}

function linkParameters(spec: TunnelEndSpec): string[] {
  // Over IPv6 the outer TTL is the hop limit.
  const ttl = modeOf(spec).startsWith("ip6") ? "hoplimit" : "ttl";
  return ["remote", spec.remote, "local", spec.local, ...keyParameters(spec), ttl, String(spec.ttl)];
}

/** `ip link set dev NAME master BRIDGE`: a gretap end becomes a port of its bridge. */
export function linkMaster(name: string, bridge: string): RemoteCommand {
  return { argv: ["ip", "link", "set", "dev", name, "master", bridge] };
}

/** The prefix length of a single address of the family of `address`: 32, or 128 for IPv6. */
export function hostPrefixLength(address: string): number {
  return familyOf(address) === "ipv6" ? 128 : 32;
}

/**
 * The field note's `ip addr add 10.10.10.1 dev gre1 peer 10.10.10.2` (or `A/P dev D` without a
 * peer), as `ip addr replace` for IPv4: the same address, but not an error when it is there
 * already — on a router whose systemd-networkd configures a persisted tunnel the moment its device
 * appears. For IPv6, `ip addr del` (which may find nothing) then `add`: the kernel (6.1, measured on
 * the lab) makes no route to the peer for an IPv6 address `replace` creates, and then nothing goes
 * into the tunnel.
 */
export function addressAdd(name: string, address: TunnelAddress): RemoteCommand[] {
  const peer =
    address.peer === undefined
      ? []
      : [
          "peer",
          address.prefixLength === hostPrefixLength(address.local)
            ? address.peer
            : `${address.peer}/${address.prefixLength}`,
        ];
  const local = address.peer === undefined ? `${address.local}/${address.prefixLength}` : address.local;
  if (familyOf(address.local) === "ipv6") {
    return [
      { argv: ["ip", "-6", "addr", "del", local, "dev", name], mayFail: true },
      { argv: ["ip", "-6", "addr", "add", local, "dev", name, ...peer] },
    ];
  }
  return [{ argv: ["ip", "addr", "replace", local, "dev", name, ...peer] }];
}

/** Removes every address of the device but its IPv6 link-local one (which the kernel gives it). */
export function addressFlush(name: string): RemoteCommand[] {
  return [
    { argv: ["ip", "-4", "addr", "flush", "dev", name] },
    { argv: ["ip", "-6", "addr", "flush", "dev", name, "scope", "global"] },
  ];
}

/** `ip link set dev NAME [mtu M] up|down`. */
export function linkSet(name: string, up: boolean, mtu?: number): RemoteCommand {
  return {
    argv: [
      "ip",
      "link",
      "set",
      "dev",
      name,
      ...(mtu === undefined ? [] : ["mtu", String(mtu)]),
      up ? "up" : "down",
    ],
  };
}

/** The field note's teardown: `ip link set dev NAME down; ip tunnel del name NAME` (`ip link del dev NAME` for the other modes). */
export function tunnelRemove(name: string, mode: TunnelMode = "gre"): RemoteCommand[] {
  return [
    linkSet(name, false),
    mode === "gre"
      ? { argv: ["ip", "tunnel", "del", "name", name] }
      : { argv: ["ip", "link", "del", "dev", name] },
  ];
}

/**
 * Whether the link must be up before its addresses are added: IPv6 addresses on a link that is
 * down get no route to their peer when it comes up (and are dropped when it goes down).
 */
export function upBeforeAddresses(spec: Pick<TunnelEndSpec, "addresses">): boolean {
  return spec.addresses.some((a) => familyOf(a.local) === "ipv6");
}

/** Everything that brings a missing end into being, in the field note's order (up first with IPv6 addresses). */
export function tunnelCreate(spec: TunnelEndSpec): RemoteCommand[] {
  const addresses = spec.addresses.flatMap((a) => addressAdd(spec.name, a));
  const link = linkSet(spec.name, spec.up, spec.mtu);
  return [
    tunnelAdd(spec),
    ...(spec.bridge === undefined ? [] : [linkMaster(spec.name, spec.bridge)]),
    ...(upBeforeAddresses(spec) ? [link, ...addresses] : [...addresses, link]),
  ];
}

/** `ping -I ADDRESS PEER` across the tunnel, as the field note checks it (two quick probes). */
export function pingAcross(address: string, peer: string): RemoteCommand {
  return { argv: ["ping", "-n", "-q", "-c", "2", "-i", "0.2", "-W", "2", "-I", address, peer] };
}

/**
 * `ping REMOTE` from the underlay address, the field note's reachability check: a probe every
 * 0.2 s until the first reply (`-c 1`) or 3 s (`-w 3`), so one lost probe — through a NAT, on a
 * busy path — is not taken for an underlay that does not reach; a healthy path answers at once.
 */
export function pingUnderlay(local: string, remote: string): RemoteCommand {
  return { argv: ["ping", "-n", "-q", "-c", "1", "-i", "0.2", "-w", "3", "-I", local, remote] };
}
