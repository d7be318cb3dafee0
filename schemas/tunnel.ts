/**
 * What a tunnel is, wherever it is declared (GreTunnel, the stack config): its interface name,
 * mode, key (and how the far end mirrors it), TTL, MTU and MSS clamp, and what a mode refuses in
 * an end. Each schema built inside a function.
 *
 * @packageDocumentation
 */
import { z } from "zod";
import {
  carriesEthernet,
  TUNNEL_MODES,
  underlayFamily,
  type GreKey,
  type TcpMss,
  type TunnelMode,
} from "../model/tunnel";
import { FAMILY_NAME, familyOf } from "./addresses";
import { wholeNumber } from "./numbers";
import { UNKNOWN } from "./unknown";

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
  return z.unknown().transform((value, ctx): TcpMss => {
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

/** A tunnel's mode. */
export function tunnelMode() {
  return z.enum(TUNNEL_MODES, { error: `must be one of ${TUNNEL_MODES.join(", ")}` });
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
