/**
 * A GRE tunnel as it is declared — its two endpoints, its mode, key, TTL, MTU, MSS clamp and
 * persistence — written once. The resource's `GreTunnelArgs` is this with every field an `Input`;
 * GreTunnel's schema is checked against it; the normalized inputs (defaults filled in) and the
 * stack config's tunnels are derived from it.
 *
 * @packageDocumentation
 */
import type { Connection, ConnectionCredentials } from "./connection";
import type { GreKey, TcpMss, TunnelMode } from "./tunnel";

/** One router's end of a tunnel, as declared. */
export interface GreEndpointDeclaration {
  /**
   * This router's interface name, when it is not the tunnel's `name`: a hub names each spoke's
   * tunnel after the spoke (`gre-branch1`), each branch names its one after the hub (`gre-hub`).
   * The same rules as `name`; with `ipsec`, no `.`.
   */
  name?: string;
  /** How to reach the router: `@pulumi/command`'s connection shape, plus `hostKey`, `sudo`, `proxyCommand`. */
  connection: Connection;
  /** The router's underlay address, where the tunnel starts (`ip tunnel add … local LOCAL`); IPv6 for ip6gre and ip6gretap. */
  local: string;
  /** Where this end sends to; defaults to the peer's `local`. Set it when the peer is behind NAT. */
  remote?: string;
  /**
   * This end's tunnel address (`ip addr add ADDRESS dev NAME peer PEER`), IPv4 or IPv6 in any mode.
   * Left out on a gretap or ip6gretap end that joins a `bridge`.
   */
  address?: string;
  /** The other end's tunnel address; defaults to the other endpoint's `address`. */
  peerAddress?: string;
  /**
   * gretap, ip6gretap: the bridge this end becomes a port of (it must exist on the router), so that
   * a LAN spans both sites. Both ends or neither; not with `persist`.
   */
  bridge?: string;
}

/** What a tunnel is, on both of its routers: everything but its endpoints. */
export interface GreTunnelParameters {
  /**
   * Interface name on both routers (an endpoint's own `name` overrides it on that router): 1–15
   * letters, digits, `_`, `.` or `-`, not an iproute2 keyword.
   */
  name: string;
  /**
   * `gre` (the by-hand procedure's, default), `gretap` (Ethernet frames, for a bridge), `ip6gre` and
   * `ip6gretap` (the same over an IPv6 underlay: `local`/`remote` IPv6). Changing it replaces the
   * tunnel. `ip6gre` and `ip6gretap` need the `ip6_gre` module (a `KernelModule`).
   */
  mode?: TunnelMode;
  /**
   * GRE key (0…4294967295) for both directions, or `{input, output}` as seen from `endpoints[0]`
   * (the other end mirrors it). Tunnels between the same two routers need distinct keys: the
   * kernel matches incoming GRE packets on local address, remote address and key.
   */
  key?: GreKey;
  /** Outer TTL (the hop limit over IPv6), 1…255; default 255 as in the by-hand procedure. */
  ttl?: number;
  /**
   * Tunnel MTU; the kernel's default when unset — over a 1500-byte underlay 1476 for gre (1472 with
   * keys), 14 less for gretap, 1448 for ip6gre (1444 with keys).
   */
  mtu?: number;
  /**
   * Clamp the MSS of TCP connections through the tunnel, on both routers: `"clamp"` to the path
   * MTU (the tunnel's MTU − 40: 1436 over a 1500-byte underlay, 1360 with `mtu: 1400`; − 60 with
   * IPv6 addresses), or a number of bytes (536 or more, at most the MTU − 40, or − 60: the `mtu`, or
   * the kernel's default when unset). A firewall rule of this resource, for TCP of the family of the
   * tunnel's addresses: nftables (table `ip pulumi_gre`, or `ip6 pulumi_gre`) where the kernel takes
   * it, else iptables or ip6tables (mangle FORWARD, comment `pulumi-gre:NAME`). Unset: no rule.
   */
  tcpMss?: TcpMss;
  /**
   * Check that the tunnel carries traffic — ping across it, small and full size — after create and
   * update and on every refresh (GRE has no keepalive of its own), and the underlay before create;
   * default true. A tunnel configured right that carries nothing is drift, with its causes.
   */
  verify?: boolean;
}

