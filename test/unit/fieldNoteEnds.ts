/** The field note's tunnel ends, as the unit tests' specs: gre1, key 1, ttl 255, 10.10.10.2 ⇄ 10.10.10.1. */
import type { TunnelEndSpec } from "../../commands/iproute2/tunnelCommands";

/** routerA's end (198.51.100.11 → 198.51.100.12, 10.10.10.2 peer 10.10.10.1), with overrides. */
export function fieldNoteEndA(overrides: Partial<TunnelEndSpec> = {}): TunnelEndSpec {
  return {
    name: "gre1",
    local: "198.51.100.11",
    remote: "198.51.100.12",
    ikey: 1,
    okey: 1,
    ttl: 255,
    up: true,
    addresses: [{ local: "10.10.10.2", peer: "10.10.10.1", prefixLength: 32 }],
    ...overrides,
  };
}

/** routerB's end, mirroring routerA's. */
export function fieldNoteEndB(overrides: Partial<TunnelEndSpec> = {}): TunnelEndSpec {
  return fieldNoteEndA({
    local: "198.51.100.12",
    remote: "198.51.100.11",
    addresses: [{ local: "10.10.10.1", peer: "10.10.10.2", prefixLength: 32 }],
    ...overrides,
  });
}

/** routerA's end of a keyless ip6gre tunnel g6 over the IPv6 underlay, fd00::2 peer fd00::1, with overrides. */
export function ip6greEndA(overrides: Partial<TunnelEndSpec> = {}): TunnelEndSpec {
  return fieldNoteEndA({
    name: "g6",
    mode: "ip6gre",
    local: "2001:db8:100::11",
    remote: "2001:db8:100::12",
    ikey: undefined,
    okey: undefined,
    addresses: [{ local: "fd00::2", peer: "fd00::1", prefixLength: 128 }],
    ...overrides,
  });
}
