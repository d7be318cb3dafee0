/**
 * The MSS clamp's boot unit: its name and content, and the changes, drift and undo that keep it
 * as wanted (written and enabled, or disabled and gone).
 */
import {
  clampUnit,
  clampUnitContent,
  clampUnitFile,
  parseEnabledUnits,
} from "../../commands/firewall/bootClamp";
import {
  bootUnitChanges,
  bootUnitDrift,
  bootUnitPersisted,
  bootUnitRestore,
  type BootUnitsView,
} from "../../providers/greTunnel/extras/bootUnits";

const UNIT = clampUnitContent("gre1", 1332, "iptables-legacy", "ipv4");
const view = (content?: string, enabled = false): BootUnitsView => ({
  files: new Map(content === undefined ? [] : [[clampUnitFile("gre1"), content]]),
  enabled: enabled ? [clampUnit("gre1")] : [],
});
const argvs = (commands: Array<{ argv: string[] }>) => commands.map((c) => c.argv.slice(0, 3).join(" "));

describe("the MSS clamp's boot unit", () => {
  it("is a oneshot of ours, ordered before the network, that adds the rule again (a stale copy removed first)", () => {
    expect(clampUnitFile("gre1")).toBe("/etc/systemd/system/pulumi-gre-mss-gre1.service");
    expect(UNIT).toContain("Before=network-pre.target\n");
    expect(UNIT).toContain("WantedBy=multi-user.target\n");
    const exec = UNIT.split("\n").filter((l) => l.startsWith("ExecStart="));
    expect(exec).toEqual([
      "ExecStart=-iptables-legacy -w -t mangle -D FORWARD -o gre1 -p tcp -m tcp --tcp-flags SYN,RST SYN -m tcpmss --mss 1333:65535 -m comment --comment pulumi-gre:gre1 -j TCPMSS --set-mss 1332",
      "ExecStart=iptables-legacy -w -t mangle -A FORWARD -o gre1 -p tcp -m tcp --tcp-flags SYN,RST SYN -m tcpmss --mss 1333:65535 -m comment --comment pulumi-gre:gre1 -j TCPMSS --set-mss 1332",
    ]);
    expect(clampUnitContent("g6", "clamp", "ip6tables-legacy", "ipv6")).toContain(
      "ExecStart=ip6tables-legacy -w -t mangle -A FORWARD -o g6 ",
    );
  });

  it("reads the units enabled from their links", () => {
    expect(
      parseEnabledUnits(
        "/etc/systemd/system/multi-user.target.wants/pulumi-gre-mss-gre1.service\nfind: '/x': No such file\n",
      ),
    ).toEqual(["pulumi-gre-mss-gre1.service"]);
  });

  it.each([
    [
      "absent, wanted: written and enabled",
      undefined,
      false,
      UNIT,
      ["sh -c t=$1.pulumi-gre.tmp;", "systemctl enable --"],
      [
        "/etc/systemd/system/pulumi-gre-mss-gre1.service is missing",
        "pulumi-gre-mss-gre1.service is not enabled at boot",
      ],
    ],
    ["as wanted: nothing", UNIT, true, UNIT, [], []],
    [
      "edited: rewritten",
      "# mine\n",
      true,
      UNIT,
      ["sh -c t=$1.pulumi-gre.tmp;"],
      ["/etc/systemd/system/pulumi-gre-mss-gre1.service was changed"],
    ],
    [
      "disabled by hand: enabled again",
      UNIT,
      false,
      UNIT,
      ["systemctl enable --"],
      ["pulumi-gre-mss-gre1.service is not enabled at boot"],
    ],
    [
      "not wanted: disabled, removed, systemd told",
      UNIT,
      true,
      undefined,
      ["systemctl disable --", "rm -f --", "systemctl daemon-reload"],
      [
        "/etc/systemd/system/pulumi-gre-mss-gre1.service should not be there",
        "pulumi-gre-mss-gre1.service should not be enabled",
      ],
    ],
    ["not wanted and not there: nothing", undefined, false, undefined, [], []],
  ])("%s", (_what, content, enabled, wanted, changes, drift) => {
    const found = view(content, enabled);
    expect(
      argvs(bootUnitChanges(clampUnit("gre1"), wanted, found)).map((a) =>
        a.slice(0, a.includes("$1") ? 26 : undefined),
      ),
    ).toEqual(changes);
    expect(bootUnitDrift(clampUnit("gre1"), wanted, found)).toEqual(drift);
  });

  it("says persisted only when the unit is there as written and enabled; null without persist and without a unit", () => {
    expect(bootUnitPersisted(clampUnit("gre1"), UNIT, true, view(UNIT, true))).toBe(true);
    expect(bootUnitPersisted(clampUnit("gre1"), UNIT, true, view(UNIT, false))).toBe(false);
    expect(bootUnitPersisted(clampUnit("gre1"), UNIT, false, view())).toBeNull();
    expect(bootUnitPersisted(clampUnit("gre1"), UNIT, false, view(UNIT, true))).toBe(true);
  });

  it("is put back as it was by an undo: removed after a create, kept unenabled where it was so", () => {
    expect(argvs(bootUnitRestore(clampUnit("gre1"), view(), view(UNIT, true)))).toEqual([
      "systemctl disable --",
      "rm -f --",
      "systemctl daemon-reload",
    ]);
    expect(
      argvs(bootUnitRestore(clampUnit("gre1"), view("# old\n", false), view(UNIT, true))).map((a) =>
        a.slice(0, 5),
      ),
    ).toEqual(["sh -c", "syste"]);
  });
});
