/**
 * How a resource reaches its router, as a program writes it: the shape of `@pulumi/command`'s
 * `remote.Connection` with every field an `Input`, so that each secret can come from config as a
 * secret (`config.requireSecret("sshKey")`) on its own.
 *
 * @packageDocumentation
 */
import * as pulumi from "@pulumi/pulumi";
import type { Connection, ProxyConnection } from "../model/connection";
import { credentialsOf, withoutSecrets } from "../transport/connection";
import type { Inputs } from "./inputs";

/** A jump host, as in `@pulumi/command`'s `remote.ProxyConnection`, with every field an `Input`. */
export type ProxyConnectionArgs = Inputs<ProxyConnection>;

/**
 * A router's SSH connection, with every field an `Input`. Every field of `@pulumi/command`'s
 * `remote.Connection` means the same here; the extras are `hostKey`, `sudo`, `proxyCommand`,
 * `commandTimeout` and `name`.
 */
export type ConnectionArgs = Inputs<Connection>;

/** The options every pulumi-gre resource adds: its connection's secrets are secret in the outputs too. */
export function withSecretConnection<T extends pulumi.CustomResourceOptions>(
  opts: T | undefined,
  field = "credentials",
): T {
  return { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), field] } as T;
}

/**
 * A one-router resource's connection as it registers it: the connection without its secrets
 * (plain, so that previews and state show which router: host, port, user, name) and the secrets
 * apart (`credentials`, secret however they were given). The Pulumi engine marks secrets by
 * whole top-level property, so a key inside `connection` would hide all of it.
 */
export function sealedConnection(connection: pulumi.Input<ConnectionArgs>): {
  connection: pulumi.Output<Connection>;
  credentials: pulumi.Output<unknown>;
} {
  const given = pulumi.output(connection) as pulumi.Output<unknown>;
  const isConnection = (c: unknown): c is Connection => typeof c === "object" && c !== null;
  return {
    connection: pulumi.unsecret(
      given.apply((c) => (isConnection(c) ? withoutSecrets(c) : c)),
    ) as pulumi.Output<Connection>,
    credentials: pulumi.secret(given.apply((c) => (isConnection(c) ? credentialsOf(c) : undefined))),
  };
}
