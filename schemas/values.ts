/**
 * The value schemas: every kind of value a resource input or the stack config holds — addresses and
 * prefixes, interface names, GRE keys (and how the far end mirrors them), TTL, MTU, ports, host
 * keys, module and sysctl names — each defined once, with one message, and used by the stack config
 * and by every provider's `check`. Each is a function that builds its schema, never a schema built
 * at import time: serialized provider code must capture no schema object.
 *
 * @packageDocumentation
 */
import * as ipaddr from "ipaddr.js";
import { processWide } from "./processState";
import { z } from "zod";

/** The placeholder the engine sends for a value not known yet during a preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Whether the value (or anything inside it) is unknown. */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/** Whether the value is known during a preview (anything but the placeholder). */
export function isKnown(value: unknown): boolean {
  return !containsUnknown(value);
}

/** An IP family: what an underlay, a tunnel address or a route is made of. */
export type IpFamily = "ipv4" | "ipv6";

const EXAMPLE_ADDRESS: Record<IpFamily, string> = { ipv4: "198.51.100.11", ipv6: "2001:db8::11" };
const EXAMPLE_PREFIX: Record<IpFamily, string> = { ipv4: "10.2.1.0/24", ipv6: "2001:db8:1::/64" };
const FAMILY_NAME: Record<IpFamily, string> = { ipv4: "IPv4", ipv6: "IPv6" };

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

