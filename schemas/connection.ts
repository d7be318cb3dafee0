/**
 * The schema of a router's SSH connection: the fields of `@pulumi/command`'s `remote.Connection`
 * (so Pulumi users know it), plus a host-key pin, `sudo`, a ProxyCommand, a command timeout and a
 * name. Providers check connections with it; the stack config uses the same fields, with secrets
 * given by reference instead.
 *
 * @packageDocumentation
 */
import { z } from "zod";
import { hostKey } from "./hostKey";
import { port } from "./numbers";

/** The fields that hold secrets: never logged, never put in errors, and secret in state. */
export const SECRET_CONNECTION_FIELDS = ["password", "privateKey", "privateKeyPassword"] as const;

/** The fields a jump host shares with a router, secrets left out. */
export function plainProxyFields() {
  return {
    host: z.string().regex(/^[A-Za-z0-9.:_-]+$/, "must be a host name or an IP address"),
    port: port().optional(),
    user: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, "must be a user name (letters, digits, `_ . -`)")
      .optional(),
    agentSocketPath: z.string().min(1).optional(),
    dialErrorLimit: z.number().int().min(1).max(100).optional(),
    perDialTimeout: z.number().min(1).max(600).optional(),
    hostKey: hostKey().optional(),
  };
}

/** What a router adds to a jump host's fields (except `proxy`). */
export function routerOnlyFields() {
  return {
    proxyCommand: z.array(z.string().min(1)).min(1).optional(),
    sudo: z.boolean().optional(),
    commandTimeout: z.number().min(1).max(3600).optional(),
    name: z.string().min(1).max(64).optional(),
  };
}

function secretFields() {
  return {
    password: z.string().min(1).optional(),
    privateKey: z.string().min(1).optional(),
    privateKeyPassword: z.string().min(1).optional(),
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
