/**
 * GreTunnel's input schema (built inside functions, never at import time), with the checks that
 * need more than one property, and the normalization `check` performs. Pure.
 *
 * @packageDocumentation
 */
import { z } from "zod";
import { connectionSchema } from "../schemas/connection";
import { isKnown, refuseMssBeyondMtu, tunnelParameters, unicastAddress } from "../schemas/values";
import { routerAddress } from "../transport/connection";
import type { GreEndpointInputs, NormalizedGreTunnel } from "./greTunnelSpec";

/** Builds GreTunnel's input schema. */
export function greTunnelSchema() {
  const endpoint = z
    .object({
      connection: connectionSchema(),
      local: unicastAddress(),
      remote: unicastAddress().optional(),
      address: unicastAddress(),
      peerAddress: unicastAddress().optional(),
    })
    .strict();
  return z
    .object({
      ...tunnelParameters(),
      persist: z.boolean().optional(),
      endpoints: z.array(endpoint).length(2, "a tunnel has exactly two endpoints"),
      verify: z.boolean().optional(),
    })
    .strict()
    .superRefine((t, ctx) => {
      refuseMssBeyondMtu(t, ctx);
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
        if (peerAddress === end.address && known(peerAddress)) {
          ctx.addIssue({
            code: "custom",
            path: ["endpoints", i, end.peerAddress === undefined ? "address" : "peerAddress"],
            message: "the two tunnel addresses are equal",
          });
        }
        if ((end.address === end.local || end.address === remote) && known(end.address)) {
          ctx.addIssue({
            code: "custom",
            path: ["endpoints", i, "address"],
            message: "a tunnel address must differ from the underlay addresses",
          });
        }
      });
    });
}

/** Fills in the defaults: ttl 255, verify on, each remote the peer's local, each peer address the other's address. */
export function normalizeGreTunnel(inputs: z.infer<ReturnType<typeof greTunnelSchema>>): NormalizedGreTunnel {
  const [a, b] = inputs.endpoints;
  const end = (self: typeof a, peer: typeof a): Required<GreEndpointInputs> => ({
    connection: self.connection,
    local: self.local,
    remote: self.remote ?? peer.local,
    address: self.address,
    peerAddress: self.peerAddress ?? peer.address,
  });
  const normalized: NormalizedGreTunnel = {
    name: inputs.name,
    ttl: inputs.ttl ?? 255,
    persist: inputs.persist ?? false,
    verify: inputs.verify ?? true,
    endpoints: [end(a, b), end(b, a)],
  };
  if (inputs.key !== undefined) normalized.key = inputs.key;
  if (inputs.mtu !== undefined) normalized.mtu = inputs.mtu;
  if (inputs.tcpMss !== undefined) normalized.tcpMss = inputs.tcpMss;
  return normalized;
}
