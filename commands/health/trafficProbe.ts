/**
 * Where a tunnel's packets get lost: gre1's packet counters on both ends before and after pings
 * across it, and a capture of GRE (IP protocol 47) on the receiving router's underlay. From them,
 * which end sends, which receives, and where between them IP protocol 47 disappears. Pure:
 * commands, parsing and findings, each naming the router it is about.
 *
 * @packageDocumentation
 */
import { familyOf } from "../../schemas/addresses";
import type { CommandOutcome, RemoteCommand } from "../../model/command";

/** A device's packet counters. */
export interface LinkCounters {
  rx: number;
  tx: number;
  /** Packets that failed on the way out (tx errors + dropped): a firewall's drop on output counts here. */
  txFailed: number;
}

/** Reads a device's counters (`ip -s -j link show dev NAME`). */
export function countersCommand(name: string): RemoteCommand {
  return { argv: ["ip", "-s", "-j", "link", "show", "dev", name], mayFail: true };
}

/** Parses {@link countersCommand}'s outcome; undefined when the device is not there. */
export function parseCounters(outcome: CommandOutcome): LinkCounters | undefined {
  if (outcome.exitCode !== 0) return undefined;
  const [link] = JSON.parse(outcome.stdout) as Array<{
    stats64?: { rx: { packets: number }; tx: { packets: number; errors: number; dropped: number } };
  }>;
  if (!link?.stats64) return undefined;
  const { rx, tx } = link.stats64;
  return { rx: rx.packets, tx: tx.packets, txFailed: tx.errors + tx.dropped };
}

/**
 * Captures one GRE packet arriving at `local` (on any interface: NAT may rewrite the source), for
 * up to `seconds`. Exit 0: seen; 124: none came; 127: no tcpdump on this router.
 */
export function captureCommand(local: string, seconds: number): RemoteCommand {
  return {
    argv: [
      ...["timeout", String(seconds), "tcpdump", "-n", "-p", "-i", "any", "-c", "1"],
      // Over IPv6 GRE may follow an extension header (ip6gre's encapsulation limit): protochain finds it.
      `${familyOf(local) === "ipv6" ? "ip6 protochain 47" : "ip proto 47"} and dst host ${local}`,
    ],
    mayFail: true,
  };
}

/** How the router would route to `remote` from `local` (`ip route get`): says when it has no route. */
export function routeGetCommand(remote: string, local: string): RemoteCommand {
  return { argv: ["ip", "route", "get", remote, "from", local], mayFail: true };
}

/** What a probe saw: counters before and after on both ends, and the receiver's capture. */
export interface TrafficProbe {
  sender: string;
  receiver: string;
  /** The tunnel's interface name on the sender and on the receiver. */
  names: [string, string];
  before: [LinkCounters, LinkCounters];
  after: [LinkCounters, LinkCounters];
  /** Whether GRE reached the receiver's underlay; undefined when it has no tcpdump. */
  captured: boolean | undefined;
  /** Whether both ends' tunnels agree (keys mirror, each remote is the other's local). */
  agree: boolean;
  /** The NAT's public address the sender sends to, when the receiver is behind one. */
  nat?: string;
  /** The tunnel's GRE goes through IPsec (a guard of pulumi-gre's drops it while no SA protects it). */
  ipsec?: boolean;
}

function delta(probe: TrafficProbe, i: 0 | 1, key: keyof LinkCounters): number {
  return probe.after[i][key] - probe.before[i][key];
}

/** Whether the probe's packets went across and came back: the tunnel works, the loss was a moment's. */
export function crossedBothWays(probe: TrafficProbe): boolean {
  return (
    delta(probe, 0, "tx") > 0 &&
    delta(probe, 1, "rx") > 0 &&
    delta(probe, 1, "tx") > 0 &&
    delta(probe, 0, "rx") > 0
  );
}

/** Where the probe's packets went, as findings naming the routers. */
export function trafficFindings(probe: TrafficProbe): string[] {
  const { sender, receiver } = probe;
  const [name, theirs] = probe.names;
  const sent = delta(probe, 0, "tx");
  const failed = delta(probe, 0, "txFailed");
  const arrived = delta(probe, 1, "rx");
  const replied = delta(probe, 1, "tx");
  const returned = delta(probe, 0, "rx");
  if (sent === 0) {
    return failed > 0
      ? [
          `${sender}: ${name} failed to send ${failed} packets (tx errors): ${sender}'s own firewall drops IP protocol 47 on output` +
            (probe.ipsec ? " (with IPsec, pulumi-gre's guard drops GRE that no IPsec SA protects)" : ""),
        ]
      : [`${sender}: nothing went into ${name}: ${sender}'s routing does not lead into it`];
  }
  if (arrived === 0) {
    if (probe.captured === true) {
      return [
        `${receiver}: GRE from ${sender} reaches its underlay, but its ${theirs} receives none of it: ` +
          (probe.agree
            ? `${receiver}'s firewall drops IP protocol 47 on input`
            : "none of its tunnels matches the packets' source address and key (see above)"),
      ];
    }
    if (probe.captured === false && probe.nat) {
      return [
        `${sender}: ${name} sent ${sent} packets to ${probe.nat} that never reached ${receiver}: the NAT at ${probe.nat} ` +
          `does not forward GRE (IP protocol 47) to ${receiver} — it needs a forward of protocol 47 to ${receiver}'s ` +
          "address and GRE connection tracking (nf_conntrack, nf_nat), and many NATs cannot do it",
      ];
    }
    if (probe.captured === false) {
      return [
        `${sender}: ${name} sent ${sent} packets that never reached ${receiver}'s underlay: IP protocol 47 is dropped between ` +
          `them (a firewall on the path, or a NAT that does not forward GRE)`,
      ];
    }
    return [
      `${sender}: ${name} sent ${sent} packets and ${receiver}'s ${theirs} received none: IP protocol 47 is dropped on the way ` +
        `or by ${receiver}'s firewall (with tcpdump on ${receiver} the next check tells which)`,
    ];
  }
  if (replied === 0) {
    return [
      `${receiver}: its ${theirs} received ${arrived} packets but sent no reply back into it (its route back, or rp_filter)`,
    ];
  }
  if (returned === 0) {
    return [
      `${receiver}: replies went into its ${theirs} (${replied}) and never reached ${sender}'s ${name}: IP protocol 47 is ` +
        `dropped on the way back, or by ${sender}'s firewall`,
    ];
  }
  return [
    `packets crossed both ways during the check (${sent} sent, ${returned} back): the loss comes and goes`,
  ];
}
