/**
 * GRE over IPsec, the pure parts: the swanctl files, what `swanctl --raw` printed on the lab, the
 * states that tell whether both ends agree on an SA (one, two started at once, one still
 * connecting), the causes `swanctl --initiate` names (each recorded on the lab: a key that differs
 * on either side, no common proposal, a silent peer), the guard rules as iptables printed them back,
 * and the pre-shared key kept out of every command line.
 */
import { readFileSync } from "fs";
import * as path from "path";
import {
  connectionFile,
  connectionLoaded,
  initiateFailure,
  parseSas,
  parseViciRaw,
  secretFile,
  swanctlSaid,
  type IpsecEnd,
} from "../../commands/ipsec/swanctl";
import {
  guardDrift,
  guardReads,
  guardUnit,
  guardUnitContent,
  parseGuard,
  planGuard,
  type GuardedEnd,
} from "../../commands/ipsec/guard";
import { writeSecretFile } from "../../commands/files/bootFile";
import { agreed, negotiating } from "../../providers/greTunnel/ipsecPair";
import type { IpsecView } from "../../providers/greTunnel/extras/ipsec";
import type { ExtrasView } from "../../providers/greTunnel/extras/extras";
import { batchScript, channelInput } from "../../transport/script";
import type { CommandOutcome } from "../../model/command";

const fixture = (name: string) => readFileSync(path.join(__dirname, "../fixtures/ipsec", name), "utf8");
const outcome = (stdout: string, exitCode = 0, stderr = ""): CommandOutcome => ({
  argv: [],
  ran: true,
  exitCode,
  stdout,
  stderr,
});

const END_A: IpsecEnd = {
  name: "gre1",
  local: "198.51.100.11",
  remote: "198.51.100.12",
  peerId: "198.51.100.12",
  ike: ["aes256gcm16-prfsha384-x25519"],
  esp: ["aes256gcm16-x25519"],
};
const PSK = "correct horse battery staple";

describe("swanctl files", () => {
  it("a transport-mode connection for GRE only, trapped, with identities the underlay addresses", () => {
    const text = connectionFile(END_A);
    for (const line of [
      "  pulumi-gre-gre1 {",
      "    local_addrs = 198.51.100.11",
      "    remote_addrs = 198.51.100.12",
      "    proposals = aes256gcm16-prfsha384-x25519",
      "      id = 198.51.100.12",
      "        mode = transport",
      "        local_ts = dynamic[gre]",
      "        esp_proposals = aes256gcm16-x25519",
      "        start_action = trap",
    ])
      expect(text.split("\n")).toContain(line);
    expect(text).not.toContain(PSK);
  });

  it("the secret file holds the key as hex, for the two identities", () => {
    const text = secretFile(END_A, PSK);
    expect(text).toContain(`secret = 0x${Buffer.from(PSK).toString("hex")}`);
    expect(text).toContain("id-local = 198.51.100.11");
    expect(text).toContain("id-peer = 198.51.100.12");
  });

  it("the key travels on the channel's input, never in the script (argv) the router's shell sees", () => {
    const write = writeSecretFile("/etc/swanctl/conf.d/pulumi-gre-gre1.secret.conf", secretFile(END_A, PSK));
    const hex = Buffer.from(PSK).toString("hex");
    expect(write.argv.join(" ")).not.toContain(hex);
    expect(write.stdin).toBeUndefined();
    const script = batchScript([{ argv: ["true"] }, write], "abcdefgh12", true);
    expect(script).not.toContain(hex);
    expect(script).toContain(`head -c ${Buffer.byteLength(write.secretInput!)} | sh -c`);
    expect(channelInput([{ argv: ["true"] }, write])).toBe(write.secretInput);
    expect(channelInput([{ argv: ["true"] }])).toBeUndefined();
  });
});