/** An address as `ip` prints it: IPv6 in its canonical form (RFC 5952: lower case, shortest); IPv4 as given. */
export function canonicalAddress(value: string): string {
  return familyOf(value) === "ipv6" ? ipaddr.IPv6.parse(value).toString() : value;
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

/** Why `address` cannot be one router's unicast address, or undefined when it can. */
export function notUnicast(address: string): string | undefined {
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

/** A network prefix of `family` (or of either) such as 10.2.1.0/24, whose address is the network's own. */
export function ipPrefix(family: FamilyChoice = "ipv4") {
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
    if (network !== address.toString())
      ctx.addIssue({
        code: "custom",
        message: `is not a network address; did you mean ${network}/${length}?`,
      });
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

/** A whole number in [min, max], with the message naming what is wrong. */
export function wholeNumber(min: number, max: number) {
  return z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(min, `must be ${min} or more`)
    .max(max, `must be at most ${max}`);
}

/**
 * Words iproute2 reads as keywords where an interface name may stand (`ip tunnel add csum …` names
 * the tunnel itself), and words other tools give a meaning: refused as interface names, even
 * though the commands use the unambiguous `name NAME` and `dev NAME` forms.
 */
export const RESERVED_INTERFACE_NAMES = [
  ...["mode", "remote", "local", "key", "ikey", "okey", "seq", "iseq", "oseq", "csum", "icsum", "ocsum"],
  ...["pmtudisc", "nopmtudisc", "ignore-df", "noignore-df", "ttl", "hoplimit", "tos", "dsfield", "tclass"],
  ...["encaplimit", "flowlabel", "dev", "name", "help", "h", "he", "hel", "any", "all", "default", "none"],
  ...["up", "down", "mtu", "type", "link", "address", "broadcast", "master", "nomaster", "netns", "alias"],
  ...["group", "vrf", "inherit", "external", "nocsum", "noseq", "nokey"],
];

/** A Linux interface name: 1–15 letters, digits, `_ . -`; not `.`/`..`, an option, or a word iproute2 reserves. */
export function interfaceName() {
  return z
    .string()
    .regex(
      /^[A-Za-z0-9_.-]{1,15}$/,
      "must be 1 to 15 letters, digits, `_`, `.` or `-` (a Linux interface name)",
    )
    .refine((n) => n !== "." && n !== "..", "must not be `.` or `..`")
    .refine((n) => !n.startsWith("-"), "must not start with `-` (commands would read it as an option)")
    .refine((n) => !RESERVED_INTERFACE_NAMES.includes(n.toLowerCase()), {
      message:
        "must not be a word iproute2 reads as a keyword (such as csum, seq, key, remote, help); choose another name",
    });
}

/** A GRE key: one number for both directions, or `{input, output}` as seen from the first end. */
export type GreKey = number | { input: number; output: number };

/**
 * A GRE key schema. Chosen by the value's type so that a bad number is told what is wrong with it
 * (a zod union would only say "invalid input").
 */
export function greKey() {
  const one = wholeNumber(0, 4294967295);
  const pair = z.object({ input: one, output: one }).strict();
  return z.unknown().transform((value, ctx): GreKey => {
    const result = typeof value === "number" ? one.safeParse(value) : pair.safeParse(value);
    if (result.success) return result.data as GreKey;
    for (const issue of result.error.issues) {
      ctx.addIssue({
        code: "custom",
        message:
          typeof value === "number" || (typeof value === "object" && value !== null)
            ? issue.message
            : "must be a number or {input, output}",
        path: issue.path as (string | number)[],
      });
    }
    return z.NEVER;
  });
}

/** The keys each end uses: the second end mirrors the first (it receives what the first sends). */
export function mirroredKeys(
  key: GreKey | undefined,
): [{ ikey?: number; okey?: number }, { ikey?: number; okey?: number }] {
  if (key === undefined) return [{}, {}];
  if (typeof key === "number")
    return [
      { ikey: key, okey: key },
      { ikey: key, okey: key },
    ];
  return [
    { ikey: key.input, okey: key.output },
    { ikey: key.output, okey: key.input },
  ];
}

/** A tunnel's outer TTL (hop limit). */
export function ttl() {
  return z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(
      1,
      'must be 1 or more: `ip` reads ttl 0 as "inherit" (each packet keeps its own TTL), which is not a fixed TTL',
    )
    .max(255, "must be at most 255");
}

/** A tunnel's MTU. */
export function mtu() {
  return wholeNumber(68, 65507);
}

/**
 * The MSS clamp of a tunnel: `"clamp"` (to the path MTU: the tunnel's MTU − 40) or a number of
 * bytes. Chosen by the value's type so that each mistake is told what is wrong with it.
 */
export function tcpMss() {
  const bytes = wholeNumber(536, 65495);
  return z.unknown().transform((value, ctx): "clamp" | number => {
    if (value === "clamp") return value;
    if (typeof value === "number") {
      const result = bytes.safeParse(value);
      if (result.success) return result.data;
      ctx.addIssue({ code: "custom", message: result.error.issues[0].message });
      return z.NEVER;
    }
    ctx.addIssue({ code: "custom", message: 'must be "clamp" (to the path MTU) or a number of bytes' });
    return z.NEVER;
  });
}

/** Why an MSS does not fit a tunnel of MTU `mtu`; undefined when it does (or either is not a number). */
export function mssBeyondMtu(mss: unknown, mtu: number | undefined): string | undefined {
  if (typeof mss !== "number" || mtu === undefined || mss <= mtu - 40) return undefined;
  return `is more than mtu ${mtu} allows (${mtu} − 40 bytes of IPv4 and TCP headers = ${mtu - 40}): segments would still not fit the tunnel`;
}

/** The GRE family: IPv4 or IPv6 underlay, carrying IP packets or Ethernet frames (`tap`). */
export const TUNNEL_MODES = ["gre", "gretap", "ip6gre", "ip6gretap"] as const;
/** One of {@link TUNNEL_MODES}; `gre` is the field note's. */
export type TunnelMode = (typeof TUNNEL_MODES)[number];

/** A tunnel's mode. */
export function tunnelMode() {
  return z.enum(TUNNEL_MODES, { error: `must be one of ${TUNNEL_MODES.join(", ")}` });
}

/** The underlay family of a mode: IPv6 for ip6gre and ip6gretap. */
export function underlayFamily(mode: TunnelMode): IpFamily {
  return mode.startsWith("ip6") ? "ipv6" : "ipv4";
}

/** Whether a mode carries Ethernet frames (gretap, ip6gretap) rather than IP packets. */
export function carriesEthernet(mode: TunnelMode): boolean {
  return mode.endsWith("tap");
}

/** One tunnel end's addressing, as both GreTunnel and the stack config give it. */
export interface EndAddressing {
  local?: string;
  remote?: string;
  address?: string;
  peerAddress?: string;
  bridge?: string;
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

/**
 * What a tunnel is, wherever it is declared (GreTunnel, the stack config): its name, mode, key,
 * TTL (hop limit over IPv6), MTU and MSS clamp, each with its one schema.
 */
export function tunnelParameters() {
  return {
    name: interfaceName(),
    mode: tunnelMode().optional(),
    key: greKey().optional(),
    ttl: ttl().optional(),
    mtu: mtu().optional(),
    tcpMss: tcpMss().optional(),
  };
}

/** Refuses an MSS clamp the tunnel's MTU cannot carry, or on a tunnel that is bridged, not routed, on the `tcpMss` path. */
export function refuseMssBeyondMtu(
  t: { tcpMss?: unknown; mtu?: number; mode?: TunnelMode },
  ctx: z.RefinementCtx,
): void {
  if (t.tcpMss !== undefined && t.mode !== undefined && carriesEthernet(t.mode)) {
    ctx.addIssue({
      code: "custom",
      path: ["tcpMss"],
      message: `applies to routed tunnels (gre, ip6gre): a ${t.mode} tunnel carries Ethernet frames through a bridge, so clamp where that traffic is routed`,
    });
    return;
  }
  const beyond = mssBeyondMtu(t.tcpMss, t.mtu);
  if (beyond) ctx.addIssue({ code: "custom", path: ["tcpMss"], message: beyond });
}

/** A TCP port. */
export function port() {
  return wholeNumber(1, 65535);
}

/** A route metric. */
export function routeMetric() {
  return wholeNumber(0, 4294967295);
}

/** A routing table: its number or "main"; never the local table (255), which the kernel owns. */
export function routeTable() {
  return z
    .union([z.literal("main"), wholeNumber(1, 4294967295)], { error: 'must be a table number or "main"' })
    .refine((t) => t !== 255, "must not be the local table (255)");
}

/** A host key pin as `ssh-keygen -lf` prints it. */
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
/** A public key as authorized_keys and `@pulumi/command`'s `hostKey` write it: `ssh-ed25519 AAAA… [comment]`. */
export const PUBLIC_KEY_LINE =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+)\s+([A-Za-z0-9+/]+={0,2})(\s.*)?$/;

/** A pinned SSH host key: its SHA256 fingerprint, or a public key line. */
export function hostKey() {
  return z.string().refine((value) => FINGERPRINT.test(value) || PUBLIC_KEY_LINE.test(value), {
    message:
      "must be an OpenSSH SHA256 fingerprint (SHA256:<43 characters>) or a public key line (ssh-ed25519 AAAA…)",
  });
}

/** A kernel module name as `modprobe` takes it; never an option (`-…`). */
export function moduleName() {
  return z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_-]{0,54}$/,
      "must be a kernel module name: letters, digits, `_` or `-`, starting with a letter or digit",
    );
}

/**
 * A sysctl name: dotted words of letters, digits, `_ : -`; a `/` joins two such words into one (a
 * dot inside an interface name: eth0/100 for eth0.100). No word is empty or starts with `-`, so no
 * path (`net.//.//..`) and no option can be made of it.
 */
export const SYSCTL_KEY = /^[a-z0-9_]+(\.[A-Za-z0-9_:][A-Za-z0-9_:-]*(\/[A-Za-z0-9_:][A-Za-z0-9_:-]*)*)+$/;

/** A sysctl name such as net.ipv4.ip_forward. */
export function sysctlKey() {
  return z.string().regex(SYSCTL_KEY, "must be a sysctl name such as net.ipv4.ip_forward");
}

/** A sysctl value: a whole number, or text on one line without `=`. */
export function sysctlValue() {
  const message = "must be a whole number, or a value on one line without `=`";
  return z.union(
    [z.string().regex(/^[^\n\r=]*[^\s=][^\n\r=]*$/, { error: message }), z.number().int({ error: message })],
    { error: message },
  );
}

/** A router's name in the stack config (and in errors). */
export function routerName() {
  return z
    .string()
    .regex(
      /^[A-Za-z][A-Za-z0-9_-]{0,31}$/,
      "router names are letters, digits, `_` and `-`, starting with a letter",
    );
}

/** The name of a (secret) config value. */
export function configValueName() {
  return z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, "must name a config value");
}
