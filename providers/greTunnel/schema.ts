/**
 * GreTunnel's input schema (built inside functions, never at import time), with the checks that
 * need more than one property, and the normalization `check` performs. Pure.
 *
 * @packageDocumentation
 */
import { z } from "zod";
import { connectionSchema, credentialsSchema } from "../../schemas/connection";
import { canonicalAddress, unicastAddress } from "../../schemas/addresses";
import { carriesEthernet } from "../../model/tunnel";
import { interfaceName, modeProblems, refuseMssBeyondMtu, tunnelParameters } from "../../schemas/tunnel";
import { isKnown } from "../../schemas/unknown";
import { credentialsOf, routerAddress, withCredentials, withoutSecrets } from "../../transport/connection";
import {
  GRE_TUNNEL_DEFAULTS,
  type GreTunnelRegistration,
  type NormalizedGreEndpoint,
  type NormalizedGreTunnel,
} from "../../model/greTunnel";

/** Builds GreTunnel's input schema. */
export function greTunnelSchema() {
  const endpoint = z
    .object({
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
      endpoints: z.array(endpoint).length(2, "a tunnel has exactly two endpoints"),
      credentials: z
        .array(credentialsSchema())
        .length(2, "a tunnel has credentials for exactly two endpoints")
        .optional(),
      verify: z.boolean().optional(),
    })
    .strict()
    .superRefine((t, ctx) => {
      refuseMssBeyondMtu(t, ctx);
      const mode = t.mode ?? "gre";
      t.endpoints.forEach((end, i) => {
        for (const [key, message] of modeProblems(mode, end)) {
          ctx.addIssue({ code: "custom", path: ["endpoints", i, key], message });
        }
      });
      if (t.persist && t.endpoints.some((e) => e.bridge !== undefined)) {
        ctx.addIssue({
          code: "custom",
          path: ["persist"],
          message:
            "cannot bring back a bridge port at boot: systemd-networkd joins a link only to a bridge it creates itself; " +
            "set persist: false and let the bridge's own configuration take the port",
        });
      }
      if (
        (t.endpoints[0]?.bridge === undefined) !== (t.endpoints[1]?.bridge === undefined) &&
        carriesEthernet(mode)
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["endpoints", t.endpoints[0]?.bridge === undefined ? 0 : 1, "bridge"],
          message:
            "is needed on both ends or neither: a bridged end and an addressed end do not talk to each other",
        });
      }
      if (t.persist && t.key !== undefined) {
        const keys = typeof t.key === "number" ? [t.key] : [t.key.input, t.key.output];
        if (keys.includes(0)) {
          ctx.addIssue({
            code: "custom",
            path: ["key"],
            message:
              "0 cannot be persisted: systemd-networkd reads key 0 as no key; choose another key or persist: false",
          });
        }
      }
      if (t.endpoints.length !== 2) return;
      const [a, b] = t.endpoints;
      const known = isKnown;
      if (
        known(a.connection) &&
        known(b.connection) &&
        routerAddress(a.connection) === routerAddress(b.connection)
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["endpoints", 1, "connection", "host"],
          message: `both endpoints are on the same router (${a.connection.host}); a tunnel joins two routers`,
        });
      }
      if (a.local === b.local && known(a.local)) {
        ctx.addIssue({
          code: "custom",
          path: ["endpoints", 1, "local"],
          message: "both endpoints have the same underlay address",
        });
      }
      t.endpoints.forEach((end, i) => {
        const peer = t.endpoints[1 - i];
        const remote = end.remote ?? peer.local;
        if (remote === end.local && known(remote)) {
          ctx.addIssue({
            code: "custom",
            path: ["endpoints", i, end.remote === undefined ? "local" : "remote"],
            message: "local and remote are the same address",
          });
        }
        const peerAddress = end.peerAddress ?? peer.address;
        if (end.address !== undefined && peerAddress === end.address && known(peerAddress)) {
          ctx.addIssue({
            code: "custom",
            path: ["endpoints", i, end.peerAddress === undefined ? "address" : "peerAddress"],
            message: "the two tunnel addresses are equal",
          });
        }
        if (
          end.address !== undefined &&
          (end.address === end.local || end.address === remote) &&
          known(end.address)
        ) {
          ctx.addIssue({
            code: "custom",
            path: ["endpoints", i, "address"],
            message: "a tunnel address must differ from the underlay addresses",
          });
        }
      });
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
  return normalized;
}