describe("what swanctl --raw printed on the lab", () => {
  it("an established SA with its child installed, and the proposal chosen", () => {
    expect(parseSas("gre1", fixture("list-sas-raw.txt"))).toEqual([
      {
        state: "ESTABLISHED",
        proposal: "AES_GCM_16-256/PRF_HMAC_SHA2_384/CURVE_25519",
        nat: false,
        children: ["INSTALLED"],
      },
    ]);
    expect(parseSas("gre2", fixture("list-sas-raw.txt"))).toEqual([]);
  });

  it("lists, values with spaces and nested sections", () => {
    const [conn] = parseViciRaw(fixture("list-conns-raw.txt"));
    const ours = conn["pulumi-gre-gre1"] as Record<string, unknown>;
    expect(ours.local_addrs).toEqual(["198.51.100.11"]);
    expect((ours["local-1"] as Record<string, unknown>).class).toBe("pre-shared key");
    const child = ((ours.children as Record<string, unknown>)["pulumi-gre-gre1"] ?? {}) as Record<
      string,
      unknown
    >;
    expect(child["local-ts"]).toEqual(["dynamic[gre]"]);
    expect(connectionLoaded("gre1", fixture("list-conns-raw.txt"))).toBe(true);
    expect(connectionLoaded("gre2", fixture("list-conns-raw.txt"))).toBe(false);
  });

  it("swanctl's own words, without plugin noise and usage text", () => {
    const stderr =
      "plugin 'ldap': failed to load - ldap_plugin_create not found and no plugin file available\n" +
      "connecting to 'unix:///var/run/charon.vici' failed: Connection refused\n" +
      "Error: connecting to 'default' URI failed: Connection refused\nstrongSwan 5.9.8 swanctl\nusage:\n  swanctl --list-conns\n";
    expect(swanctlSaid(outcome("", 1, stderr))).toBe(
      "connecting to 'unix:///var/run/charon.vici' failed: Connection refused; Error: connecting to 'default' URI failed: Connection refused",
    );
  });
});

describe("whether both ends agree on the SA, from what swanctl --raw printed on the lab", () => {
  const view = (file?: string): IpsecView => ({
    loaded: true,
    sas: file === undefined ? [] : parseSas("gre1", fixture(file)),
    guard: { usable: "iptables-legacy", rules: [] },
  });
  const ends = (a?: string, b?: string): [ExtrasView, ExtrasView] => [{ ipsec: view(a) }, { ipsec: view(b) }];

  it.each([
    // file, IKE still at work on that end
    ["list-sas-raw.txt", false], // established, its child installed
    ["list-sas-raw-two.txt", false], // both ends started IKE at once: two established, both kept
    ["list-sas-raw-connecting.txt", true], // IKE_SA_INIT sent, no answer yet
    [undefined, false], // no SA
  ])("%s: negotiating %s", (file, expected) => {
    expect(negotiating(view(file))).toBe(expected);
  });

  it.each([
    ["list-sas-raw.txt", "list-sas-raw.txt", true],
    ["list-sas-raw-two.txt", "list-sas-raw-two.txt", true],
    ["list-sas-raw.txt", undefined, false], // the other end has not listed its SA yet
    ["list-sas-raw.txt", "list-sas-raw-connecting.txt", false],
    [undefined, undefined, false],
  ])("%s and %s: agreed %s", (a, b, expected) => {
    expect(agreed(ends(a, b))).toBe(expected);
  });

  it("an end without IPsec wanted never agrees", () => {
    expect(agreed([{ ipsec: view("list-sas-raw.txt") }, {}])).toBe(false);
  });
});

describe("why an SA did not come up, from the initiator's output", () => {
  it.each([
    [
      "initiate-wrong-psk.txt",
      "IKE authentication failed on routerB: it rejected routerA's pre-shared key (the keys differ)",
    ],
    [
      "initiate-mac-mismatch.txt",
      "IKE authentication failed on routerA: routerB authenticated with another pre-shared key (the keys differ)",
    ],
    [
      "initiate-no-proposal.txt",
      "no proposal chosen: routerB accepts none of routerA's IKE or ESP proposals",
    ],
    [
      "initiate-peer-silent.txt",
      "the peer does not answer IKE on UDP 500/4500: routerB sent nothing back to routerA (charon stopped there, or UDP 500/4500 filtered on the path)",
    ],
  ])("%s", (file, cause) => {
    expect(initiateFailure(outcome(fixture(file), 1), "routerA", "routerB")).toBe(cause);
  });

  it("none when it came up", () => {
    expect(
      initiateFailure(outcome("initiate completed successfully\n"), "routerA", "routerB"),
    ).toBeUndefined();
  });
});

