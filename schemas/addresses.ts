/**
 * Addresses and prefixes: their schemas (a family, or either), what a unicast address of one
 * router is, NAT ranges, containment and overlap (with `ipaddr.js`, each text parsed once). Built
 * inside functions, never at import time: serialized provider code must capture no schema object.
 *
 * @packageDocumentation
 */
import * as ipaddr from "ipaddr.js";
import { z } from "zod";
import type { IpFamily } from "../model/tunnel";
import { processWide } from "./processState";
import { UNKNOWN } from "./unknown";

const EXAMPLE_ADDRESS: Record<IpFamily, string> = { ipv4: "198.51.100.11", ipv6: "2001:db8::11" };
const EXAMPLE_PREFIX: Record<IpFamily, string> = { ipv4: "10.2.1.0/24", ipv6: "2001:db8:1::/64" };
/** A family as messages name it. */
export const FAMILY_NAME: Record<IpFamily, string> = { ipv4: "IPv4", ipv6: "IPv6" };

/** Whether `value` is an address of `family`, written plainly (no prefix length, no zone). */
export function isAddress(family: IpFamily, value: string): boolean {
  return family === "ipv4"
    ? ipaddr.IPv4.isValidFourPartDecimal(value)
    : ipaddr.IPv6.isValid(value) && !value.includes("%");
}

/** Which family an address belongs to (undefined: neither, or unknown during a preview). */
export function familyOf(value: string): IpFamily | undefined {
  return isAddress("ipv4", value) ? "ipv4" : isAddress("ipv6", value) ? "ipv6" : undefined;
}

/** Which family a prefix (`10.2.1.0/24`, `2001:db8::/64`) belongs to. */
export function prefixFamily(prefix: string): IpFamily | undefined {
  return familyOf(prefix.split("/")[0]);
}

/** A host as one text however spelt: an IP address canonical, a DNS name in lower case. */
function canonicalHost(host: string): string {
  return familyOf(host) ? canonicalAddress(host) : host.toLowerCase();
}

/** Where a router is reached, as one text however its host is spelt: `host:port`, IPv6 in brackets. */
export function hostAndPort(host: string, port: number): string {
  const canonical = canonicalHost(host);
  return familyOf(canonical) === "ipv6" ? `[${canonical}]:${port}` : `${canonical}:${port}`;
}

/** An address as `ip` prints it: IPv6 in its canonical form (RFC 5952: lower case, shortest); IPv4 as given. */
export function canonicalAddress(value: string): string {
  return familyOf(value) === "ipv6" ? ipaddr.IPv6.parse(value).toString() : value;
}

/** A prefix as `ip` prints it: its address canonical (`2001:DB8:0::/64` → `2001:db8::/64`). */
export function canonicalPrefix(value: string): string {
  const [address, length] = value.split("/");
  return `${canonicalAddress(address)}/${length}`;
}

/** A family, or either of them (`"any"`). */
export type FamilyChoice = IpFamily | "any";

function familyMatches(choice: FamilyChoice, value: string): boolean {
  return choice === "any" ? familyOf(value) !== undefined : isAddress(choice, value);
}

function familyWords(choice: FamilyChoice, noun: string, examples: Record<IpFamily, string>): string {
  return choice === "any"
    ? `an IPv4 or IPv6 ${noun} such as ${examples.ipv4} or ${examples.ipv6}`
    : `an ${FAMILY_NAME[choice]} ${noun} such as ${examples[choice]}`;
}

/** Whether `value` is a prefix of `family` (`address/length`). */
export function isPrefix(family: IpFamily, value: string): boolean {
  return family === "ipv4" ? ipaddr.IPv4.isValidCIDR(value) : ipaddr.IPv6.isValidCIDR(value);
}

/**
 * Addresses that can never be a tunnel's endpoint or a tunnel address: `ip` reads 0.0.0.0 as "any"
 * (a tunnel that accepts GRE from anyone), and the rest do not belong to one router.
 */
