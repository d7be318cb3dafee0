/**
 * The `ipsec` extra of a tunnel end, step by step against what a router has: what it changes (the
 * guard before the device, the files, the load, an SA taken down when its key changed), the drift
 * it names, the outputs, its persist parts and its removal. Pure: views built as `parse` gives them.
 */
import { ipsec, type IpsecView } from "../../providers/greTunnel/extras/ipsec";
import type { ExtrasWanted } from "../../providers/greTunnel/extras/tunnelEndExtra";
import { connectionFile, secretFile, sha256, type IkeSa } from "../../commands/ipsec/swanctl";
import { guardRule, guardUnit, guardUnitContent } from "../../commands/ipsec/guard";
import { unitFile } from "../../commands/firewall/bootClamp";
import type { TunnelEndSpec } from "../../commands/iproute2/tunnelCommands";

const PSK = "correct horse battery staple";
const SPEC: TunnelEndSpec = {
  name: "gre1",
  local: "198.51.100.11",
  remote: "198.51.100.12",
  ttl: 255,
  up: true,
  addresses: [],
};
const WANTED: ExtrasWanted = {
  persist: false,
  ipsec: {
    family: "ipv4",
    psk: PSK,
    ike: ["aes256gcm16-prfsha384-x25519"],
    esp: ["aes256gcm16-x25519"],
    locals: ["198.51.100.11", "198.51.100.12"],
  },
};
const END = {
  name: "gre1",
  local: "198.51.100.11",
  remote: "198.51.100.12",
  peerId: "198.51.100.12",
  ike: WANTED.ipsec!.ike,
  esp: WANTED.ipsec!.esp,
};
const GUARDED = { name: "gre1", local: "198.51.100.11", remote: "198.51.100.12", family: "ipv4" as const };
const UP: IkeSa = {
  state: "ESTABLISHED",
  proposal: "AES_GCM_16-256/PRF_HMAC_SHA2_384/CURVE_25519",
  nat: false,
  children: ["INSTALLED"],
};

const fresh: IpsecView = { loaded: false, sas: [], guard: { usable: "iptables-legacy", rules: [] } };
const asWanted: IpsecView = {
  connection: connectionFile(END),
  secret: { sha256: sha256(secretFile(END, PSK)), mode: "600" },
  loaded: true,
  sas: [UP],
  guard: {
    usable: "iptables-legacy",
    rules: (["OUTPUT", "INPUT"] as const).map((chain) => ({
      firewall: "iptables-legacy" as const,
      chain,
      spec: guardRule(GUARDED, chain),
    })),
  },
};
const argv = (commands: Array<{ argv: string[] }>) => commands.map((c) => c.argv.slice(0, 4).join(" "));

