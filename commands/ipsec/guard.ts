/**
 * The guard that keeps GRE over IPsec from leaking in clear: while charon runs, its policies send
 * GRE between the two underlay addresses through ESP, but when it stops it removes them, and the
 * kernel would send the tunnel's traffic as plain GRE. Two iptables rules of the tunnel's (filter
 * table, marked `pulumi-gre:NAME:ipsec`) drop GRE to and from the peer that no IPsec policy
 * covers (`-m policy --pol none`). iptables-legacy where it works, else iptables (which may be
 * iptables-nft: the policy match works there too), ip6tables for an IPv6 underlay. Pure.
 *
 * @packageDocumentation
 */
import type { CommandOutcome, RemoteCommand } from "../../model/command";
import type { IpFamily } from "../../model/tunnel";
import { FAMILY_TOOLS, splitIptablesRule, type Firewall } from "../firewall/mssClamp";
import { bootUnitContent } from "../firewall/bootClamp";

/** The comment that marks tunnel `name`'s guard rules. */
export function guardMark(name: string): string {
  return `pulumi-gre:${name}:ipsec`;
}

/** The chains the guard has a rule in: what leaves for the peer, what arrives from it. */
const CHAINS = ["OUTPUT", "INPUT"] as const;
type Chain = (typeof CHAINS)[number];

/** The addresses of a guarded end: its own underlay address, and where it sends (the peer or its NAT). */
export interface GuardedEnd {
  name: string;
  local: string;
  remote: string;
  family: IpFamily;
}

/** The rule of `chain` (after `-A CHAIN`), as `iptables -S` prints it back. */
export function guardRule(end: GuardedEnd, chain: Chain): string[] {
  const host = end.family === "ipv4" ? 32 : 128;
  const [from, to, dir] = chain === "OUTPUT" ? [end.local, end.remote, "out"] : [end.remote, end.local, "in"];
  return [
    ...["-s", `${from}/${host}`, "-d", `${to}/${host}`, "-p", "gre"],
    ...["-m", "policy", "--dir", dir, "--pol", "none"],
    ...["-m", "comment", "--comment", guardMark(end.name), "-j", "DROP"],
  ];
}

/** The reads: each iptables of the family's OUTPUT and INPUT chains (which works, and our rules). */
export function guardReads(family: IpFamily): RemoteCommand[] {
  const tools = FAMILY_TOOLS[family];
  return [tools.legacy, tools.plain].flatMap((tool) =>
    CHAINS.map((chain) => ({ argv: [tool, "-w", "-S", chain], mayFail: true })),
  );
}

/** What a router's iptables hold of a tunnel's guard. */
export interface GuardView {
  /** The iptables a new rule goes to (undefined: none works here). */
  usable: Firewall | undefined;
  /** Our rules, by chain, as `-S` printed them after `-A CHAIN` (normally one each). */
  rules: Array<{ firewall: Firewall; chain: Chain; spec: string[] }>;
}

/** Parses the outcomes of {@link guardReads} for tunnel `name`. */
export function parseGuard(name: string, family: IpFamily, outcomes: CommandOutcome[]): GuardView {
  const tools = FAMILY_TOOLS[family];
  const works = (i: number) => outcomes[i]?.exitCode === 0 && outcomes[i + 1]?.exitCode === 0;
  // `iptables` is often iptables-legacy itself: it is looked at only where there is no iptables-legacy.
  const usable = works(0) ? tools.legacy : works(2) ? tools.plain : undefined;
  const offset = usable === tools.plain ? 2 : 0;
  const rules: GuardView["rules"] = [];
  if (usable !== undefined) {
    CHAINS.forEach((chain, c) => {
      for (const line of outcomes[offset + c].stdout.split("\n")) {
        if (!line.startsWith(`-A ${chain} `)) continue;
        const args = splitIptablesRule(line);
        const comment = args.indexOf("--comment");
        if (comment >= 0 && args[comment + 1] === guardMark(name))
          rules.push({ firewall: usable, chain, spec: args.slice(2) });
      }
    });
  }
  return { usable, rules };
}

/** Whether the guard is exactly as wanted: one rule per chain, each as written. */
function asWanted(end: GuardedEnd, view: GuardView): boolean {
  return CHAINS.every((chain) => {
    const found = view.rules.filter((r) => r.chain === chain);
    return (
      found.length === 1 &&
      found[0].firewall === view.usable &&
      found[0].spec.join(" ") === guardRule(end, chain).join(" ")
    );
  });
}

/** Removes every guard rule of the tunnel that was found. */
export function removeGuard(view: GuardView): RemoteCommand[] {
  return view.rules.map((rule) => ({ argv: [rule.firewall, "-w", "-D", rule.chain, ...rule.spec] }));
}

/**
 * The changes that give the end its guard (`end` undefined: none). New rules go in first, at the
 * top of each chain, before the old ones are removed, so GRE is never unguarded in between.
 */
export function planGuard(end: GuardedEnd | undefined, view: GuardView): RemoteCommand[] {
  if (end === undefined) return removeGuard(view);
  if (asWanted(end, view)) return [];
  if (view.usable === undefined) throw new Error(guardProblem(end.family));
  return [
    ...CHAINS.map((chain) => ({ argv: [view.usable!, "-w", "-I", chain, "1", ...guardRule(end, chain)] })),
    ...removeGuard(view),
  ];
}

/** Why the guard cannot be set on a router without a working iptables of the family. */
export function guardProblem(family: IpFamily): string {
  const tools = FAMILY_TOOLS[family];
  return (
    `ipsec: no ${tools.plain} works here, and pulumi-gre needs it to drop GRE to the peer that IPsec does not protect ` +
    `(when charon stops, its policies go); install ${tools.plain}`
  );
}

/** How the guard differs from what is wanted, as short phrases. */
export function guardDrift(end: GuardedEnd | undefined, view: GuardView): string[] {
  if (end === undefined)
    return view.rules.length > 0 ? [`${view.rules.length} IPsec guard rule(s) of pulumi-gre not wanted`] : [];
  if (asWanted(end, view)) return [];
  return view.rules.length === 0
    ? ["the rules that drop cleartext GRE to the peer are missing"]
    : ["the rules that drop cleartext GRE to the peer differ"];
}

/** The boot unit of tunnel `name`'s guard (`persist`). */
export function guardUnit(name: string): string {
  return `pulumi-gre-ipsec-${name}.service`;
}

/**
 * The guard's boot unit: its rules added again before the network comes up, so GRE to the peer is
 * dropped from the moment the tunnel exists until charon has loaded its connection (the previous
 * rule of ours removed first: a rerun adds no second one).
 */
export function guardUnitContent(end: GuardedEnd, firewall: Firewall): string {
  return bootUnitContent(
    `IPsec guard of tunnel ${end.name}: GRE to the peer that no IPsec SA protects is dropped`,
    CHAINS.flatMap((chain) => [
      { argv: [firewall, "-w", "-D", chain, ...guardRule(end, chain)], mayFail: true },
      { argv: [firewall, "-w", "-I", chain, "1", ...guardRule(end, chain)] },
    ]),
  );
}
