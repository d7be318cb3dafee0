/**
 * A tunnel's health from pings across it, and where its packets get lost, on output recorded on
 * lab routers (test/fixtures/health/).
 */
import { readFileSync } from "fs";
import * as path from "path";
import { healthPings, healthProblem, parsePing, tunnelHealth } from "../../commands/health/tunnelHealth";
import {
  crossedBothWays,
  parseCounters,
  trafficFindings,
  type LinkCounters,
} from "../../commands/health/trafficProbe";
import type { CommandOutcome } from "../../model/command";

/** A recorded command whose last line is `status N`. */
function recorded(name: string): CommandOutcome {
  const lines = readFileSync(path.join(__dirname, "../fixtures/health", name), "utf8")
    .trimEnd()
    .split("\n");
  const status = Number(/^status (\d+)$/.exec(lines.pop()!)![1]);
  return { argv: ["ping"], ran: true, exitCode: status, stdout: lines.join("\n") + "\n", stderr: "" };
}

const NOW = "2026-11-30T12:00:00.000Z";

describe("healthPings", () => {
  it("probes small, then at the tunnel's full size with DF set", () => {
    expect(healthPings("10.10.10.2", "10.10.10.1", 1472).map((c) => c.argv.join(" "))).toEqual([
      "ping -n -q -i 0.05 -W 1 -I 10.10.10.2 -c 3 10.10.10.1",
      "ping -n -q -i 0.05 -W 1 -I 10.10.10.2 -c 2 -M do -s 1444 10.10.10.1",
    ]);
  });
});

describe("parsePing", () => {
  it.each<[string, string, ReturnType<typeof parsePing>]>([
    ["replies", "ping-ok.txt", { transmitted: 3, received: 3, loss: 0, rttMs: 2.682 }],
    ["full size replies", "ping-full-size-ok.txt", { transmitted: 2, received: 2, loss: 0, rttMs: 0.272 }],
    ["no reply", "ping-lost.txt", { transmitted: 3, received: 0, loss: 100, rttMs: null }],
  ])("%s", (_title, file, expected) => {
    expect(parsePing(recorded(file))).toEqual(expected);
  });

  it("reads a ping that could not run as all lost", () => {
    expect(
      parsePing({ argv: ["ping"], ran: true, exitCode: 2, stdout: "", stderr: "ping: bind: Cannot assign" }),
    ).toEqual({
      transmitted: 0,
      received: 0,
      loss: 100,
      rttMs: null,
    });
  });
});

describe("tunnelHealth and the drift it makes", () => {
  const probe = (small: string, large: string) => ({
    router: "routerA",
    small: parsePing(recorded(small)),
    large: parsePing(recorded(large)),
  });

  it("is healthy when small and full-size pings cross", () => {
    const health = tunnelHealth([probe("ping-ok.txt", "ping-full-size-ok.txt")], 1472, NOW);
    expect(health).toEqual({
      reachable: true,
      loss: 0,
      rttMs: 2.682,
      fullSize: true,
      mtu: 1472,
      from: ["routerA"],
      checkedAt: NOW,
    });
    expect(healthProblem("gre1", "10.10.10.1", health)).toBeUndefined();
  });

  it("says a tunnel carries no traffic", () => {
    const health = tunnelHealth([probe("ping-lost.txt", "ping-lost.txt")], 1472, NOW);
    expect(health.fullSize).toBeNull();
    expect(healthProblem("gre1", "10.10.10.1", health)).toBe(
      "gre1 does not carry traffic (100% of pings to 10.10.10.1 lost from routerA)",
    );
  });

  it("names an MTU black hole: small packets cross, full-size ones do not", () => {
    const health = tunnelHealth([probe("ping-ok.txt", "ping-lost.txt")], 1472, NOW);
    expect(healthProblem("gre1", "10.10.10.1", health)).toMatch(
      /^gre1 loses full-size packets \(1472 bytes, DF set\) while small ones cross: an MTU black hole/,
    );
  });

  it("takes the worst end when both ping (NAT in between)", () => {
    const health = tunnelHealth(
      [
        probe("ping-ok.txt", "ping-full-size-ok.txt"),
        { ...probe("ping-lost.txt", "ping-lost.txt"), router: "routerB" },
      ],
      1472,
      NOW,
    );
    expect(health).toMatchObject({ reachable: false, loss: 100, from: ["routerA", "routerB"] });
  });
});

