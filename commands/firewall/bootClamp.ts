/**
 * The MSS clamp at boot (`persist` with `tcpMss`): a systemd unit of ours per tunnel end that adds
 * the tunnel's rule again before the network comes up, in the firewall the rule lives in. A rule
 * matches the tunnel by name (`-o gre1`, `oifname "gre1"`), so it can be loaded before the tunnel
 * exists, whichever network stack brings the tunnel back. Enabled with `systemctl enable`, read
 * back (file and enablement) on refresh, disabled and removed on delete. Pure: names, contents,
 * commands.
 *
 * @packageDocumentation
 */
import type { RemoteCommand } from "../../model/command";
import type { IpFamily, TcpMss } from "../../model/tunnel";
import { commandLine } from "../../transport/script";
import { FAMILY_TOOLS, NFT_TABLE, iptablesRule, nftChain, nftRule, type Firewall } from "./mssClamp";

/** Where the router's administrator's units live. */
export const UNIT_DIR = "/etc/systemd/system";

/** The unit of tunnel `name`'s clamp (interface names are valid in unit names). */
export function clampUnit(name: string): string {
  return `pulumi-gre-mss-${name}.service`;
}

/** A unit's file. */
export function unitFile(unit: string): string {
  return `${UNIT_DIR}/${unit}`;
}

/** The file of tunnel `name`'s clamp unit. */
export function clampUnitFile(name: string): string {
  return unitFile(clampUnit(name));
}

/**
 * The commands that add the rule at boot, each an argv (no stdin: systemd passes no input): the
 * previous one of ours removed first where a rerun would add a second (a leading `-` in the unit
 * lets that one fail).
 */
export function bootRuleCommands(
  name: string,
  mss: TcpMss,
  firewall: Firewall,
  family: IpFamily,
): Array<{ argv: string[]; mayFail?: boolean }> {
  if (firewall === "nftables") {
    const table = [FAMILY_TOOLS[family].nft, NFT_TABLE];
    const chain = [...table, nftChain(name)];
    return [
      { argv: ["nft", "add", "table", ...table] },
      {
        argv: [
          "nft",
          "add",
          "chain",
          ...chain,
          "{ type filter hook forward priority mangle; policy accept; }",
        ],
      },
      { argv: ["nft", "flush", "chain", ...chain] },
      { argv: ["nft", "add", "rule", ...chain, nftRule(name, mss)] },
    ];
  }
  const rule = iptablesRule(name, mss);
  return [
    { argv: [firewall, "-w", "-t", "mangle", "-D", "FORWARD", ...rule], mayFail: true },
    { argv: [firewall, "-w", "-t", "mangle", "-A", "FORWARD", ...rule] },
  ];
}

/**
 * A oneshot unit of ours before network-pre.target, wanted by multi-user.target, running
 * `commands` (a leading `-` on those that may fail). Its command lines are quoted as systemd reads
 * them (our words hold no `'`, `\`, `$` or `%`, which systemd would expand).
 */
export function bootUnitContent(
  description: string,
  commands: ReadonlyArray<{ argv: string[]; mayFail?: boolean }>,
): string {
  return [
    "# Written by pulumi-gre: pulumi up rewrites this file and pulumi destroy removes it; edits show as drift.",
    "[Unit]",
    `Description=pulumi-gre: ${description}`,
    "DefaultDependencies=no",
    "After=local-fs.target",
    "Before=network-pre.target",
    "Wants=network-pre.target",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    ...commands.map((c) => `ExecStart=${c.mayFail ? "-" : ""}${commandLine(c.argv)}`),
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The clamp's unit: its rule added again at boot. */
export function clampUnitContent(name: string, mss: TcpMss, firewall: Firewall, family: IpFamily): string {
  return bootUnitContent(`TCP MSS clamp of tunnel ${name}`, bootRuleCommands(name, mss, firewall, family));
}

/** Whether a unit is enabled (`systemctl is-enabled` prints `enabled`). */
export function unitEnabled(unit: string): RemoteCommand {
  return { argv: ["systemctl", "is-enabled", "--", unit], mayFail: true };
}

/** Enables a unit (it runs at the next boot; what it sets is in place now already). */
export function enableUnit(unit: string): RemoteCommand {
  return { argv: ["systemctl", "enable", "--", unit] };
}

/** Disables a unit (a unit no longer there is not an error). */
export function disableUnit(unit: string): RemoteCommand {
  return { argv: ["systemctl", "disable", "--", unit], mayFail: true };
}

/** Makes a running systemd forget a unit file removed (fails harmlessly where systemd does not run). */
export function reloadSystemd(): RemoteCommand {
  return { argv: ["systemctl", "daemon-reload"], mayFail: true };
}

/** The units of ours enabled at boot: their links in multi-user.target.wants (one read for all). */
export function enabledUnitsRead(): RemoteCommand {
  return {
    argv: ["find", `${UNIT_DIR}/multi-user.target.wants`, "-maxdepth", "1", "-name", "pulumi-gre-*"],
    mayFail: true,
  };
}

/** Parses {@link enabledUnitsRead}: the unit names enabled. */
export function parseEnabledUnits(stdout: string): string[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith(`${UNIT_DIR}/multi-user.target.wants/`))
    .map((line) => line.slice(line.lastIndexOf("/") + 1));
}
