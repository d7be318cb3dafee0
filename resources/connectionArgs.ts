/**
 * How a resource reaches its router, as a program writes it: the shape of `@pulumi/command`'s
 * `remote.Connection` with every field an `Input`, so that each secret can come from config as a
 * secret (`config.requireSecret("sshKey")`) on its own.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Connection, ProxyConnection } from "../model/connection";
import type { Inputs } from "./inputs";

/** A jump host, as in `@pulumi/command`'s `remote.ProxyConnection`, with every field an `Input`. */
export type ProxyConnectionArgs = Inputs<ProxyConnection>;

/**
 * A router's SSH connection, with every field an `Input`. Every field of `@pulumi/command`'s
 * `remote.Connection` means the same here; the extras are `hostKey`, `sudo`, `proxyCommand`,
 * `commandTimeout` and `name`.
 */
export type ConnectionArgs = Inputs<Connection>;

/** The options every pulumi-gre resource adds: its connection is secret in the outputs too. */
export function withSecretConnection<T extends pulumi.CustomResourceOptions>(
  opts: T | undefined,
  field = "connection",
): T {
  return { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), field] } as T;
}
