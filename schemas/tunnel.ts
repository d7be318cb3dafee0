/**
 * What a tunnel is, wherever it is declared (GreTunnel, the stack config): its interface name,
 * mode, key (and how the far end mirrors it), TTL, MTU and MSS clamp, and what a mode refuses in
 * an end. Each schema built inside a function; the rules across properties are in `tunnelRules`.
 *
 * @packageDocumentation
 */
import { z } from "zod";
import { TUNNEL_MODES, type GreKey, type TcpMss } from "../model/tunnel";
import { wholeNumber } from "./numbers";

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

/** A tunnel's mode. */
export function tunnelMode() {
  return z.enum(TUNNEL_MODES, { error: `must be one of ${TUNNEL_MODES.join(", ")}` });
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