const NOT_UNICAST: Array<[string, string, string]> = [
  ["0.0.0.0/8", "unspecified", '`ip` reads it as "any"'],
  ["255.255.255.255/32", "the broadcast address", "it reaches every host on a link"],
  ["127.0.0.0/8", "a loopback address", "it never leaves the router"],
  ["224.0.0.0/4", "a multicast address", "it is not one router's"],
  ["169.254.0.0/16", "a link-local address", "it is valid on one link only"],
  ["240.0.0.0/4", "a reserved (class E) address", "routers do not forward it"],
  ["::/128", "unspecified", '`ip` reads it as "any"'],
  ["::1/128", "a loopback address", "it never leaves the router"],
  ["ff00::/8", "a multicast address", "it is not one router's"],
  ["fe80::/10", "a link-local address", "it is valid on one link only"],
];

/** Why an IPv6 address that stands for something else (IPv4, a relay, a NAT mapping) is refused. */
function standIn(address: string): string | undefined {
  if (familyOf(address) !== "ipv6") return undefined;
  const parsed = parseAddress(address) as ipaddr.IPv6;
  switch (parsed.range()) {
    case "ipv4Mapped":
      return parsed.isIPv4MappedAddress()
        ? `must not be an IPv4-mapped IPv6 address (::ffff:0:0/96): write the IPv4 address, ${parsed.toIPv4Address().toString()}`
        : "must not be an IPv4-mapped IPv6 address (::ffff:0:0/96): write the IPv4 address";
    case "6to4":
      return "must not be a 6to4 address (2002::/16): it is an IPv4 address carried through public relays (deprecated, RFC 7526); use the router's native IPv6 address, or its IPv4 address";
    case "teredo":
      return "must not be a Teredo address (2001::/32): it belongs to a NAT mapping that changes, not to the router; use the router's native IPv6 address";
    default:
      return undefined;
  }
}

/** Why `address` cannot be one router's unicast address, or undefined when it can. */
export function notUnicast(address: string): string | undefined {
  const instead = standIn(address);
  if (instead) return instead;
  for (const [range, what, why] of NOT_UNICAST) {
    if (prefixContains(range, address)) return `must not be ${what} (${range}): ${why}`;
  }
  return undefined;
}

/**
 * The kind of address only a NAT makes reachable from elsewhere: "private" (RFC 1918) or "shared"
 * (RFC 6598, carrier-grade NAT); undefined for any other.
 */
export function natRange(address: string): "private" | "shared" | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  const range = ipaddr.parse(address).range();
  return range === "private" ? "private" : range === "carrierGradeNat" ? "shared" : undefined;
}

/** A unicast address of `family` (or of either): a tunnel endpoint or a tunnel address. */
export function unicastAddress(family: FamilyChoice = "ipv4") {
  return ipAddress(family).superRefine((value, ctx) => {
    if (value === UNKNOWN || !familyMatches(family, value)) return;
    const reason = notUnicast(value);
    if (reason) ctx.addIssue({ code: "custom", message: reason });
  });
}

/** An address of `family` (or of either) without prefix length; unknown during a preview passes. */
export function ipAddress(family: FamilyChoice = "ipv4") {
  return z.string().refine((value) => value === UNKNOWN || familyMatches(family, value), {
    message: `must be ${familyWords(family, "address", EXAMPLE_ADDRESS)}, without prefix length`,
  });
}

/** The network address of a prefix (`10.2.1.7/24` → `10.2.1.0`). */
export function networkOf(prefix: string): string {
  const [address, length] = ipaddr.parseCIDR(prefix);
  return address.kind() === "ipv4"
    ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${length}`).toString()
    : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${length}`).toString();
}