describe("the guard against cleartext GRE", () => {
  const end: GuardedEnd = { name: "gre1", local: "198.51.100.11", remote: "198.51.100.12", family: "ipv4" };
  const reads = guardReads("ipv4");
  const view = (output: string, input: string) =>
    parseGuard("gre1", "ipv4", [outcome(output), outcome(input), outcome(""), outcome("")]);

  it("reads back what iptables-legacy printed as exactly the wanted rules", () => {
    expect(reads.map((r) => r.argv.join(" "))).toEqual([
      "iptables-legacy -w -S OUTPUT",
      "iptables-legacy -w -S INPUT",
      "iptables -w -S OUTPUT",
      "iptables -w -S INPUT",
    ]);
    const found = view(fixture("iptables-S-OUTPUT.txt"), fixture("iptables-S-INPUT.txt"));
    expect(found.usable).toBe("iptables-legacy");
    expect(found.rules).toHaveLength(2);
    expect(planGuard(end, found)).toEqual([]);
    expect(guardDrift(end, found)).toEqual([]);
    // Another tunnel's guard is not this one's.
    expect(
      parseGuard("gre2", "ipv4", [outcome(fixture("iptables-S-OUTPUT.txt")), outcome("")]).rules,
    ).toEqual([]);
  });

  it("missing: inserted at the top of both chains; not wanted: removed exactly", () => {
    const empty = view("-P OUTPUT ACCEPT\n", "-P INPUT ACCEPT\n");
    expect(planGuard(end, empty).map((c) => c.argv.slice(0, 6).join(" "))).toEqual([
      "iptables-legacy -w -I OUTPUT 1 -s",
      "iptables-legacy -w -I INPUT 1 -s",
    ]);
    expect(guardDrift(end, empty)).toEqual(["the rules that drop cleartext GRE to the peer are missing"]);
    const found = view(fixture("iptables-S-OUTPUT.txt"), fixture("iptables-S-INPUT.txt"));
    expect(planGuard(undefined, found).map((c) => c.argv.join(" "))).toEqual([
      "iptables-legacy -w -D OUTPUT -s 198.51.100.11/32 -d 198.51.100.12/32 -p gre -m policy --dir out --pol none -m comment --comment pulumi-gre:gre1:ipsec -j DROP",
      "iptables-legacy -w -D INPUT -s 198.51.100.12/32 -d 198.51.100.11/32 -p gre -m policy --dir in --pol none -m comment --comment pulumi-gre:gre1:ipsec -j DROP",
    ]);
  });

  it("at boot: a oneshot before the network that puts both rules back (the old ones removed first)", () => {
    expect(guardUnit("gre1")).toBe("pulumi-gre-ipsec-gre1.service");
    const exec = guardUnitContent(end, "iptables-legacy")
      .split("\n")
      .filter((l) => l.startsWith("ExecStart="));
    expect(exec).toEqual([
      "ExecStart=-iptables-legacy -w -D OUTPUT -s 198.51.100.11/32 -d 198.51.100.12/32 -p gre -m policy --dir out --pol none -m comment --comment pulumi-gre:gre1:ipsec -j DROP",
      "ExecStart=iptables-legacy -w -I OUTPUT 1 -s 198.51.100.11/32 -d 198.51.100.12/32 -p gre -m policy --dir out --pol none -m comment --comment pulumi-gre:gre1:ipsec -j DROP",
      "ExecStart=-iptables-legacy -w -D INPUT -s 198.51.100.12/32 -d 198.51.100.11/32 -p gre -m policy --dir in --pol none -m comment --comment pulumi-gre:gre1:ipsec -j DROP",
      "ExecStart=iptables-legacy -w -I INPUT 1 -s 198.51.100.12/32 -d 198.51.100.11/32 -p gre -m policy --dir in --pol none -m comment --comment pulumi-gre:gre1:ipsec -j DROP",
    ]);
    expect(guardUnitContent(end, "iptables-legacy")).toContain("Before=network-pre.target");
  });

  it("no iptables works: refused, naming what to install", () => {
    const none = parseGuard(
      "gre1",
      "ipv4",
      [1, 1, 1, 1].map(() => outcome("", 127)),
    );
    expect(() => planGuard(end, none)).toThrow("install iptables");
  });
});
