/**
 * The field note's iproute2 commands for one end of a GRE tunnel, as argv arrays. Pure builders:
 * nothing here runs anything.
 *
 * @packageDocumentation
 */
import type { RemoteCommand } from "../transport/script";

/** An IPv4 address on the tunnel device; with `peer`, a point-to-point address as in the field note. */
export interface TunnelAddress {
  local: string;
  peer?: string;
  prefixLength: number;
}

/** One end of a GRE tunnel, as it should be (or was) on one router. */
export interface TunnelEndSpec {
  /** Interface name, the same on both routers. */
  name: string;
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
  return { argv: ["ip", "tunnel", "add", "name", spec.name, ...tunnelParameters(spec)] };
}

/** `ip tunnel change name NAME …`: keys, TTL and endpoints in place (the ifindex stays). */
export function tunnelChange(spec: TunnelEndSpec): RemoteCommand {
  return { argv: ["ip", "tunnel", "change", "name", spec.name, ...tunnelParameters(spec)] };
}

function tunnelParameters(spec: TunnelEndSpec): string[] {
  return [
    "mode",
    "gre",
    "remote",
    spec.remote,
    "local",
    spec.local,
    ...(spec.ikey === undefined ? [] : ["ikey", String(spec.ikey)]),
    ...(spec.okey === undefined ? [] : ["okey", String(spec.okey)]),
    "ttl",
    String(spec.ttl),
  ];
}

/**
 * The field note's `ip addr add 10.10.10.1 dev gre1 peer 10.10.10.2` (or `A/P dev D` without a
 * peer), as `ip addr replace`: the same address, but not an error when it is there already — on a
 * router whose systemd-networkd configures a persisted tunnel the moment its device appears.
 */
export function addressAdd(name: string, address: TunnelAddress): RemoteCommand {
  if (address.peer !== undefined) {
    const peer = address.prefixLength === 32 ? address.peer : `${address.peer}/${address.prefixLength}`;
    return { argv: ["ip", "addr", "replace", address.local, "dev", name, "peer", peer] };
  }
  return { argv: ["ip", "addr", "replace", `${address.local}/${address.prefixLength}`, "dev", name] };
}

/** Removes every IPv4 address of the device (its IPv6 link-local stays). */
export function addressFlush(name: string): RemoteCommand {
  return { argv: ["ip", "-4", "addr", "flush", "dev", name] };
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

/** The field note's teardown: `ip link set dev NAME down; ip tunnel del name NAME`. */
export function tunnelRemove(name: string): RemoteCommand[] {
  return [linkSet(name, false), { argv: ["ip", "tunnel", "del", "name", name] }];
}

/** Everything that brings a missing end into being, in the field note's order. */
export function tunnelCreate(spec: TunnelEndSpec): RemoteCommand[] {
  return [
    tunnelAdd(spec),
    ...spec.addresses.map((a) => addressAdd(spec.name, a)),
    linkSet(spec.name, spec.up, spec.mtu),
  ];
}

/** `ping -I ADDRESS PEER` across the tunnel, as the field note checks it (two quick probes). */
export function pingAcross(address: string, peer: string): RemoteCommand {
  return { argv: ["ping", "-n", "-q", "-c", "2", "-i", "0.2", "-W", "2", "-I", address, peer] };
}

/** `ping REMOTE` from the underlay address, the field note's reachability check. */
export function pingUnderlay(local: string, remote: string): RemoteCommand {
  return { argv: ["ping", "-n", "-q", "-c", "1", "-W", "2", "-I", local, remote] };
}