/** Why a prefix cannot be routed to a router's LAN (it lies in a range that is no router's), or undefined. */
export function notRoutable(prefix: string): string | undefined {
  for (const [range, what, why] of NOT_UNICAST) {
    if (prefixContainsPrefix(range, prefix))
      return `must not lie in ${range}, where every address is ${what}: ${why}`;
  }
  return undefined;
}

/** A prefix of `family` (or of either) that a router can route: a LAN, a route's destination. */
export function routablePrefix(family: FamilyChoice = "ipv4") {
  return ipPrefix(family, { routable: true });
}

/**
 * A network prefix of `family` (or of either) such as 10.2.1.0/24, whose address is the network's
 * own; with `routable`, also not inside a range no router routes ({@link notRoutable}).
 */
export function ipPrefix(family: FamilyChoice = "ipv4", options: { routable?: boolean } = {}) {
  return z.string().superRefine((value, ctx) => {
    if (value === UNKNOWN) return;
    const fits =
      family === "any" ? isPrefix("ipv4", value) || isPrefix("ipv6", value) : isPrefix(family, value);
    if (!fits) {
      ctx.addIssue({
        code: "custom",
        message: `must be ${familyWords(family, "prefix", EXAMPLE_PREFIX)}`,
      });
      return;
    }
    const [address, length] = ipaddr.parseCIDR(value);
    const network = networkOf(value);
    if (network !== address.toString()) {
      ctx.addIssue({
        code: "custom",
        message: `is not a network address; did you mean ${network}/${length}?`,
      });
      return;
    }
    const unroutable = options.routable ? notRoutable(value) : undefined;
    if (unroutable) ctx.addIssue({ code: "custom", message: unroutable });
  });
}

/**
 * Parsed addresses and prefixes, by their text. The stack's checks compare every tunnel end with
 * every router (a fleet of 200 routers and 400 tunnels asks about 300,000 times); parsing each text
 * once keeps that from dominating the program's run. Bounded: emptied when full.
 */
function parsedTexts() {
  return processWide("schemas.parsedTexts", () => ({
    addresses: new Map<string, ipaddr.IPv4 | ipaddr.IPv6>(),
    prefixes: new Map<string, [ipaddr.IPv4 | ipaddr.IPv6, number]>(),
  }));
}
function remembered<T>(cache: Map<string, T>, key: string, parse: (text: string) => T): T {
  let value = cache.get(key);
  if (value === undefined) {
    if (cache.size >= 8192) cache.clear();
    value = parse(key);
    cache.set(key, value);
  }
  return value;
}
// Parsed as before the cache (ipaddr.parse, ipaddr.parseCIDR): only how often changed.
const parseAddress = (text: string) => remembered(parsedTexts().addresses, text, ipaddr.parse);
const parsePrefix = (text: string) => remembered(parsedTexts().prefixes, text, (t) => ipaddr.parseCIDR(t));

/** Whether `address` lies inside `prefix` (same family). */
export function prefixContains(prefix: string, address: string): boolean {
  const at = parseAddress(address);
  const range = parsePrefix(prefix);
  return at.kind() === range[0].kind() && at.match(range);
}

/** Whether two prefixes (same family) share any address. */
export function prefixesOverlap(a: string, b: string): boolean {
  const [addressA, lengthA] = parsePrefix(a);
  const [addressB, lengthB] = parsePrefix(b);
  if (addressA.kind() !== addressB.kind()) return false;
  return lengthA <= lengthB ? addressB.match(addressA, lengthA) : addressA.match(addressB, lengthB);
}

/** Whether `outer` contains all of `inner` (same family): `inner` is as long or longer, and inside. */
export function prefixContainsPrefix(outer: string, inner: string): boolean {
  const [outerAddress, outerLength] = parsePrefix(outer);
  const [innerAddress, innerLength] = parsePrefix(inner);
  return (
    outerAddress.kind() === innerAddress.kind() &&
    innerLength >= outerLength &&
    innerAddress.match(outerAddress, outerLength)
  );
}
