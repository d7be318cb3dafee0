/**
 * The MSS clamp's firewall rules, on output recorded from real kernels: iptables-legacy on a lab
 * router (whose kernel has no nftables ip family) and nftables in a namespace of the host.
 */
import { readFileSync } from "fs";
import * as path from "path";
import {
  addRule,
  clampDrift,
  effectiveMss,
  firewallReads,
  parseFirewall,
  planClamp,
  removeRules,
  splitIptablesRule,
  type FirewallView,
} from "../../commands/firewall/mssClamp";
import type { CommandOutcome } from "../../model/command";

function fixture(name: string): string {
  return readFileSync(path.join(__dirname, "../fixtures/firewall", name), "utf8");
}

function outcome(i: number, exitCode: number, stdout = ""): CommandOutcome {
  return { argv: firewallReads()[i].argv, ran: true, exitCode, stdout, stderr: "" };
}

/** The reads as a lab router answers them: no nftables, iptables-legacy with the recorded rules. */
function umlRouter(): CommandOutcome[] {
  return [outcome(0, 1), outcome(1, 1), outcome(2, 0, fixture("iptables-legacy-S.txt")), outcome(3, 4)];
}

/** The reads as a router with nftables answers them, with the recorded table. */
function nftRouter(): CommandOutcome[] {
  return [
    outcome(0, 0),
    outcome(1, 0, fixture("nft-list.json")),
    outcome(2, 0, "-P FORWARD ACCEPT\n"),
    outcome(3, 0),
  ];
}

describe("parseFirewall", () => {
  it.each<[string, CommandOutcome[], string, FirewallView]>([
    [
      "iptables-legacy, clamp",
      umlRouter(),
      "gre1",
      {
        usable: "iptables-legacy",
        nftChains: [],
        rules: [
          {
            firewall: "iptables-legacy",
            setting: "clamp",
            spec: [
              ...["-o", "gre1", "-p", "tcp", "-m", "tcp", "--tcp-flags", "SYN,RST", "SYN", "-m", "comment"],
              ...["--comment", "pulumi-gre:gre1", "-j", "TCPMSS", "--clamp-mss-to-pmtu"],
            ],
          },
        ],
      },
    ],
    [
      "iptables-legacy, a number",
      umlRouter(),
      "gre2",
      {
        usable: "iptables-legacy",
        nftChains: [],
        rules: [
          {
            firewall: "iptables-legacy",
            setting: 1336,
            spec: [
              ...["-o", "gre2", "-p", "tcp", "-m", "tcp", "--tcp-flags", "SYN,RST", "SYN", "-m", "tcpmss"],
              ...["--mss", "1337:65535", "-m", "comment", "--comment", "pulumi-gre:gre2", "-j", "TCPMSS"],
              ...["--set-mss", "1336"],
            ],
          },
        ],
      },
    ],
    [
      "iptables-legacy, a tunnel without a rule",
      umlRouter(),
      "gre3",
      { usable: "iptables-legacy", nftChains: [], rules: [] },
    ],
    [
      "nftables, clamp",
      nftRouter(),
      "gre1",
      {
        usable: "nftables",
        nftChains: ["mss_gre1", "mss_gre2"],
        rules: [{ firewall: "nftables", setting: "clamp" }],
      },
    ],
    [
      "nftables, a number and a rule someone added to our chain",
      nftRouter(),
      "gre2",
      {
        usable: "nftables",
        nftChains: ["mss_gre1", "mss_gre2"],
        rules: [
          { firewall: "nftables", setting: 1336 },
          { firewall: "nftables", setting: "other" },
        ],
      },
    ],
    [
      "no firewall at all",
      [outcome(0, 127), outcome(1, 127), outcome(2, 127), outcome(3, 127)],
      "gre1",
      { usable: undefined, nftChains: [], rules: [] },
    ],
  ])("%s", (_title, outcomes, name, expected) => {
    expect(parseFirewall(name, outcomes)).toEqual(expected);
  });
});

describe("splitIptablesRule", () => {
  it("keeps a quoted comment with spaces and escapes as one argument", () => {
    const line = fixture("iptables-legacy-S.txt").split("\n")[3];
    expect(splitIptablesRule(line)).toContain("someone else's rule");
  });
});

