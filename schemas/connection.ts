/**
 * The schema of a router's SSH connection: the fields of `@pulumi/command`'s `remote.Connection`
 * (so Pulumi users know it), plus a host-key pin, `sudo`, a ProxyCommand, a command timeout and a
 * name. Providers check connections with it; the stack config uses the same fields, with secrets
 * given by reference instead.
 *
 * @packageDocumentation
 */
import * as ipaddr from "ipaddr.js";
import { z } from "zod";
import { hostKey } from "./hostKey";
import { port } from "./numbers";

/** The fields that hold secrets: never logged, never put in errors, and secret in state. */
export const SECRET_CONNECTION_FIELDS = ["password", "privateKey", "privateKeyPassword"] as const;

/** Why a host cannot be dialed as a router: read as an option, or as this machine. */
function hostProblem(host: string): string | undefined {
  if (host.length > 253) return "must be at most 253 characters (a DNS name's limit)";
  if (host.startsWith("-"))
    return "must not start with `-`: ssh, and a ProxyCommand's %h, would read it as an option";
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) return "must be a host name or an IP address";
  if (ipaddr.isValid(host) && ipaddr.parse(host).range() === "unspecified")
    return "is the unspecified address (0.0.0.0 or ::, however spelt): it reaches this machine, not a router";
  return undefined;
}

/** A router's or jump host's host name or address (see {@link hostProblem}). */
export function hostName() {
  return z.string().superRefine((host, ctx) => {
    const problem = hostProblem(host);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

/** Text that is printed (in drift, errors, the preview): one line, no control characters. */
export function printableText(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .regex(
      /^[^\p{C}]*$/u,
      "must be printable text on one line: no control characters, line breaks or escapes",
    );
}

/** The longest timer Node keeps (2^31 - 1 ms), in whole seconds. */
export const MAX_TIMER_SECONDS = 2_147_483;

/** The fields a jump host shares with a router, secrets left out. */
export function plainProxyFields() {
  return {
    host: hostName(),
    port: port().optional(),
    user: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, "must be a user name (letters, digits, `_ . -`)")
      .optional(),
    // A Unix socket's path: at most 107 bytes (sun_path).
    agentSocketPath: z.string().min(1).max(107).optional(),
    // As @pulumi/command reads them: -1 retries without limit, 0 dials once; a per-dial timeout of
    // 0 has no maximum (Node's timers stop at 2^31 - 1 ms, hence the cap).
    dialErrorLimit: z
      .number()
      .int("a whole number of attempts")
      .min(-1, "-1 (retry without limit) or a number of attempts")
      .optional(),
    perDialTimeout: z
      .number()
      .min(0, "seconds, or 0 for no maximum")
      .max(MAX_TIMER_SECONDS, `at most ${MAX_TIMER_SECONDS} seconds (about 24 days), or 0 for no maximum`)
      .optional(),
    hostKey: hostKey().optional(),
  };
}

/** What a router adds to a jump host's fields (except `proxy`). */
export function routerOnlyFields() {
  return {
    proxyCommand: z.array(z.string().min(1).max(4096)).min(1).max(64).optional(),
    sudo: z.boolean().optional(),
    commandTimeout: z.number().min(1).max(3600).optional(),
    name: printableText(64).optional(),
  };
}

function secretFields() {
  return {
    password: z.string().min(1).max(4096).optional(),
    // The largest OpenSSH private key (RSA 16384) is about 13 KB.
    privateKey: z.string().min(1).max(65536).optional(),
    privateKeyPassword: z.string().min(1).max(4096).optional(),
  };
}

/** Builds the schema of a connection's secrets apart from it (a resource's secret `credentials`). */
export function credentialsSchema() {
  return z.object({ ...secretFields(), proxy: z.object(secretFields()).strict().optional() }).strict();
}

/** Refuses a connection that names both a jump host and a ProxyCommand. */
export function oneRouteOnly(c: { proxy?: unknown; proxyCommand?: unknown }): boolean {
  return !(c.proxy && c.proxyCommand);
}

/** The message for {@link oneRouteOnly}, at `proxyCommand`. */
export const ONE_ROUTE_ONLY = {
  message: "give either proxy (a jump host) or proxyCommand, not both",
  path: ["proxyCommand"],
};

/** Builds the zod schema of a connection (see `transport/connection.ts` for the fields). Call it inside provider methods. */
export function connectionSchema() {
  const proxy = z.object({ ...plainProxyFields(), ...secretFields() }).strict();
  return z
    .object({ ...plainProxyFields(), ...secretFields(), proxy: proxy.optional(), ...routerOnlyFields() })
    .strict()
    .refine(oneRouteOnly, ONE_ROUTE_ONLY);
}
