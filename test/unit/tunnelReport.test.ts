/**
 * What the routers say about a tunnel, on output recorded on lab routers: each end's state for the
 * outputs, and the diagnosis of a tunnel that does not carry traffic.
 */
import { readFileSync } from "fs";
import * as path from "path";
import type { RouterObservation } from "../../commands/iproute2/planTunnel";
import { parseIpAddr, parseIpLink } from "../../commands/iproute2/parseIp";
import type { TunnelEndSpec } from "../../commands/iproute2/tunnelCommands";
import { diagnoseTunnel, endState, type EndView } from "../../commands/iproute2/tunnelReport";
import type { CommandOutcome } from "../../model/command";
import { fieldNoteEndA, fieldNoteEndB } from "./fieldNoteEnds";

function fixture(name: string): string {
  return readFileSync(path.join(__dirname, "../fixtures/ip", name), "utf8");
}

/** A router's observation from its recorded `ip -d -j addr show`, with ip_gre loaded. */
function observation(name: string): RouterObservation {
  const text = fixture(name);
  return { links: parseIpLink(text), addresses: parseIpAddr(text), greAvailable: true };
}

/** A recorded command whose last line is `status N`. */
function recorded(name: string, argv: string[]): CommandOutcome {
  const lines = fixture(name).trimEnd().split("\n");
  const status = Number(/^status (\d+)$/.exec(lines.pop()!)![1]);
  return { argv, ran: true, exitCode: status, stdout: lines.join("\n") + "\n", stderr: "" };
}

const specA: TunnelEndSpec = fieldNoteEndA();
const specB: TunnelEndSpec = fieldNoteEndB();
const labels: [string, string] = ["routerA", "routerB"];
const underlayPing = recorded("ping-underlay-ok.txt", ["ping"]);

describe("a tunnel end's state", () => {
  it("records what the router has, and each difference from the spec as drift naming the router", () => {
    const state = endState("routerB", "169.254.100.12", specB, observation("observe-routerB-gre1-key2.json"));
    expect(state).toMatchObject({
      router: "routerB",
      host: "169.254.100.12",
      present: true,
      up: true,
      local: "198.51.100.12",
      remote: "198.51.100.11",
      ikey: 2,
      okey: 2,
      ttl: 255,
      address: "10.10.10.1",
      peerAddress: "10.10.10.2",
      drift: ["routerB: gre1 ikey is 2, wanted 1", "routerB: gre1 okey is 2, wanted 1"],
    });
  });

  it("names another device the kernel cannot tell from this end (made by hand beside it, any dev)", () => {
    const recorded = observation("observe-routerB-gre1-key2.json");
    const gre1 = recorded.links.find((l) => l.name === "gre1")!;
    // An operator's `ip tunnel add mine mode gre local … remote … ikey 1 okey 1 dev eth1`.
    const mine = { ...gre1, name: "mine", ifindex: 99, ikey: 1, okey: 1 };
    const ours = { ...gre1, ikey: 1, okey: 1 };
    const state = endState("routerB", "169.254.100.12", specB, {
      ...recorded,
      links: [...recorded.links.filter((l) => l !== gre1), ours, mine],
    });
    expect(state.drift).toEqual([
      "routerB: mine already carries GRE from 198.51.100.11 to 198.51.100.12 with key 1; the kernel matches incoming GRE packets on local address, remote address and key, so mine can take gre1's traffic: remove mine or give gre1 another key",
    ]);
  });

  it("says an end is missing on a router without it", () => {
    const state = endState("routerB", "169.254.100.12", specB, observation("addr-fresh.json"));
    expect([state.present, state.up, state.ifindex, state.drift]).toEqual([
      false,
      false,
      null,
      ["routerB: gre1 is missing"],
    ]);
  });

  it("says why an end is missing when the router has no GRE (ip_gre not loaded after a reboot)", () => {
    const fresh = { ...observation("addr-fresh.json"), greAvailable: false };
    expect(endState("routerB", "169.254.100.12", specB, fresh).drift).toEqual([
      "routerB: gre1 is missing",
      "routerB: GRE is not available: the ip_gre module is not loaded",
    ]);
  });
});

