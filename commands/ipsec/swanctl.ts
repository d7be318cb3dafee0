/**
 * GRE over IPsec with strongSwan: the files of one tunnel end in `/etc/swanctl/conf.d` (a
 * connection that protects IP protocol 47 between the two underlay addresses with ESP in transport
 * mode, authenticated by a pre-shared key, and the key in a file of its own, mode 0600), the
 * `swanctl` commands that load, bring up, take down and read them, and the reading of what
 * `swanctl --list-sas --raw` prints. Never `ip xfrm state`: it prints the SAs' keys. Pure.
 *
 * @packageDocumentation
 */
import { createHash } from "crypto";
import type { CommandOutcome, RemoteCommand } from "../../model/command";
import { WRITTEN_BY } from "../files/bootFile";

/** The IKE and ESP proposals pulumi-gre offers when none are given: AES-GCM-256 with X25519. */
export const DEFAULT_PROPOSALS = {
  ike: ["aes256gcm16-prfsha384-x25519"],
  esp: ["aes256gcm16-x25519"],
} as const;

/** strongSwan's unit (Debian's and Ubuntu's `charon-systemd`): charon, then `swanctl --load-all`. */
export const STRONGSWAN_SERVICE = "strongswan.service";

/** How many seconds `swanctl --initiate` waits for the SA (a silent peer: its retransmits time out). */
export const INITIATE_SECONDS = 10;

/** strongSwan's connection (and child) name of tunnel `name`. */
export function connectionName(name: string): string {
  return `pulumi-gre-${name}`;
}

/** The connection file and the secret file of tunnel `name` (read by swanctl: conf.d/*.conf). */
export function ipsecPaths(name: string): { connection: string; secret: string } {
  const base = `/etc/swanctl/conf.d/${connectionName(name)}`;
  return { connection: `${base}.conf`, secret: `${base}.secret.conf` };
}

/** One end's IPsec, as its files say it. */
export interface IpsecEnd {
  /** The tunnel's interface name. */
  name: string;
  /** This end's underlay address (its IKE address and identity). */
  local: string;
  /** Where this end sends IKE (the peer's, or its NAT's, public address). */
  remote: string;
  /** The identity the peer proves: its own underlay address (behind a NAT, not the NAT's). */
  peerId: string;
  /** IKE proposals, each as strongSwan spells it (`aes256gcm16-prfsha384-x25519`). */
  ike: readonly string[];
  /** ESP proposals. */
  esp: readonly string[];
}

/**
 * The connection file: IKEv2 between the underlay addresses, ESP in transport mode for GRE only
 * (`dynamic[gre]`: this end's address, IP protocol 47), trapped — the kernel holds the first GRE
 * packet, and drops GRE to the peer without an SA, until IKE brings one up — and trapped again when
 * the peer goes away (dead peer detection) or closes it.
 */
export function connectionFile(end: IpsecEnd): string {
  const name = connectionName(end.name);
  return [
    WRITTEN_BY,
    "connections {",
    `  ${name} {`,
    "    version = 2",
    `    local_addrs = ${end.local}`,
    `    remote_addrs = ${end.remote}`,
    `    proposals = ${end.ike.join(",")}`,
    "    dpd_delay = 10s",
    "    local {",
    "      auth = psk",
    `      id = ${end.local}`,
    "    }",
    "    remote {",
    "      auth = psk",
    `      id = ${end.peerId}`,
    "    }",
    "    children {",
    `      ${name} {`,
    "        mode = transport",
    "        local_ts = dynamic[gre]",
    "        remote_ts = dynamic[gre]",
    `        esp_proposals = ${end.esp.join(",")}`,
    "        start_action = trap",
    "        dpd_action = trap",
    "        close_action = trap",
    "      }",
    "    }",
    "  }",
    "}",
    "",
  ].join("\n");
}

