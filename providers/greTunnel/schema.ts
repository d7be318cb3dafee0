/**
 * GreTunnel's input schema (built inside functions, never at import time), with the checks that
 * need more than one property, and the normalization `check` performs. Pure.
 *
 * @packageDocumentation
 */
import { z } from "zod";
import { connectionSchema, credentialsSchema } from "../../schemas/connection";
import { canonicalAddress, hostAndPort, unicastAddress } from "../../schemas/addresses";
import { interfaceName, tunnelParameters } from "../../schemas/tunnel";
import { ipsecProposals } from "../../schemas/names";
import { persistRules, tunnelRules } from "../../schemas/tunnelRules";
import { isKnown } from "../../schemas/unknown";
import { DEFAULT_PROPOSALS } from "../../commands/ipsec/swanctl";
import {
  credentialsOf,
  CONNECTION_DEFAULTS,
  withCredentials,
  withoutSecrets,
} from "../../transport/connection";
import {
  GRE_TUNNEL_DEFAULTS,
  type GreTunnelRegistration,
  type NormalizedGreEndpoint,
  type NormalizedGreTunnel,
} from "../../model/greTunnel";

/** Where a connection reaches its router, as one text however the host is spelt. */
const reachedAt = (c: { host: string; port?: number }) =>
  hostAndPort(c.host, c.port ?? CONNECTION_DEFAULTS.port);

/** The `ipsec` input; the key is never echoed back in a message. */
function ipsecSchema() {
  return z
    .object({
      psk: z
        .string({ message: "a pre-shared key (a secret text)" })
        .min(16, "a pre-shared key of at least 16 characters")
        .max(256, "a pre-shared key of at most 256 characters"),
      proposals: ipsecProposals().optional(),
      espProposals: ipsecProposals().optional(),
    })
    .strict();
}

/** Builds GreTunnel's input schema. */
export function greTunnelSchema() {
  const endpoint = z
    .object({
      name: interfaceName().optional(),
      connection: connectionSchema(),
      local: unicastAddress("any"),
      remote: unicastAddress("any").optional(),
      address: unicastAddress("any").optional(),
      peerAddress: unicastAddress("any").optional(),
      bridge: interfaceName().optional(),
    })
    .strict();
  return z
    .object({
      ...tunnelParameters(),
      persist: z.boolean().optional(),
      ipsec: ipsecSchema().optional(),
      endpoints: z
        .array(endpoint)
        .length(2, "a tunnel has exactly two endpoints")
        .transform((ends): [(typeof ends)[number], (typeof ends)[number]] => [ends[0], ends[1]]),
      credentials: z
        .array(credentialsSchema())
        .length(2, "a tunnel has credentials for exactly two endpoints")
        .optional(),
      verify: z.boolean().optional(),
    })
    .strict()
    .superRefine((t, ctx) => {
      // The rules every tunnel declaration obeys (the stack config's too).
      const declared = { ...t, ends: t.endpoints };
      for (const { path, message } of [...tunnelRules(declared, "endpoints"), ...persistRules(declared)])
        ctx.addIssue({ code: "custom", path, message });
      if (t.endpoints.length !== 2) return;
      const [a, b] = t.endpoints;
      if (
        isKnown(a.connection) &&
        isKnown(b.connection) &&
        reachedAt(a.connection) === reachedAt(b.connection)
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["endpoints", 1, "connection", "host"],
          message: `both endpoints are on the same router (${a.connection.host}); a tunnel joins two routers`,
        });
      }
    });
}

/**
 * Fills in the defaults ({@link GRE_TUNNEL_DEFAULTS}; mode gre is left out), each remote the peer's local, each peer
 * address the other's address; IPv6 addresses written as `ip` prints them.
 */
export function normalizeGreTunnel(inputs: GreTunnelRegistration): NormalizedGreTunnel {
  const [a, b] = inputs.endpoints;
  const end = (self: typeof a, peer: typeof a): NormalizedGreEndpoint => {
    const normalized: NormalizedGreEndpoint = {
      // Only a name of its own: an end named as the tunnel is stored as one that was not named.
      ...(self.name !== undefined && self.name !== inputs.name ? { name: self.name } : {}),
      connection: withoutSecrets(self.connection),
      local: canonicalAddress(self.local),
      remote: canonicalAddress(self.remote ?? peer.local),
    };
    const peerAddress = self.peerAddress ?? peer.address;
    if (self.address !== undefined) normalized.address = canonicalAddress(self.address);
    if (self.address !== undefined && peerAddress !== undefined)
      normalized.peerAddress = canonicalAddress(peerAddress);
    if (self.bridge !== undefined) normalized.bridge = self.bridge;
    return normalized;
  };
  const secretsOf = (i: 0 | 1) =>
    credentialsOf(withCredentials(inputs.endpoints[i].connection, inputs.credentials?.[i]));
  const normalized: NormalizedGreTunnel = {
    name: inputs.name,
    ...(inputs.mode === undefined || inputs.mode === "gre" ? {} : { mode: inputs.mode }),
    ttl: inputs.ttl ?? GRE_TUNNEL_DEFAULTS.ttl,
    persist: inputs.persist ?? GRE_TUNNEL_DEFAULTS.persist,
    verify: inputs.verify ?? GRE_TUNNEL_DEFAULTS.verify,
    endpoints: [end(a, b), end(b, a)],
    // Wherever the secrets were given (credentials, or the connections of a state written by 0.3.0 or earlier).
    credentials: [secretsOf(0), secretsOf(1)],
  };
  if (inputs.key !== undefined) normalized.key = inputs.key;
  if (inputs.mtu !== undefined) normalized.mtu = inputs.mtu;
  if (inputs.tcpMss !== undefined) normalized.tcpMss = inputs.tcpMss;
  if (inputs.ipsec !== undefined)
    normalized.ipsec = {
      psk: inputs.ipsec.psk,
      proposals: inputs.ipsec.proposals ?? [...DEFAULT_PROPOSALS.ike],
      espProposals: inputs.ipsec.espProposals ?? [...DEFAULT_PROPOSALS.esp],
    };
  return normalized;
}