describe("planClamp", () => {
  const gre1 = (outcomes: CommandOutcome[]) => parseFirewall("gre1", outcomes);

  it("does nothing when the one rule is as wanted", () => {
    expect(planClamp("gre1", "clamp", gre1(umlRouter()))).toEqual([]);
    expect(planClamp("gre1", "clamp", gre1(nftRouter()))).toEqual([]);
  });

  it("replaces a rule that sets something else, deleting exactly the rule it found", () => {
    expect(planClamp("gre1", 1360, gre1(umlRouter())).map((c) => c.argv)).toEqual([
      [
        ...["iptables-legacy", "-w", "-t", "mangle", "-D", "FORWARD", "-o", "gre1", "-p", "tcp", "-m", "tcp"],
        ...["--tcp-flags", "SYN,RST", "SYN", "-m", "comment", "--comment", "pulumi-gre:gre1", "-j", "TCPMSS"],
        "--clamp-mss-to-pmtu",
      ],
      [
        ...["iptables-legacy", "-w", "-t", "mangle", "-A", "FORWARD", "-o", "gre1", "-p", "tcp", "-m", "tcp"],
        ...["--tcp-flags", "SYN,RST", "SYN", "-m", "tcpmss", "--mss", "1361:65535", "-m", "comment"],
        ...["--comment", "pulumi-gre:gre1", "-j", "TCPMSS", "--set-mss", "1360"],
      ],
    ]);
  });

  it("writes nftables as one transaction that makes or empties the tunnel's chain first", () => {
    const [command] = planClamp("gre3", "clamp", parseFirewall("gre3", nftRouter()));
    expect(command).toEqual(addRule("gre3", "clamp", "nftables"));
    expect(command.argv).toEqual(["nft", "-f", "-"]);
    expect(command.stdin).toBe(
      [
        "add table ip pulumi_gre",
        "add chain ip pulumi_gre mss_gre3 { type filter hook forward priority mangle; policy accept; }",
        "flush chain ip pulumi_gre mss_gre3",
        'add rule ip pulumi_gre mss_gre3 oifname "gre3" tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu comment "pulumi-gre:gre3"',
        "",
      ].join("\n"),
    );
  });

  it("removes only the tunnel's chain while other tunnels have theirs, and the table with the last", () => {
    const view = parseFirewall("gre2", nftRouter());
    expect(removeRules("gre2", view).map((c) => c.argv)).toEqual([
      ["nft", "delete", "chain", "ip", "pulumi_gre", "mss_gre2"],
    ]);
    expect(removeRules("gre2", { ...view, nftChains: ["mss_gre2"] }).map((c) => c.argv)).toEqual([
      ["nft", "delete", "table", "ip", "pulumi_gre"],
    ]);
  });

  it("never touches a rule that is not ours", () => {
    const commands = planClamp("eth1", undefined, parseFirewall("eth1", umlRouter()));
    expect(commands).toEqual([]);
  });

  it("says why when no firewall can hold the clamp", () => {
    expect(() => planClamp("gre1", "clamp", { usable: undefined, rules: [], nftChains: [] })).toThrow(
      /tcpMss needs a firewall/,
    );
  });
});

describe("clampDrift", () => {
  it.each<[string, string, "clamp" | number | undefined, string[]]>([
    ["as wanted", "gre1", "clamp", []],
    ["another setting", "gre1", 1360, ["gre1 MSS rule clamps to the path MTU, wanted sets 1360"]],
    ["missing", "gre3", "clamp", ["gre3 MSS rule is missing"]],
    ["not wanted", "gre1", undefined, ["gre1 has an MSS rule of pulumi-gre that is not wanted"]],
  ])("%s", (_title, name, wanted, expected) => {
    expect(clampDrift(name, wanted, parseFirewall(name, umlRouter()))).toEqual(expected);
  });

  it("sees a rule someone added to our chain", () => {
    expect(clampDrift("gre2", 1336, parseFirewall("gre2", nftRouter()))).toEqual([
      "gre2 has 2 MSS rules, wanted one",
    ]);
  });
});

describe("effectiveMss", () => {
  it.each<[string, "clamp" | number, number | undefined, number | null]>([
    ["the field note: GRE over a 1500-byte underlay", "clamp", 1476, 1436],
    ["mtu 1400", "clamp", 1400, 1360],
    ["with keys over 1500", "clamp", 1472, 1432],
    ["a number", 1300, 1476, 1300],
    ["a device not there", "clamp", undefined, null],
  ])("%s", (_title, mss, mtu, expected) => {
    expect(effectiveMss(mss, mtu)).toBe(expected);
  });
});

describe("the clamp of IPv6 TCP (a tunnel with IPv6 addresses)", () => {
  const outcome6 = (i: number, exitCode: number, stdout = ""): CommandOutcome => ({
    argv: firewallReads("ipv6")[i].argv,
    ran: true,
    exitCode,
    stdout,
    stderr: "",
  });
  /** A lab router's IPv6 reads: no nftables ip6 family, ip6tables-legacy with the recorded rules. */
  const uml6 = () => [
    outcome6(0, 1),
    outcome6(1, 1),
    outcome6(2, 0, fixture("ip6tables-legacy-S.txt")),
    outcome6(3, 4),
  ];

  it("reads the ip6 table and ip6tables", () => {
    expect(firewallReads("ipv6").map((c) => c.argv.slice(0, 5).join(" "))).toEqual([
      "nft --check add table ip6",
      "nft -j list table ip6",
      "ip6tables-legacy -w -t mangle -S",
      "ip6tables -w -t mangle -S",
    ]);
  });

  it("finds its rule in ip6tables-legacy and replaces it there, never touching one not ours", () => {
    const view = parseFirewall("g6", uml6(), "ipv6");
    expect(view).toMatchObject({ usable: "ip6tables-legacy", family: "ipv6", rules: [{ setting: "clamp" }] });
    expect(planClamp("g6", 1380, view).map((c) => c.argv.slice(0, 6).join(" "))).toEqual([
      "ip6tables-legacy -w -t mangle -D FORWARD",
      "ip6tables-legacy -w -t mangle -A FORWARD",
    ]);
    expect(planClamp("eth1", undefined, parseFirewall("eth1", uml6(), "ipv6"))).toEqual([]);
  });

  it("writes nftables' rule in the ip6 table, and removes that table once empty", () => {
    const add = addRule("g6", "clamp", "nftables", "ipv6");
    expect(add.stdin?.split("\n").slice(0, 2)).toEqual([
      "add table ip6 pulumi_gre",
      "add chain ip6 pulumi_gre mss_g6 { type filter hook forward priority mangle; policy accept; }",
    ]);
    const view: FirewallView = { usable: "nftables", rules: [], nftChains: ["mss_g6"], family: "ipv6" };
    expect(removeRules("g6", view).map((c) => c.argv)).toEqual([
      ["nft", "delete", "table", "ip6", "pulumi_gre"],
    ]);
  });

  it("gives IPv6 TCP the tunnel's MTU less 60 bytes", () => {
    expect(effectiveMss("clamp", 1444, "ipv6")).toBe(1384);
  });
});