/** A tunnel's IPsec, as declared. */
export interface IpsecDeclaration {
  /**
   * The pre-shared key both ends authenticate with: a secret (`config.requireSecret(…)`), 16 to
   * 256 characters. It reaches each router only as the content of a file readable by root alone.
   */
  psk: string;
  /**
   * IKE proposals as strongSwan spells them, most preferred first; default
   * `["aes256gcm16-prfsha384-x25519"]` (AES-GCM-256, SHA-384, Curve25519).
   */
  proposals?: string[];
  /** ESP proposals; default `["aes256gcm16-x25519"]` (AES-GCM-256, with Curve25519 on rekeying). */
  espProposals?: string[];
}

/** A GRE tunnel between two routers, as declared. */
export interface GreTunnelDeclaration extends GreTunnelParameters {
  /**
   * Bring the tunnel back at boot without Pulumi, in the form each router's network stack reads:
   * systemd-networkd files, a NetworkManager keyfile and dispatcher script, or an ifupdown stanza;
   * the MSS clamp and the IPsec guard as boot units of ours, and strongswan.service enabled. Refused
   * on a router where nothing would read them at boot. Default false.
   */
  persist?: boolean;
  /**
   * GRE over IPsec: IKEv2 (strongSwan's charon, configured with `swanctl`) protects the tunnel's GRE
   * between the two underlay addresses with ESP in transport mode, so the LANs' traffic is
   * encrypted and a GRE packet to the peer never leaves a router in clear (a firewall rule of this
   * resource drops it while no SA protects it). Needs charon running on both routers
   * (`strongswan-swanctl` and `charon-systemd`). Over a NAT, IKE and ESP go over UDP 4500.
   */
  ipsec?: IpsecDeclaration;
  /** Exactly two endpoints, on two different routers. */
  endpoints: [GreEndpointDeclaration, GreEndpointDeclaration];
}

/**
 * What a GreTunnel registers: its declaration, with the endpoints' secrets moved to `credentials`
 * (one per endpoint), a secret property of its own, so that the endpoints stay plain in state and
 * previews. A state written by 0.3.0 or earlier holds the secrets inside the endpoints instead.
 */
export type GreTunnelRegistration = GreTunnelDeclaration & { credentials?: ConnectionCredentials[] };

/** The defaults `check` fills in (a tunnel's mode defaults to gre, which the state leaves out). */
export const GRE_TUNNEL_DEFAULTS = { ttl: 255, persist: false, verify: true } as const;

/**
 * One end after `check`, as the state records it: `remote` and `peerAddress` filled in (no peer
 * address on a bridged end); `name` only when it differs from the tunnel's.
 */
export type NormalizedGreEndpoint = GreEndpointDeclaration & {
  /** Where this end sends to: its declared `remote`, else the peer's `local`. */
  remote: string;
};

/**
 * A tunnel after `check`: {@link GRE_TUNNEL_DEFAULTS} filled in, exactly two ends, whose
 * connections hold no secret: those are in `credentials`, one per end.
 */
export type NormalizedGreTunnel = Omit<
  GreTunnelDeclaration,
  keyof typeof GRE_TUNNEL_DEFAULTS | "endpoints" | "ipsec"
> & {
  ttl: number;
  persist: boolean;
  verify: boolean;
  ipsec?: Required<IpsecDeclaration>;
  endpoints: [NormalizedGreEndpoint, NormalizedGreEndpoint];
  credentials: [ConnectionCredentials, ConnectionCredentials];
};
