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
import type { Connection, ConnectionCredentials, ProxyConnection } from "../model/connection";

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

/** A connection's secrets (and its jump host's), apart from the rest of it. */
export function credentialsOf(connection: Connection): ConnectionCredentials {
  const pick = (c: ProxyConnection) => {
    const found: Omit<ConnectionCredentials, "proxy"> = {};
    for (const field of SECRET_CONNECTION_FIELDS) if (c[field] !== undefined) found[field] = c[field];
    return found;
  };
  const own: ConnectionCredentials = pick(connection);
  const proxy = connection.proxy ? pick(connection.proxy) : {};
  return Object.keys(proxy).length > 0 ? { ...own, proxy } : own;
}

/** A connection with `credentials` put back in (they win over any secret it still holds). */
export function withCredentials(
  connection: Connection,
  credentials: ConnectionCredentials | undefined,
): Connection {
  if (!credentials) return connection;
  const { proxy, ...own } = credentials;
  return {
    ...connection,
    ...own,
    ...(connection.proxy ? { proxy: { ...connection.proxy, ...(proxy ?? {}) } } : {}),
  };
}
