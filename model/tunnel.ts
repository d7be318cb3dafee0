/**
 * The domain's words for a tunnel, named by every layer: the IP families, the GRE modes and what
 * each carries over which underlay, the key, the MSS clamp. Types and facts only: no schema, no
 * I/O, no imports.
 *
 * @packageDocumentation
 */

/** An IP family: what an underlay, a tunnel address or a route is made of. */
export type IpFamily = "ipv4" | "ipv6";

/** The GRE family: IPv4 or IPv6 underlay, carrying IP packets or Ethernet frames (`tap`). */
export const TUNNEL_MODES = ["gre", "gretap", "ip6gre", "ip6gretap"] as const;
/** One of {@link TUNNEL_MODES}; `gre` is the by-hand procedure's. */
export type TunnelMode = (typeof TUNNEL_MODES)[number];

/** The underlay family of a mode: IPv6 for ip6gre and ip6gretap. */
export function underlayFamily(mode: TunnelMode): IpFamily {
  return mode.startsWith("ip6") ? "ipv6" : "ipv4";
}

/** Whether a mode carries Ethernet frames (gretap, ip6gretap) rather than IP packets. */
export function carriesEthernet(mode: TunnelMode): boolean {
  return mode.endsWith("tap");
}

/** A GRE key: one number for both directions, or `{input, output}` as seen from the first end. */
export type GreKey =
  | number
  | {
      /** The key the first end accepts (the other end sends it). */
      input: number;
      /** The key the first end sends (the other end accepts it). */
      output: number;
    };

/**
 * The MSS clamp of a tunnel: `"clamp"` (to the path MTU: the tunnel's MTU − 40) or a number of
 * bytes.
 */
export type TcpMss = "clamp" | number;

/** The IP and TCP headers a segment carries over each family: MSS = MTU − this. */
export const TCP_HEADERS: Record<IpFamily, number> = { ipv4: 40, ipv6: 60 };
