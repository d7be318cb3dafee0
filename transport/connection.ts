/**
 * How to reach a router: the shape of `@pulumi/command`'s `remote.Connection` (so Pulumi users
 * know it), plus host-key pinning, `sudo` for non-root users and a ProxyCommand; its defaults, how
 * errors name a router, and host-key fingerprints. Its schema is `schemas/connection.ts`.
 *
 * @packageDocumentation
 */
import { createHash } from "crypto";
import { SECRET_CONNECTION_FIELDS } from "../schemas/connection";
import { PUBLIC_KEY_LINE } from "../schemas/hostKey";

/** A jump host, as in `@pulumi/command`'s `remote.ProxyConnection`. */
export interface ProxyConnection {
  /** The jump host's address. */
  host: string;
  /** SSH port; default 22. */
  port?: number;
  /** Login user; default `root`. */
  user?: string;
  password?: string;
  /** Private key text (OpenSSH or PEM); keep it a secret (`pulumi config set --secret`). */
  privateKey?: string;
  privateKeyPassword?: string;
  /** An SSH agent socket; default `$SSH_AUTH_SOCK` when no other credential is given. */
  agentSocketPath?: string;
  /** Connection attempts before giving up; default 10. */
  dialErrorLimit?: number;
  /** Seconds one attempt may take until the SSH handshake completes; default 15. */
  perDialTimeout?: number;
  /**
   * Pinned host key: its fingerprint as `ssh-keygen -lf` prints it (`SHA256:…`), or the public key
   * line (`ssh-ed25519 AAAA…`) as `@pulumi/command` takes it.
   */
  hostKey?: string;
}

/**
 * A router's SSH connection. Every field of `@pulumi/command`'s `remote.Connection` means the same
 * here; the extras are `hostKey`, `sudo`, `proxyCommand`, `commandTimeout` and `name`.
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

/** A connection with every default filled in. */
export interface ResolvedConnection extends Connection {
  port: number;
  user: string;
  dialErrorLimit: number;
  perDialTimeout: number;
  commandTimeout: number;
  sudo: boolean;
}

/**
 * The defaults of `@pulumi/command` (port 22, user root, 10 dials of 15 s) and ours: the one place
 * they are written.
 */
export const CONNECTION_DEFAULTS = {
  port: 22,
  user: "root",
  dialErrorLimit: 10,
  perDialTimeout: 15,
  commandTimeout: 60,
  sudo: false,
} as const;

/** Fills in the {@link CONNECTION_DEFAULTS}. */
export function resolveConnection<T extends Connection>(connection: T): T & ResolvedConnection {
  const d = CONNECTION_DEFAULTS;
  return {
    ...connection,
    port: connection.port ?? d.port,
    user: connection.user ?? d.user,
    dialErrorLimit: connection.dialErrorLimit ?? d.dialErrorLimit,
    perDialTimeout: connection.perDialTimeout ?? d.perDialTimeout,
    commandTimeout: connection.commandTimeout ?? d.commandTimeout,
    sudo: connection.sudo ?? d.sudo,
  };
}

/** Where the router is: `host:port`, defaults filled in (two connections to one place are one router). */
export function routerAddress(connection: Pick<Connection, "host" | "port">): string {
  return `${connection.host}:${connection.port ?? CONNECTION_DEFAULTS.port}`;
}

/** How errors and logs name a router: its name and address, never a credential. */
export function routerLabel(connection: Connection): string {
  const address = `${connection.user ?? CONNECTION_DEFAULTS.user}@${routerAddress(connection)}`;
  return connection.name ? `${connection.name} (${address})` : address;
}

/** The host key a dial must see: its fingerprint, and where that expectation comes from. */
export interface ExpectedHostKey {
  fingerprint: string;
  /** For errors: "pinned in the connection" or "recorded when the resource was created". */
  source: string;
}

/** The keys a call expects of the router and of its jump host (if any): pins, else what was recorded. */
export interface ExpectedHostKeys {
  router?: ExpectedHostKey;
  jump?: ExpectedHostKey;
}

/** The keys a call to `connection` expects, given what was `recorded`. */
export function expectedHostKeys(
  connection: Connection,
  recorded: { hostKey?: string; jumpHostKey?: string } = {},
): ExpectedHostKeys {
  return {
    router: expectedHostKey(connection, recorded.hostKey),
    jump: connection.proxy ? expectedHostKey(connection.proxy, recorded.jumpHostKey) : undefined,
  };
}

/** The key a call expects: the connection's pin, else the one `recorded` in state, else none. */
export function expectedHostKey(connection: ProxyConnection, recorded?: string): ExpectedHostKey | undefined {
  if (connection.hostKey)
    return { fingerprint: pinnedFingerprint(connection.hostKey), source: "pinned in the connection" };
  if (recorded) return { fingerprint: recorded, source: "recorded when the resource was created" };
  return undefined;
}

/** The OpenSSH SHA256 fingerprint of a raw public host key: `SHA256:` and unpadded base64. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/**
 * The fingerprint a `hostKey` pin stands for: the pin itself when it is a fingerprint, or the
 * fingerprint of the public key line `@pulumi/command` users write there.
 */
export function pinnedFingerprint(hostKey: string): string {
  const line = PUBLIC_KEY_LINE.exec(hostKey.trim());
  return line ? hostKeyFingerprint(Buffer.from(line[3], "base64")) : hostKey;
}

/** The connection without its secrets, for state that is not secret and for identity. */
export function withoutSecrets<T extends ProxyConnection & { proxy?: ProxyConnection }>(connection: T): T {
  const copy = { ...connection } as Record<string, unknown>;
  for (const field of SECRET_CONNECTION_FIELDS) {
    delete copy[field];
  }
  if (connection.proxy) {
    copy.proxy = withoutSecrets(connection.proxy);
  }
  return copy as unknown as T;
}
