/**
 * A keepalive the kernel lacks: whether a tunnel carries traffic, from pings across it — small
 * ones, and ones of the tunnel's full size with DF set, so that an MTU black hole on the underlay
 * (small packets pass, large ones are lost) shows too. Pure: commands, parsing, the health record
 * and the phrase drift uses.
 *
 * @packageDocumentation
 */
import { familyOf } from "../../schemas/addresses";
import type { CommandOutcome, RemoteCommand } from "../../model/command";

/** What `ping -q` summarised. */
export interface PingSummary {
  transmitted: number;
  received: number;
  /** Percent of the probes lost, 0…100. */
  loss: number;
  /** Average round-trip time in ms; null without a reply. */
  rttMs: number | null;
}

/**
 * IPv4 (20) and ICMP (8) headers: a ping of payload `mtu − 28` fills a packet of `mtu` bytes; over
 * IPv6, 40 and 8.
 */
function pingHeaders(peer: string): number {
  return familyOf(peer) === "ipv6" ? 48 : 28;
}

/** The probes of a health check from `address` to `peer` through a tunnel of MTU `mtu`: small, then full size (DF set). */
export function healthPings(address: string, peer: string, mtu: number): RemoteCommand[] {
  // 50 ms apart (root may go below ping's 200 ms floor): a healthy check costs about a tenth of a second.
  const ping = ["ping", "-n", "-q", "-i", "0.05", "-W", "1", "-I", address];
  return [
    { argv: [...ping, "-c", "3", peer], mayFail: true, concurrent: true },
    {
      argv: [...ping, "-c", "2", "-M", "do", "-s", String(mtu - pingHeaders(peer)), peer],
      mayFail: true,
      concurrent: true,
    },
  ];
}

/** Parses a `ping -q` summary ("3 packets transmitted, 2 received, 33% packet loss", "rtt min/avg/max/mdev = …"). */
export function parsePing(outcome: CommandOutcome): PingSummary {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(outcome.stdout);
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(outcome.stdout);
  const transmitted = counts ? Number(counts[1]) : 0;
  const received = counts ? Number(counts[2]) : 0;
  return {
    transmitted,
    received,
    loss: transmitted === 0 ? 100 : Math.round(((transmitted - received) / transmitted) * 100),
    rttMs: rtt ? Number(rtt[1]) : null,
  };
}

/** A tunnel's health, as its outputs record it. */
export interface TunnelHealth {
  /** Whether small packets cross (from every end that pinged). */
  reachable: boolean;
  /** Percent of small probes lost (the worst end). */
  loss: number;
  /** Average round-trip time across the tunnel in ms; null without a reply. */
  rttMs: number | null;
  /** Whether packets of the tunnel's full size cross; null when small ones do not either. */
  fullSize: boolean | null;
  /** The size probed (the tunnel's MTU). */
  mtu: number;
  /** The routers the probes left from. */
  from: string[];
  /** When (ISO 8601). */
  checkedAt: string;
}

/** The health from each pinging end's two probes. */
export function tunnelHealth(
  probes: Array<{ router: string; small: PingSummary; large: PingSummary }>,
  mtu: number,
  checkedAt: string,
): TunnelHealth {
  const reachable = probes.every((p) => p.small.received > 0);
  const rtts = probes.map((p) => p.small.rttMs).filter((r): r is number => r !== null);
  return {
    reachable,
    loss: Math.max(...probes.map((p) => p.small.loss)),
    rttMs: rtts.length ? Math.round((rtts.reduce((a, b) => a + b, 0) / rtts.length) * 1000) / 1000 : null,
    fullSize: reachable ? probes.every((p) => p.large.received > 0) : null,
    mtu,
    from: probes.map((p) => p.router),
    checkedAt,
  };
}

/** What is wrong with the health, as a drift phrase naming the tunnel; undefined when it is healthy. */
export function healthProblem(
  name: string,
  peer: string,
  health: TunnelHealth,
  ipsec = false,
): string | undefined {
  if (!health.reachable) {
    return health.from.length === 1
      ? `${name} does not carry traffic (${health.loss}% of pings to ${peer} lost from ${health.from[0]})`
      : `${name} does not carry traffic (${health.loss}% of pings across it lost, from ${health.from.join(" and from ")})`;
  }
  if (health.fullSize === false) {
    const lost = `${name} loses full-size packets (${health.mtu} bytes, DF set) while small ones cross: `;
    return ipsec
      ? `${lost}the kernel's MTU leaves no room for ESP; set mtu to what the path carries minus GRE's 24 bytes (28 with a key) ` +
          `and ESP's (AES-GCM: 34, 42 through a NAT), 1430 over a 1500-byte path, and clamp TCP (tcpMss: "clamp")`
      : `${lost}an MTU black hole on the underlay path; set mtu to what the path carries minus GRE's 24 bytes (28 with a key) ` +
          `and clamp TCP (tcpMss: "clamp")`;
  }
  return undefined;
}
