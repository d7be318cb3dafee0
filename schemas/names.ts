/**
 * Names that reach a router's tools or the stack's messages: kernel modules, sysctls (and their
 * values), routers, config values. None can be read as an option or a path.
 *
 * @packageDocumentation
 */
import { z } from "zod";

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
    [
      z
        .string()
        .max(4096, { error: "must be at most 4096 characters (what the kernel takes in one write)" })
        .regex(/^[^\n\r=]*[^\s=][^\n\r=]*$/, { error: message }),
      z.number().int({ error: message }),
    ],
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
  return z
    .string()
    .max(128, "must be at most 128 characters")
    .regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, "must name a config value");
}

/** An IKE or ESP proposal as strongSwan spells it: algorithm keywords joined by `-`. */
export function ipsecProposal() {
  return z
    .string()
    .max(200, "at most 200 characters")
    .regex(
      /^[a-z0-9]+(-[a-z0-9]+)*$/,
      "a strongSwan proposal: lowercase algorithm keywords joined by '-' (e.g. aes256gcm16-prfsha384-x25519)",
    );
}

/** A list of proposals, most preferred first. */
export function ipsecProposals() {
  return z.array(ipsecProposal()).min(1, "at least one proposal");
}