describe("the ipsec extra", () => {
  it("a fresh router: the guard first (before the device), then both files and a load; the key only as secret input", () => {
    expect(argv(ipsec.before!(SPEC, WANTED, fresh))).toEqual([
      "iptables-legacy -w -I OUTPUT",
      "iptables-legacy -w -I INPUT",
    ]);
    const changes = ipsec.changes(SPEC, WANTED, fresh, false);
    expect(changes.map((c) => c.argv.at(-2) ?? "")).toEqual([
      "/etc/swanctl/conf.d/pulumi-gre-gre1.conf",
      "/etc/swanctl/conf.d/pulumi-gre-gre1.secret.conf",
      "--load-all",
    ]);
    expect(changes[1].secretInput).toBe(secretFile(END, PSK));
    const hex = Buffer.from(PSK).toString("hex");
    for (const c of changes) expect(`${c.argv.join(" ")} ${c.stdin ?? ""}`).not.toContain(hex);
    expect(ipsec.drift(SPEC, WANTED, fresh)).toEqual([
      "/etc/swanctl/conf.d/pulumi-gre-gre1.conf is missing",
      "/etc/swanctl/conf.d/pulumi-gre-gre1.secret.conf is missing",
      "its IPsec connection is not loaded in charon",
      "the rules that drop cleartext GRE to the peer are missing",
    ]);
  });

  it("as wanted: nothing to change, no drift, and the outputs say it is protected", () => {
    expect(ipsec.before!(SPEC, WANTED, asWanted)).toEqual([]);
    expect(ipsec.changes(SPEC, WANTED, asWanted, false)).toEqual([]);
    expect(ipsec.drift(SPEC, WANTED, asWanted)).toEqual([]);
    expect(ipsec.state(SPEC, WANTED, asWanted, 1438)).toEqual({
      ipsec: {
        ike: "ESTABLISHED",
        protected: true,
        proposal: "AES_GCM_16-256/PRF_HMAC_SHA2_384/CURVE_25519",
        nat: false,
        configured: true,
        persisted: null,
      },
    });
  });

  it("another key on the router: named, rewritten, reloaded, and the SA made with it taken down", () => {
    const edited = { ...asWanted, secret: { sha256: "0".repeat(64), mode: "600" } };
    expect(ipsec.drift(SPEC, WANTED, edited)).toEqual([
      "the pre-shared key in /etc/swanctl/conf.d/pulumi-gre-gre1.secret.conf differs",
    ]);
    expect(argv(ipsec.changes(SPEC, WANTED, edited, false))).toEqual([
      'sh -c umask 077; t=$1.pulumi-gre.tmp; cat > "$t" && chmod -- "$2" "$t" && mv -f -- "$t" "$1" || { s=$?; rm -f -- "$t"; exit "$s"; } pulumi-gre-write-file',
      "swanctl --load-all --noprompt",
      "swanctl --terminate --ike pulumi-gre-gre1",
    ]);
  });

  it("charon stopped or no iptables: refused before anything changes", () => {
    expect(
      ipsec.problems(SPEC, WANTED, {
        ...fresh,
        charonDown: "connecting to 'unix:///var/run/charon.vici' failed",
      }),
    ).toEqual([
      "ipsec: charon is not running (systemctl start strongswan): connecting to 'unix:///var/run/charon.vici' failed",
    ]);
    expect(ipsec.problems(SPEC, WANTED, { ...fresh, charonDown: "sh: 1: swanctl: not found" })).toEqual([
      "ipsec: swanctl is not installed (apt-get install strongswan-swanctl charon-systemd)",
    ]);
    expect(ipsec.problems(SPEC, WANTED, { ...fresh, guard: { usable: undefined, rules: [] } })[0]).toContain(
      "install iptables",
    );
  });

  it("persist: strongswan.service enabled where it is not, the guard's unit written and enabled", () => {
    const persist = { ...WANTED, persist: true };
    const view = {
      ...asWanted,
      boot: { files: new Map<string, string>(), enabled: [] },
      charonAtBoot: false,
    };
    expect(ipsec.drift(SPEC, persist, view)).toEqual([
      `${unitFile(guardUnit("gre1"))} is missing`,
      `${guardUnit("gre1")} is not enabled at boot`,
      "strongswan.service is not enabled at boot (charon would not start)",
    ]);
    expect(
      argv(ipsec.changes(SPEC, persist, view, false)).map((a) => a.split(" ").slice(0, 2).join(" ")),
    ).toEqual(["sh -c", "systemctl enable", "systemctl enable"]);
    const done = {
      ...view,
      boot: {
        files: new Map([[unitFile(guardUnit("gre1")), guardUnitContent(GUARDED, "iptables-legacy")]]),
        enabled: [guardUnit("gre1")],
      },
      charonAtBoot: true,
    };
    expect(ipsec.drift(SPEC, persist, done)).toEqual([]);
    expect(ipsec.state(SPEC, persist, done, 1438).ipsec?.persisted).toBe(true);
  });

  it("not wanted (deleted, or ipsec taken off): the SA, both files, the key from charon's memory, the guard and its unit", () => {
    const view = {
      ...asWanted,
      boot: {
        files: new Map([[unitFile(guardUnit("gre1")), guardUnitContent(GUARDED, "iptables-legacy")]]),
        enabled: [guardUnit("gre1")],
      },
    };
    expect(ipsec.changes(SPEC, { persist: false }, view, true).map((c) => c.argv.join(" "))).toEqual([
      "swanctl --terminate --ike pulumi-gre-gre1 --force --timeout 5",
      "rm -f -- /etc/swanctl/conf.d/pulumi-gre-gre1.conf /etc/swanctl/conf.d/pulumi-gre-gre1.conf.pulumi-gre.tmp",
      "rm -f -- /etc/swanctl/conf.d/pulumi-gre-gre1.secret.conf /etc/swanctl/conf.d/pulumi-gre-gre1.secret.conf.pulumi-gre.tmp",
      "swanctl --load-all --noprompt --clear",
      `iptables-legacy -w -D OUTPUT ${guardRule(GUARDED, "OUTPUT").join(" ")}`,
      `iptables-legacy -w -D INPUT ${guardRule(GUARDED, "INPUT").join(" ")}`,
      `systemctl disable -- ${guardUnit("gre1")}`,
      `rm -f -- ${unitFile(guardUnit("gre1"))} ${unitFile(guardUnit("gre1"))}.pulumi-gre.tmp`,
      "systemctl daemon-reload",
    ]);
  });
});
