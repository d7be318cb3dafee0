/**
 * The field note's MSS clamp as a firewall rule owned by one tunnel end: TCP SYNs leaving through
 * the tunnel get their MSS lowered, so hosts behind the routers never send segments the tunnel
 * must fragment (or, with DF set and ICMP filtered, silently loses).
 *
 * nftables where the kernel takes it (a table of ours, `ip pulumi_gre`, with one chain per tunnel),
 * else iptables (the mangle table's FORWARD chain, each rule marked by a comment of ours). Rules are
 * found again by those marks; rules pulumi-gre did not make are never touched. Each IP family has
 * its own: IPv4 TCP is clamped in the `ip` table and iptables, IPv6 TCP in the `ip6` table and
 * ip6tables. Pure: commands, parsing, plans and drift.
 *
 * @packageDocumentation
 */
import type { CommandOutcome, RemoteCommand } from "../../model/command";
import { TCP_HEADERS, type IpFamily, type TcpMss } from "../../model/tunnel";

/** Where a rule lives (iptables by the command of its family). */
export type Firewall = "nftables" | "iptables-legacy" | "iptables" | "ip6tables-legacy" | "ip6tables";

/** nftables' table family and the iptables commands of an IP family. */
export const FAMILY_TOOLS: Record<IpFamily, { nft: string; legacy: Firewall; plain: Firewall }> = {
  ipv4: { nft: "ip", legacy: "iptables-legacy", plain: "iptables" },
  ipv6: { nft: "ip6", legacy: "ip6tables-legacy", plain: "ip6tables" },
};

/** Our nftables table. */
export const NFT_TABLE = "pulumi_gre";

/** The nftables chain of tunnel `name` (interface names are valid nft identifiers after a letter). */
export function nftChain(name: string): string {
  return `mss_${name}`;
}

/** The comment that marks a rule as tunnel `name`'s. */
export function ruleMark(name: string): string {
  return `pulumi-gre:${name}`;
}

/**
 * The reads that find out which firewall of `family` works and what rules of ours it has (shared by
 * all tunnels of a router).
 */
export function firewallReads(family: IpFamily = "ipv4"): RemoteCommand[] {
  const tools = FAMILY_TOOLS[family];
  return [
    // Whether the kernel takes nftables' table family (a check: nothing is changed).
    { argv: ["nft", "--check", "add", "table", tools.nft, NFT_TABLE], mayFail: true },
    { argv: ["nft", "-j", "list", "table", tools.nft, NFT_TABLE], mayFail: true },
    { argv: [tools.legacy, "-w", "-t", "mangle", "-S", "FORWARD"], mayFail: true },
    { argv: [tools.plain, "-w", "-t", "mangle", "-S", "FORWARD"], mayFail: true },
  ];
}

/** A rule of ours, as found. */
export interface FoundRule {
  firewall: Firewall;
  /** What it sets; "other" when it was changed into something pulumi-gre would not write. */
  setting: TcpMss | "other";
  /** For iptables: the rule as `-S` printed it, split into arguments (to delete exactly it). */
  spec?: string[];
}

/** What a router's firewalls hold for one tunnel. */
export interface FirewallView {
  /** The firewall a new rule goes to: nftables when the kernel takes it, else a working iptables. */
  usable: Firewall | undefined;
  /** The rules of this tunnel (normally none or one). */
  rules: FoundRule[];
  /** The chains in our nftables table (to remove the table once the last one goes). */
  nftChains: string[];
  /** The IP family whose TCP these rules clamp; undefined: IPv4. */
  family?: IpFamily;
}

interface NftObject {
  chain?: { name: string };
  rule?: { chain: string; comment?: string; expr?: unknown[] };
}

