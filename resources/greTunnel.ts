/**
 * `GreTunnel`: one resource for both ends of a GRE tunnel between two Linux routers.
 *
 * @packageDocumentation
 */
import * as pulumi from "@pulumi/pulumi";
import type { GreEndState, GreTunnelHealth, NormalizedGreEndpoint } from "../providers/greTunnel/spec";
import type { HostKeyOrigin } from "../providers/hostKeys";
import type { GreKey, TcpMss, TunnelMode } from "../model/tunnel";
import { withSecretConnection, type ConnectionArgs } from "./connectionArgs";
import { runtimeProvider } from "./runtimeProvider";

export type { GreEndState, GreTunnelHealth, HostKeyOrigin };

/** One router's end of a tunnel. */
export interface GreEndpointArgs {
  /** How to reach the router: `@pulumi/command`'s connection shape, plus `hostKey`, `sudo`, `proxyCommand`. */
  connection: pulumi.Input<ConnectionArgs>;
  /** The router's underlay address, where the tunnel starts (`ip tunnel add … local LOCAL`); IPv6 for ip6gre and ip6gretap. */
  local: pulumi.Input<string>;
  /** Where this end sends to; defaults to the peer's `local`. Set it when the peer is behind NAT. */
  remote?: pulumi.Input<string>;
  /**
   * This end's tunnel address (`ip addr add ADDRESS dev NAME peer PEER`), IPv4 or IPv6 in any mode.
   * Left out on a gretap or ip6gretap end that joins a `bridge`.
   */
  address?: pulumi.Input<string>;
  /** The other end's tunnel address; defaults to the other endpoint's `address`. */
  peerAddress?: pulumi.Input<string>;
  /**
   * gretap, ip6gretap: the bridge this end becomes a port of (it must exist on the router), so that
   * a LAN spans both sites. Both ends or neither; not with `persist`.
   */
  bridge?: pulumi.Input<string>;
}

/** One router's end of a tunnel as the state records it: every default filled in (what `check` made of it). */
export type GreEndpoint = NormalizedGreEndpoint;

/** The arguments of a {@link GreTunnel}. */
export interface GreTunnelArgs {
  /** Interface name on both routers: 1–15 letters, digits, `_`, `.` or `-`, not an iproute2 keyword. */
  name: pulumi.Input<string>;
  /**
   * `gre` (the field note's, default), `gretap` (Ethernet frames, for a bridge), `ip6gre` and
   * `ip6gretap` (the same over an IPv6 underlay: `local`/`remote` IPv6). Changing it replaces the
   * tunnel. `ip6gre` and `ip6gretap` need the `ip6_gre` module (a {@link KernelModule}).
   */
  mode?: pulumi.Input<TunnelMode>;
  /**
   * GRE key (0…4294967295) for both directions, or `{input, output}` as seen from `endpoints[0]`
   * (the other end mirrors it). Tunnels between the same two routers need distinct keys: the
   * kernel matches incoming GRE packets on local address, remote address and key.
   */
  key?: pulumi.Input<GreKey>;
  /** Outer TTL (the hop limit over IPv6), 1…255; default 255 as in the field note. */
  ttl?: pulumi.Input<number>;
  /**
   * Tunnel MTU; the kernel's default when unset — over a 1500-byte underlay 1476 for gre (1472 with
   * keys), 14 less for gretap, 1448 for ip6gre (1444 with keys).
   */
  mtu?: pulumi.Input<number>;
  /**
   * Clamp the MSS of TCP connections through the tunnel, on both routers: `"clamp"` to the path
   * MTU (the tunnel's MTU − 40: 1436 over a 1500-byte underlay, 1360 with `mtu: 1400`), or a number
   * of bytes (536 or more, at most `mtu` − 40). A firewall rule of this resource: nftables (table
   * `ip pulumi_gre`) where the kernel takes it, else iptables (mangle FORWARD, comment
   * `pulumi-gre:NAME`). Unset: no rule.
   */
  tcpMss?: pulumi.Input<TcpMss>;
  /**
   * Bring the tunnel back at boot without Pulumi: systemd-networkd files on both routers
   * (`/etc/systemd/network/50-pulumi-gre-NAME.netdev` and `.network`). Needs systemd-networkd
   * enabled on the routers. The MSS rule is not persisted. Default false.
   */
  persist?: pulumi.Input<boolean>;
  /** Exactly two endpoints, on two different routers. */
  endpoints: pulumi.Input<pulumi.Input<GreEndpointArgs>[]>;
  /**
   * Check that the tunnel carries traffic — ping across it, small and full size — after create and
   * update and on every refresh (GRE has no keepalive of its own), and the underlay before create;
   * default true. A tunnel configured right that carries nothing is drift, with its causes.
   */
  verify?: pulumi.Input<boolean>;
}