/** The secret file: the pre-shared key for the two identities, as hex (no quoting in the file). */
export function secretFile(end: IpsecEnd, psk: string): string {
  return [
    WRITTEN_BY,
    "secrets {",
    `  ike-${connectionName(end.name)} {`,
    `    id-local = ${end.local}`,
    `    id-peer = ${end.peerId}`,
    `    secret = 0x${Buffer.from(psk, "utf8").toString("hex")}`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** The SHA-256 of a text, as `sha256sum` prints it: how a secret file is compared, never read. */
export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * The reads of an end's IPsec: its connection file, the SHA-256 and mode of its secret file,
 * whether charon runs (and our connection is loaded), and its SAs. Each may fail (a file or charon
 * missing is what they find out).
 */
export function ipsecReads(name: string): Record<"files" | "conns" | "sas", RemoteCommand[]> {
  const paths = ipsecPaths(name);
  return {
    files: [
      { argv: ["cat", "--", paths.connection], mayFail: true },
      { argv: ["sha256sum", "--", paths.secret], mayFail: true },
      { argv: ["stat", "-c", "%a", "--", paths.secret], mayFail: true },
    ],
    conns: [{ argv: ["swanctl", "--list-conns", "--raw"], mayFail: true }],
    sas: [{ argv: ["swanctl", "--list-sas", "--raw", "--ike", connectionName(name)], mayFail: true }],
  };
}

/**
 * Loads every connection and secret in /etc/swanctl (what strongswan.service does at start);
 * `clear`: charon forgets every credential first (a removed key leaves its memory too).
 */
export function loadAll(clear = false): RemoteCommand {
  return { argv: ["swanctl", "--load-all", "--noprompt", ...(clear ? ["--clear"] : [])] };
}

/** Brings up tunnel `name`'s SA from this end, waiting at most {@link INITIATE_SECONDS}. */
export function initiate(name: string): RemoteCommand {
  const child = connectionName(name);
  return {
    argv: ["swanctl", "--initiate", "--child", child, "--timeout", String(INITIATE_SECONDS)],
    mayFail: true,
  };
}

/** Takes down tunnel `name`'s IKE SA (and its child), if there is one. */
export function terminate(name: string): RemoteCommand {
  return {
    argv: ["swanctl", "--terminate", "--ike", connectionName(name), "--force", "--timeout", "5"],
    mayFail: true,
  };
}

/** A vici message as `--raw` prints it: sections, lists (arrays of text) and key=value. */
export type ViciSection = { [key: string]: string | string[] | ViciSection };

/**
 * Parses what `swanctl --raw` prints: one `NAME event {…}` (or `NAME reply {…}`) per line, each a
 * section of `key=value` (a value may hold spaces: `class=pre-shared key`), `key=[a b]` lists
 * (items may hold brackets: `198.51.100.11/32[gre]`) and `key {…}` subsections.
 */
export function parseViciRaw(text: string): ViciSection[] {
  return text.split("\n").flatMap((line) => {
    const open = line.indexOf("{");
    return open < 0 ? [] : [parseSection(line, open).section];
  });
}

/** The section opening at `line[at]` (a `{`), and where it ends. */
function parseSection(line: string, at: number): { section: ViciSection; end: number } {
  const section: ViciSection = {};
  let i = at + 1;
  for (;;) {
    while (line[i] === " ") i++;
    if (i >= line.length || line[i] === "}") return { section, end: i + 1 };
    const name = /^[^\s={}]+/.exec(line.slice(i))?.[0];
    if (!name) return { section, end: line.length };
    i += name.length;
    if (line[i] === "=" && line[i + 1] === "[") {
      let depth = 0;
      let j = i + 1;
      for (; j < line.length; j++) {
        if (line[j] === "[") depth++;
        else if (line[j] === "]" && --depth === 0) break;
      }
      section[name] = line
        .slice(i + 2, j)
        .split(" ")
        .filter(Boolean);
      i = j + 1;
    } else if (line[i] === "=") {
      // Up to the next `key=`, `key {` or the section's end.
      const value = /^(.*?)(?=\s+[^\s={}[\]]+(?:=|\s\{)|\s*\})/.exec(line.slice(i + 1))?.[1] ?? "";
      section[name] = value;
      i += 1 + value.length;
    } else {
      while (line[i] === " ") i++;
      if (line[i] !== "{") return { section, end: line.length };
      const inner = parseSection(line, i);
      section[name] = inner.section;
      i = inner.end;
    }
  }
}

/** An IKE SA of ours, as charon reports it. */
export interface IkeSa {
  state: string;
  /** `AES_GCM_16-256/PRF_HMAC_SHA2_384/CURVE_25519`, as swanctl shows the selected proposal. */
  proposal: string;
  /** Whether a NAT was found on the path (IKE and ESP then go over UDP 4500). */
  nat: boolean;
  /** Its child SAs' states (INSTALLED when GRE is protected). */
  children: string[];
}

const text = (v: unknown) => (typeof v === "string" ? v : undefined);

/** The IKE SAs of tunnel `name` in `swanctl --list-sas --raw` output. */
export function parseSas(name: string, stdout: string): IkeSa[] {
  const ours = connectionName(name);
  return parseViciRaw(stdout).flatMap((message) => {
    const sa = message[ours];
    if (typeof sa !== "object" || Array.isArray(sa)) return [];
    const children =
      typeof sa["child-sas"] === "object" && !Array.isArray(sa["child-sas"]) ? sa["child-sas"] : {};
    const encr = [text(sa["encr-alg"]), text(sa["encr-keysize"])].filter(Boolean).join("-");
    return [
      {
        state: text(sa.state) ?? "UNKNOWN",
        proposal: [encr, text(sa["prf-alg"]), text(sa["dh-group"])].filter(Boolean).join("/"),
        nat: text(sa["nat-any"]) === "yes",
        children: Object.values(children).map((c) =>
          typeof c === "object" && !Array.isArray(c) ? (text(c.state) ?? "UNKNOWN") : "UNKNOWN",
        ),
      },
    ];
  });
}

/** Whether `swanctl --list-conns --raw` lists tunnel `name`'s connection. */
export function connectionLoaded(name: string, stdout: string): boolean {
  return parseViciRaw(stdout).some((message) => connectionName(name) in message);
}

/**
 * What swanctl said on stderr, up to its usage text, without the lines of plugins that are not
 * installed (noise on every run).
 */
export function swanctlSaid(outcome: CommandOutcome): string {
  const lines = outcome.stderr.split("\n");
  const usage = lines.findIndex((line) => /^strongSwan [\d.]+ swanctl$/.test(line.trim()));
  return lines
    .slice(0, usage < 0 ? undefined : usage)
    .filter((line) => line.trim() !== "" && !/^plugin '[^']*': failed to load/.test(line))
    .join("; ")
    .trim();
}

/**
 * Why `swanctl --initiate` (run on `self`, toward `peer`) did not bring the SA up, in a few words
 * naming the router at fault; undefined when it did.
 */
export function initiateFailure(outcome: CommandOutcome, self: string, peer: string): string | undefined {
  if (outcome.exitCode === 0) return undefined;
  const out = `${outcome.stdout}\n${outcome.stderr}`;
  if (/received AUTHENTICATION_FAILED notify/.test(out))
    return `IKE authentication failed on ${peer}: it rejected ${self}'s pre-shared key (the keys differ)`;
  if (/MAC mismatched|authentication of .* failed/i.test(out))
    return `IKE authentication failed on ${self}: ${peer} authenticated with another pre-shared key (the keys differ)`;
  if (/received NO_PROPOSAL_CHOSEN notify/.test(out))
    return `no proposal chosen: ${peer} accepts none of ${self}'s IKE or ESP proposals`;
  if (/no (IKE|CHILD_SA) config found|no matching proposal found/i.test(out))
    return `no proposal chosen: ${self} accepts none of ${peer}'s proposals`;
  if (/sending packet/.test(out) && !/received packet/.test(out))
    return `the peer does not answer IKE on UDP 500/4500: ${peer} sent nothing back to ${self} (charon stopped there, or UDP 500/4500 filtered on the path)`;
  if (/connecting to .* failed/.test(out)) return `charon is not running on ${self}`;
  const said =
    swanctlSaid(outcome) || outcome.stdout.trim().split("\n")[0] || `exit status ${outcome.exitCode}`;
  return `IKE did not bring the SA up from ${self} to ${peer}: ${said}`;
}