/** The setting a rule's nftables expressions make, for tunnel `name`. */
function nftSetting(name: string, expr: unknown[]): TcpMss | "other" {
  const json = (x: unknown) => JSON.stringify(x);
  const oif = expr.some(
    (e) => json(e) === json({ match: { op: "==", left: { meta: { key: "oifname" } }, right: name } }),
  );
  const mangle = expr
    .map((e) => (e as { mangle?: { key: unknown; value: unknown } }).mangle)
    .find((m) => m && json(m.key) === json({ "tcp option": { name: "maxseg", field: "size" } }));
  if (!oif || !mangle) return "other";
  if (json(mangle.value) === json({ rt: { key: "mtu" } })) return "clamp";
  return typeof mangle.value === "number" ? mangle.value : "other";
}

/** Splits a rule as `iptables -S` prints it (arguments with spaces in double quotes). */
export function splitIptablesRule(line: string): string[] {
  const args: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(line))) {
    args.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2]);
  }
  return args;
}

/** The setting of an iptables rule (`-o NAME … -j TCPMSS …`) for tunnel `name`. */
function iptablesSetting(name: string, args: string[]): TcpMss | "other" {
  const after = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (after("-o") !== name || after("-j") !== "TCPMSS") return "other";
  if (args.includes("--clamp-mss-to-pmtu")) return "clamp";
  const mss = Number(after("--set-mss"));
  return Number.isInteger(mss) ? mss : "other";
}

/** Parses the outcomes of {@link firewallReads} (of `family`) for tunnel `name`. */
export function parseFirewall(
  name: string,
  outcomes: CommandOutcome[],
  family: IpFamily = "ipv4",
): FirewallView {
  const tools = FAMILY_TOOLS[family];
  const [check, nftList, legacy, plain] = outcomes;
  const rules: FoundRule[] = [];
  const nftChains: string[] = [];
  if (nftList.exitCode === 0) {
    const objects = (JSON.parse(nftList.stdout) as { nftables: NftObject[] }).nftables;
    for (const object of objects) {
      if (object.chain) nftChains.push(object.chain.name);
      if (object.rule && object.rule.chain === nftChain(name)) {
        rules.push({
          firewall: "nftables",
          setting:
            object.rule.comment === ruleMark(name) ? nftSetting(name, object.rule.expr ?? []) : "other",
        });
      }
    }
  }
  const iptables = (firewall: Firewall, outcome: CommandOutcome) => {
    for (const line of outcome.stdout.split("\n")) {
      if (!line.startsWith("-A FORWARD ")) continue;
      const args = splitIptablesRule(line);
      const comment = args.indexOf("--comment");
      if (comment < 0 || args[comment + 1] !== ruleMark(name)) continue;
      rules.push({ firewall, setting: iptablesSetting(name, args), spec: args.slice(2) });
    }
  };
  // `iptables` is often iptables-legacy itself: it is looked at only where there is no iptables-legacy.
  if (legacy.exitCode === 0) iptables(tools.legacy, legacy);
  else if (plain.exitCode === 0) iptables(tools.plain, plain);
  const usable: Firewall | undefined =
    check.exitCode === 0
      ? "nftables"
      : legacy.exitCode === 0
        ? tools.legacy
        : plain.exitCode === 0
          ? tools.plain
          : undefined;
  return { usable, rules, nftChains, ...(family === "ipv6" ? { family } : {}) };
}

/** The nftables rule text of a setting (every name in it is a checked interface name). */
export function nftRule(name: string, mss: TcpMss): string {
  const syn = "tcp flags & (syn | rst) == syn";
  const set =
    mss === "clamp"
      ? "tcp option maxseg size set rt mtu"
      : `tcp option maxseg size > ${mss} tcp option maxseg size set ${mss}`;
  return `oifname "${name}" ${syn} ${set} comment "${ruleMark(name)}"`;
}

/** The iptables rule of a setting (after `-A FORWARD`). */
export function iptablesRule(name: string, mss: TcpMss): string[] {
  return [
    ...["-o", name, "-p", "tcp", "-m", "tcp", "--tcp-flags", "SYN,RST", "SYN"],
    ...(mss === "clamp" ? [] : ["-m", "tcpmss", "--mss", `${mss + 1}:65535`]),
    ...["-m", "comment", "--comment", ruleMark(name), "-j", "TCPMSS"],
    ...(mss === "clamp" ? ["--clamp-mss-to-pmtu"] : ["--set-mss", String(mss)]),
  ];
}