describe("trafficFindings", () => {
  const counters = parseCounters({
    argv: [],
    ran: true,
    exitCode: 0,
    stdout: readFileSync(path.join(__dirname, "../fixtures/health/counters-gre1.json"), "utf8"),
    stderr: "",
  })!;
  const plus = (c: LinkCounters, d: Partial<LinkCounters>): LinkCounters => ({
    rx: c.rx + (d.rx ?? 0),
    tx: c.tx + (d.tx ?? 0),
    txFailed: c.txFailed + (d.txFailed ?? 0),
  });
  /** routerA pings routerB across gre1; `a` and `b`: what each end's counters gained. */
  const probeOf = (
    a: Partial<LinkCounters>,
    b: Partial<LinkCounters>,
    captured: boolean | undefined,
    agree = true,
    nat?: string,
  ) => ({
    sender: "routerA",
    receiver: "routerB",
    names: ["gre1", "gre1"] as [string, string],
    before: [counters, counters] as [LinkCounters, LinkCounters],
    after: [plus(counters, a), plus(counters, b)] as [LinkCounters, LinkCounters],
    captured,
    agree,
    ...(nat ? { nat } : {}),
  });
  const probe = (...args: Parameters<typeof probeOf>) => trafficFindings(probeOf(...args));

  it("reads gre1's counters", () => {
    expect(counters).toEqual({ rx: 7, tx: 7, txFailed: 0 });
  });

  it.each<
    [string, Partial<LinkCounters>, Partial<LinkCounters>, boolean | undefined, RegExp, boolean?, string?]
  >([
    [
      "GRE dropped on input at the receiver",
      { tx: 4 },
      {},
      true,
      /^routerB: GRE from routerA reaches its underlay, but its gre1 receives none of it: routerB's firewall drops IP protocol 47 on input$/,
    ],
    [
      "GRE lost between the routers",
      { tx: 4 },
      {},
      false,
      /^routerA: gre1 sent 4 packets that never reached routerB's underlay: IP protocol 47 is dropped between them/,
    ],
    ["no capture possible", { tx: 4 }, {}, undefined, /with tcpdump on routerB the next check tells which/],
    [
      "routerB firewall, but the tunnels disagree",
      { tx: 4 },
      {},
      true,
      /^routerB: GRE from routerA reaches its underlay, but its gre1 receives none of it: none of its tunnels matches/,
      false,
    ],
    [
      "a NAT that does not forward GRE",
      { tx: 4 },
      {},
      false,
      /^routerA: gre1 sent 4 packets to 198\.51\.100\.112 that never reached routerB: the NAT at 198\.51\.100\.112 does not forward GRE/,
      true,
      "198.51.100.112",
    ],
    [
      "the sender's own firewall",
      { txFailed: 4 },
      {},
      true,
      /^routerA: gre1 failed to send 4 packets \(tx errors\): routerA's own firewall drops IP protocol 47 on output/,
    ],
    [
      "replies lost on the way back",
      { tx: 4 },
      { rx: 4, tx: 4 },
      true,
      /^routerB: replies went into its gre1 \(4\) and never reached routerA's gre1/,
    ],
    ["no reply sent", { tx: 4 }, { rx: 4 }, true, /^routerB: its gre1 received 4 packets but sent no reply/],
    [
      "a moment's loss",
      { tx: 4, rx: 4 },
      { rx: 4, tx: 4 },
      true,
      /^packets crossed both ways during the check \(4 sent, 4 back\): the loss comes and goes$/,
    ],
  ])("%s", (_title, a, b, captured, expected, agree = true, nat = undefined) => {
    expect(probe(a, b, captured, agree, nat)).toEqual([expect.stringMatching(expected)]);
  });

  it.each<[Partial<LinkCounters>, Partial<LinkCounters>, boolean]>([
    [{ tx: 4, rx: 4 }, { rx: 4, tx: 4 }, true],
    [{ tx: 4 }, { rx: 4, tx: 4 }, false],
    [{ tx: 4, rx: 4 }, { rx: 4 }, false],
    [{}, {}, false],
  ])("crossed both ways: %j at the sender, %j at the receiver → %s", (a, b, crossed) => {
    expect(crossedBothWays(probeOf(a, b, true))).toBe(crossed);
  });
});