describe("the diagnosis of a tunnel that does not carry traffic", () => {
  it("names keys that do not mirror", () => {
    const views: [EndView, EndView] = [
      { observation: observation("observe-routerA-gre1-key1.json"), underlayPing },
      { observation: observation("observe-routerB-gre1-key2.json"), underlayPing },
    ];
    expect(diagnoseTunnel([specA, specB], labels, views)).toEqual({
      findings: [
        "routerA: the underlay reaches 198.51.100.12 from 198.51.100.11",
        "routerB: the underlay reaches 198.51.100.11 from 198.51.100.12",
        "keys do not mirror: routerA sends key 1 and expects 1, routerB sends key 2 and expects 2",
      ],
      explained: true,
      unreached: [],
    });
  });

  it("names a remote that is not the peer (NAT), GRE unavailable, and a router it could not read", () => {
    const natted = { ...specA, remote: "203.0.113.7" };
    const a = observation("observe-routerA-gre1-key1.json");
    const views: [EndView, EndView] = [
      {
        observation: { ...a, greAvailable: false },
        underlayPing: { ...underlayPing, exitCode: 1, stdout: "" },
      },
      { unreadable: "routerB (root@169.254.100.12:22): unreachable after 1 attempt(s)" },
    ];
    expect(diagnoseTunnel([natted, specB], labels, views)).toEqual({
      findings: [
        expect.stringMatching(/^routerA: GRE is not available: the ip_gre module is not loaded/),
        "routerA: the underlay does not reach 203.0.113.7 from 198.51.100.11 (no reply)",
        "routerB: could not be inspected: routerB (root@169.254.100.12:22): unreachable after 1 attempt(s)",
      ],
      explained: true,
      unreached: ["routerA: the underlay does not reach 203.0.113.7 from 198.51.100.11 (no reply)"],
    });
    const recordedB = observation("observe-routerB-gre1-key2.json");
    const sameKeys = recordedB.links.map((l) =>
      l.name === "gre1" ? { ...l, ikey: 1, okey: 1, remote: "203.0.113.9" } : l,
    );
    const both: [EndView, EndView] = [
      { observation: a, underlayPing },
      { observation: { ...recordedB, links: sameKeys }, underlayPing },
    ];
    const nat = diagnoseTunnel([specA, specB], labels, both);
    expect(nat.findings.slice(2)).toEqual([
      "routerB sends to 203.0.113.9, but routerA's tunnel starts at 198.51.100.11: right only if routerA is behind a NAT whose public address is 203.0.113.9 and that forwards GRE (IP protocol 47); many NATs cannot, and then a GRE tunnel cannot cross it",
    ]);
    // A NAT may be right: only the traffic tells.
    expect(nat.explained).toBe(false);
  });

  it("names an underlay address that moved away from an end that was made on it, and nothing else as the cause", () => {
    const recordedB = observation("observe-routerB-gre1-key2.json");
    const moved: RouterObservation = {
      links: recordedB.links.map((l) => (l.name === "gre1" ? { ...l, ikey: 1, okey: 1 } : l)),
      addresses: recordedB.addresses.map((a) =>
        a.local === "198.51.100.12" ? { ...a, local: "198.51.100.22" } : a,
      ),
      greAvailable: true,
    };
    const views: [EndView, EndView] = [
      { observation: observation("observe-routerA-gre1-key1.json"), underlayPing },
      { observation: moved, underlayPing: { ...underlayPing, exitCode: 1, stdout: "" } },
    ];
    const diagnosis = diagnoseTunnel([specA, specB], labels, views);
    expect(diagnosis.explained).toBe(true);
    expect(diagnosis.findings).toContain(
      "routerB: gre1 starts at 198.51.100.12, which is no longer an address of this router " +
        "(it has 169.254.100.12 on eth0, 198.51.100.22 on eth1, 10.1.1.1 on lan0, 10.10.10.1 on gre1): its underlay address moved or was removed; " +
        "declare the address it has now (the router's underlay, or this end's local) and run `pulumi up`, or give the router its address back",
    );
    expect(diagnosis.findings.join("\n")).not.toMatch(/NAT|protocol 47/);
  });
});
