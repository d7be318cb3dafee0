/**
 * How to reach a router: the shape of `@pulumi/command`'s `remote.Connection` (so Pulumi users
 * know it), plus host-key pinning, `sudo` for non-root users, a ProxyCommand, a command timeout
 * and a name. Declared once here: the resources' `ConnectionArgs` is this with every field an
 * `Input`, the schema (`schemas/connection.ts`) is checked against it, and the transport's defaults
 * and fingerprints are in `transport/connection.ts`.
 *
 * @packageDocumentation
 */

/** A jump host, as in `@pulumi/command`'s `remote.ProxyConnection`. */
export interface ProxyConnection {
  /** The jump host's address. */
  host: string;
  /** SSH port; default 22. */
  port?: number;
  /** Login user; default `root`. */
  user?: string;
  /** Password, for password or keyboard-interactive login; keep it a secret. */
  password?: string;
  /** Private key text (OpenSSH or PEM); keep it a secret (`pulumi config set --secret`). */
  privateKey?: string;
  /** The passphrase of an encrypted `privateKey`; keep it a secret. */
  privateKeyPassword?: string;
  /** An SSH agent socket; default `$SSH_AUTH_SOCK` when no other credential is given. */
  agentSocketPath?: string;
  /**
   * Connection attempts before giving up; default 10. As in `@pulumi/command`: -1 retries without
   * limit (a refused key or a host key that does not match still stops at once), 0 dials once.
   */
  dialErrorLimit?: number;
  /**
   * Seconds one attempt may take until the SSH handshake completes; default 15; 0 for no maximum
   * (as in `@pulumi/command`).
   */
  perDialTimeout?: number;
  /**
   * Pinned host key: its fingerprint as `ssh-keygen -lf` prints it (`SHA256:…`), or the public key
   * line (`ssh-ed25519 AAAA…`) as `@pulumi/command` takes it.
   */
  hostKey?: string;
}

/**
 * A router's SSH connection: every field of `@pulumi/command`'s `remote.Connection`, read as it
 * reads them, except that without `hostKey` the key seen first is recorded and enforced (not any key
 * accepted); the extras are `sudo`, `proxyCommand`, `commandTimeout` and `name`.
 *
 * This is the resolved shape, as a resource's `connection` output holds it; programs write
 * `ConnectionArgs`, whose fields may be `Input`s.
 *
 * @example
 * ```ts
 * import * as pulumi from "@pulumi/pulumi";
 * import { KernelModule, type Connection } from "pulumi-gre";
 *
 * const config = new pulumi.Config();
 * const gre = new KernelModule("routerA-ip_gre", {
 *   connection: { host: "198.51.100.11", user: "netops", sudo: true, privateKey: config.requireSecret("sshKey") },
 *   name: "ip_gre",
 * });
 * export const reachedAt = gre.connection.apply((c: Connection) => `${c.user ?? "root"}@${c.host}`);
 * ```
 */
export interface Connection extends ProxyConnection {
  /** A jump host to tunnel the connection through. */
  proxy?: ProxyConnection;
  /**
   * A command whose stdin/stdout carry the SSH connection, like OpenSSH's ProxyCommand, as argv;
   * `%h` and `%p` stand for host and port. Example: `["ip","netns","exec","lab","socat","-","TCP:%h:%p"]`.
   */
  proxyCommand?: string[];
  /**
   * Run the commands as root through `sudo -n -- sh -c …` (for a non-root user allowed to run
   * /bin/sh with passwordless sudo); a sudo that wants a password is an error, not a hang.
   */
  sudo?: boolean;
  /** Seconds one round trip of commands may take; default 60. */
  commandTimeout?: number;
  /** The router's name, used in errors and logs; default `user@host:port`. */
  name?: string;
}

/**
 * A connection's secrets, and its jump host's: what a resource keeps in a secret property of its
 * own (`credentials`), so that hosts, users and addresses stay plain in state and previews.
 */
export interface ConnectionCredentials {
  /** The connection's `password`. */
  password?: string;
  /** The connection's `privateKey`. */
  privateKey?: string;
  /** The connection's `privateKeyPassword`. */
  privateKeyPassword?: string;
  /** The jump host's secrets. */
  proxy?: Omit<ConnectionCredentials, "proxy">;
}