/**
 * A GRE tunnel between two Linux routers, converged on both ends together over SSH.
 *
 * `pulumi up` runs the field note's commands on both routers (`ip tunnel add … mode gre`, `ip addr
 * add … peer …`, `ip link set … up`) after a preflight (GRE available, peer reachable, name free),
 * pings across the tunnel, and undoes both ends if anything fails. `pulumi refresh` reads both
 * ends; a deleted end, a rebooted router, a changed key or a link set down shows as drift in
 * `ends[i].drift`, and the next `pulumi up` repairs only the end that drifted.
 *
 * @example
 * ```ts
 * import * as pulumi from "@pulumi/pulumi";
 * import { GreTunnel, KernelModule } from "pulumi-gre";
 *
 * const config = new pulumi.Config();
 * const key = config.requireSecret("sshPrivateKey");
 * const routerA = { name: "routerA", host: "203.0.113.10", privateKey: key, hostKey: config.get("routerAHostKey") };
 * const routerB = { name: "routerB", host: "203.0.113.20", privateKey: key, hostKey: config.get("routerBHostKey") };
 *
 * const greA = new KernelModule("routerA-ip_gre", { connection: routerA, name: "ip_gre" });
 * const greB = new KernelModule("routerB-ip_gre", { connection: routerB, name: "ip_gre" });
 * const tunnel = new GreTunnel(
 *   "gre1",
 *   {
 *     name: "gre1",
 *     key: 1,
 *     ttl: 255,
 *     mtu: 1400,
 *     tcpMss: "clamp", // TCP through the tunnel: MSS 1400 − 40 = 1360
 *     persist: true, // back at boot, by the routers' systemd-networkd
 *     endpoints: [
 *       { connection: routerA, local: "198.51.100.10", address: "10.10.10.2" },
 *       { connection: routerB, local: "198.51.100.20", address: "10.10.10.1" },
 *     ],
 *   },
 *   { dependsOn: [greA, greB] },
 * );
 * export const ends = tunnel.ends;
 * ```
 */
export class GreTunnel extends pulumi.dynamic.Resource {
  /** Interface name on both routers. */
  declare public readonly name: pulumi.Output<string>;
  /** The mode as given (undefined: gre). */
  declare public readonly mode: pulumi.Output<TunnelMode | undefined>;
  /** The key as given (undefined: no key). */
  declare public readonly key: pulumi.Output<GreKey | undefined>;
  declare public readonly ttl: pulumi.Output<number>;
  declare public readonly mtu: pulumi.Output<number | undefined>;
  /** The MSS clamp as given (undefined: none). */
  declare public readonly tcpMss: pulumi.Output<TcpMss | undefined>;
  declare public readonly persist: pulumi.Output<boolean>;
  declare public readonly verify: pulumi.Output<boolean>;
  /** The endpoints with defaults filled in (secret: they hold the connections). */
  declare public readonly endpoints: pulumi.Output<GreEndpoint[]>;
  /**
   * What each router reported at the last create, update or refresh: the device, whether its boot
   * files are there (`persisted`), its MSS rule (`tcpMss`), and any drift.
   */
  declare public readonly ends: pulumi.Output<GreEndState[]>;
  /** Each router's SSH host key, enforced on every later operation (a new pin replaces it). */
  declare public readonly hostKeys: pulumi.Output<string[]>;
  /** Each router's jump host's key (null without one), enforced likewise. */
  declare public readonly jumpHostKeys: pulumi.Output<Array<string | null>>;
  /** Where each host key came from: "pinned", "first use" (seen at create) or "adopted" (a state without one). */
  declare public readonly hostKeyOrigins: pulumi.Output<HostKeyOrigin[]>;
  /**
   * Whether the tunnel carried traffic at the last create, update or refresh: `reachable`, `loss`
   * (%), `rttMs`, `fullSize` (packets of its MTU cross), `checkedAt`, and `causes` when it did not.
   * Null with `verify: false`.
   */
  declare public readonly health: pulumi.Output<GreTunnelHealth | null>;
  /** What is wrong with the tunnel as a whole: it carries no traffic, and why (the ends' drift is in `ends`). */
  declare public readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: GreTunnelArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      runtimeProvider("greTunnelProvider"),
      name,
      {
        ...args,
        // Secret in the state's inputs too, however the connections were given.
        endpoints: pulumi.secret(args.endpoints),
        ends: undefined,
        hostKeys: undefined,
        jumpHostKeys: undefined,
        hostKeyOrigins: undefined,
        health: undefined,
        drift: undefined,
      },
      withSecretConnection(opts, "endpoints"),
      "gre",
      "GreTunnel",
    );
  }
}