/** Adds the rule of tunnel `name` (nftables: its chain made or emptied first, in one transaction). */
export function addRule(
  name: string,
  mss: TcpMss,
  firewall: Firewall,
  family: IpFamily = "ipv4",
): RemoteCommand {
  if (firewall === "nftables") {
    const table = `${FAMILY_TOOLS[family].nft} ${NFT_TABLE}`;
    const chain = `${table} ${nftChain(name)}`;
    const script = [
      `add table ${table}`,
      `add chain ${chain} { type filter hook forward priority mangle; policy accept; }`,
      `flush chain ${chain}`,
      `add rule ${chain} ${nftRule(name, mss)}`,
    ].join("\n");
    return { argv: ["nft", "-f", "-"], stdin: `${script}\n` };
  }
  return { argv: [firewall, "-w", "-t", "mangle", "-A", "FORWARD", ...iptablesRule(name, mss)] };
}

/** Removes every rule of tunnel `name` that was found (nftables: its chain, and our table once empty). */
export function removeRules(name: string, view: FirewallView): RemoteCommand[] {
  const commands: RemoteCommand[] = [];
  if (view.nftChains.includes(nftChain(name))) {
    const others = view.nftChains.filter((c) => c !== nftChain(name));
    const nft = FAMILY_TOOLS[view.family ?? "ipv4"].nft;
    commands.push({
      argv:
        others.length === 0
          ? ["nft", "delete", "table", nft, NFT_TABLE]
          : ["nft", "delete", "chain", nft, NFT_TABLE, nftChain(name)],
    });
  }
  for (const rule of view.rules) {
    if (rule.spec)
      commands.push({ argv: [rule.firewall, "-w", "-t", "mangle", "-D", "FORWARD", ...rule.spec] });
  }
  return commands;
}

/** The one rule that is as wanted, when that is all there is. */
function matches(view: FirewallView, mss: TcpMss): boolean {
  return view.rules.length === 1 && view.rules[0].setting === mss && view.rules[0].firewall === view.usable;
}

/**
 * The changes that give tunnel `name` exactly the wanted clamp (none: no rule). Throws, naming the
 * reason, when a clamp is wanted and no firewall on the router can hold it.
 */
export function planClamp(name: string, mss: TcpMss | undefined, view: FirewallView): RemoteCommand[] {
  if (mss === undefined) return removeRules(name, view);
  if (matches(view, mss)) return [];
  if (!view.usable) {
    const tools = FAMILY_TOOLS[view.family ?? "ipv4"];
    throw new Error(
      `tcpMss needs a firewall: nftables cannot use this kernel's ${tools.nft} family and no ${tools.plain} works here ` +
        `(install nftables, or ${tools.plain})`,
    );
  }
  return [...removeRules(name, view), addRule(name, mss, view.usable, view.family)];
}

/** How the rules differ from the wanted clamp, as short phrases naming the tunnel. */
export function clampDrift(name: string, mss: TcpMss | undefined, view: FirewallView): string[] {
  const describe = (s: TcpMss | "other") =>
    s === "clamp" ? "clamps to the path MTU" : s === "other" ? "was changed" : `sets ${s}`;
  if (mss === undefined) {
    return view.rules.length > 0 ? [`${name} has an MSS rule of pulumi-gre that is not wanted`] : [];
  }
  if (view.rules.length === 0) return [`${name} MSS rule is missing`];
  if (view.rules.length > 1) return [`${name} has ${view.rules.length} MSS rules, wanted one`];
  const [rule] = view.rules;
  if (rule.setting !== mss) return [`${name} MSS rule ${describe(rule.setting)}, wanted ${describe(mss)}`];
  return [];
}

/** The MSS the clamp gives TCP of `family` through a tunnel whose MTU is `mtu`. */
export function effectiveMss(mss: TcpMss, mtu: number | undefined, family: IpFamily = "ipv4"): number | null {
  if (mss !== "clamp") return mss;
  return mtu === undefined ? null : mtu - TCP_HEADERS[family];
}
