/**
 * How a resource reaches its router, as a program writes it: the shape of `@pulumi/command`'s
 * `remote.Connection` with every field an `Input`, so that each secret can come from config as a
 * secret (`config.requireSecret("sshKey")`) on its own.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";

/** A jump host, as in `@pulumi/command`'s `remote.ProxyConnection`. */
export interface ProxyConnectionArgs {
  /** The jump host's address. */
  host: pulumi.Input<string>;
  /** SSH port; default 22. */
  port?: pulumi.Input<number>;
  /** Login user; default `root`. */
  user?: pulumi.Input<string>;
  /** Password; keep it secret (`pulumi config set --secret`). */
  password?: pulumi.Input<string>;
  /** Private key text (OpenSSH or PEM); keep it secret. */
  privateKey?: pulumi.Input<string>;
  /** The private key's passphrase. */
  privateKeyPassword?: pulumi.Input<string>;
  /** An SSH agent socket; default `$SSH_AUTH_SOCK` when no other credential is given. */
  agentSocketPath?: pulumi.Input<string>;
  /** Connection attempts before giving up; default 10. */
  dialErrorLimit?: pulumi.Input<number>;
  /** Seconds one attempt may take until the SSH handshake completes; default 15. */
  perDialTimeout?: pulumi.Input<number>;
  /** Pinned host key: `SHA256:…` as `ssh-keygen -lf` prints it, or a public key line (`ssh-ed25519 AAAA…`). */
  hostKey?: pulumi.Input<string>;
}

/**
 * A router's SSH connection. Every field of `@pulumi/command`'s `remote.Connection` means the same
 * here; the extras are `hostKey`, `sudo`, `proxyCommand`, `commandTimeout` and `name`.
 */
export interface ConnectionArgs extends ProxyConnectionArgs {
  /** A jump host to tunnel the connection through. */
  proxy?: pulumi.Input<ProxyConnectionArgs>;
  /**
   * A command whose stdin/stdout carry the SSH connection, like OpenSSH's ProxyCommand, as argv;
   * `%h` and `%p` stand for host and port.
   */
  proxyCommand?: pulumi.Input<pulumi.Input<string>[]>;
  /** Run the commands as root through `sudo -n -- sh -c …` (passwordless sudo for /bin/sh). */
  sudo?: pulumi.Input<boolean>;
  /** Seconds one round trip of commands may take; default 60. */
  commandTimeout?: pulumi.Input<number>;
  /** The router's name in errors and drift; default `user@host:port`. */
  name?: pulumi.Input<string>;
}

/** The options every pulumi-gre resource adds: its connection is secret in the outputs too. */
export function withSecretConnection<T extends pulumi.CustomResourceOptions>(
  opts: T | undefined,
  field = "connection",
): T {
  return { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), field] } as T;
}
