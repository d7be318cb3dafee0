/**
 * Parsers for what iproute2 prints as JSON: `ip -j -d link show` and `ip -j addr show`. Pure
 * functions, tested against output recorded on lab routers (test/fixtures/ip/).
 *
 * @packageDocumentation
 */
import * as ipaddr from "ipaddr.js";
import { parsedOnce } from "./parsedOnce";

/** A network device as `ip -j -d link show` describes it. */
export interface LinkState {
  ifindex: number;
  name: string;
  /** `linkinfo.info_kind`: "gre", "veth", "dummy", …; undefined for plain devices. */
  kind?: string;
  /** Administratively up (the UP flag). */
  up: boolean;
  mtu: number;
  /** For tunnels: underlay endpoints ("any" when unset, as on the fallback device gre0). */
  local?: string;
  remote?: string;
  /** For tunnels: TTL (hop limit over IPv6; 0 means inherit) and keys as numbers, undefined when the tunnel has none. */
  ttl?: number;
  /** The bridge this device is a port of. */
  master?: string;
  ikey?: number;
  okey?: number;
}

/** One IP address on a device, as `ip -j addr show` describes it. */
export interface AddressState {
  device: string;
  family: "inet" | "inet6";
  /** The device's own address. */
  local: string;
  prefixLength: number;
  /** The peer of a point-to-point address (`ip addr add A dev D peer P`). */
  peer?: string;
  /** `global`, or `link` for an IPv6 link-local address the kernel gives each device. */
  scope?: string;
}

interface RawLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu: number;
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

interface RawAddressInfo {
  family: string;
  local: string;
  address?: string;
  prefixlen: number;
  scope?: string;
}

/** GRE keys are printed as dotted quads ("0.0.0.1" for key 1). */
export function parseGreKey(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  if (!ipaddr.IPv4.isValidFourPartDecimal(value)) {
    throw new Error(`unexpected GRE key ${JSON.stringify(value)} in ip output`);
  }
  const bytes = ipaddr.IPv4.parse(value).toByteArray();
  return ((bytes[0] << 24) >>> 0) + (bytes[1] << 16) + (bytes[2] << 8) + bytes[3];
}

function parseJsonArray(text: string, what: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new Error(`${what} did not print JSON: ${trimmed.slice(0, 200)}`);
  }
  if (!Array.isArray(parsed)) throw new Error(`${what} printed JSON that is not a list`);
  return parsed;
}

/** Parses `ip -j -d link show [dev NAME]` (once per output: see `parsedOnce.ts`). */
export function parseIpLink(text: string): LinkState[] {
  return parsedOnce("link", text, parseLinks);
}

function parseLinks(text: string): LinkState[] {
  return (parseJsonArray(text, "ip -j -d link show") as RawLink[]).map((raw) => {
    const data = raw.linkinfo?.info_data ?? {};
    const link: LinkState = {
      ifindex: raw.ifindex,
      name: raw.ifname,
      kind: raw.linkinfo?.info_kind,
      up: (raw.flags ?? []).includes("UP"),
      mtu: raw.mtu,
    };
    if (typeof data.local === "string") link.local = data.local;
    if (typeof data.remote === "string") link.remote = data.remote;
    if (typeof data.ttl === "number") link.ttl = data.ttl;
    // ip6gre and ip6gretap print their hop limit under its own name.
    if (typeof data.hoplimit === "number") link.ttl = data.hoplimit;
    if (typeof raw.master === "string") link.master = raw.master;
    const ikey = parseGreKey(data.ikey);
    const okey = parseGreKey(data.okey);
    if (ikey !== undefined) link.ikey = ikey;
    if (okey !== undefined) link.okey = okey;
    return link;
  });
}

/** Parses `ip -j addr show [dev NAME]` into a flat list of addresses (once per output). */
export function parseIpAddr(text: string): AddressState[] {
  return parsedOnce("addr", text, parseAddresses);
}

function parseAddresses(text: string): AddressState[] {
  const devices = parseJsonArray(text, "ip -j addr show") as Array<{
    ifname: string;
    addr_info?: RawAddressInfo[];
  }>;
  const addresses: AddressState[] = [];
  for (const device of devices) {
    for (const info of device.addr_info ?? []) {
      if (info.family !== "inet" && info.family !== "inet6") continue;
      const address: AddressState = {
        device: device.ifname,
        family: info.family,
        local: info.local,
        prefixLength: info.prefixlen,
      };
      if (info.address !== undefined && info.address !== info.local) address.peer = info.address;
      if (info.scope !== undefined) address.scope = info.scope;
      addresses.push(address);
    }
  }
  return addresses;
}

/** Whether iproute2's stderr says the device does not exist. */
export function isMissingDevice(stderr: string): boolean {
  return /Device ".*" does not exist|Cannot find device/.test(stderr);
}
