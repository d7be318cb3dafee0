/**
 * Tunnels and routes that come back at boot: the systemd-networkd files pulumi-gre writes for them
 * (what netplan renders too), and reading them back. A tunnel end is a `.netdev` (the device and its
 * GRE parameters) and a `.network` (its address); each route through it is a drop-in of that
 * `.network`. Pure: file names, contents, commands and parsing.
 *
 * @packageDocumentation
 */
import type { RemoteCommand } from "../../model/command";
import { WRITTEN_BY } from "../files/bootFile";
import type { TunnelEndSpec } from "../iproute2/tunnelCommands";

/** Where systemd-networkd reads the administrator's configuration. */
export const NETWORKD_DIR = "/etc/systemd/network";

/** Every file of ours has this in its name (so one read finds them all, and nothing else of ours). */
export const OURS = "pulumi-gre";

/** The files that bring tunnel `name` back at boot. */
export function tunnelFiles(name: string): { netdev: string; network: string; dropIns: string } {
  const base = `${NETWORKD_DIR}/50-${OURS}-${name}`;
  return { netdev: `${base}.netdev`, network: `${base}.network`, dropIns: `${base}.network.d` };
}

/** A route as a `.network` drop-in holds it. */
export interface PersistedRoute {
  /** The device whose `.network` (a tunnel of ours) carries the route. */
  device: string;
  destination: string;
  gateway?: string;
  metric: number;
  table: number;
  source?: string;
  /** The route's protocol number (pulumi-gre's, so the route stays recognisably ours after a boot). */
  protocol: number;
}

/** The drop-in that brings a route back at boot. */
export function routeFile(
  route: Pick<PersistedRoute, "device" | "destination" | "table" | "metric">,
): string {
  return `${tunnelFiles(route.device).dropIns}/${OURS}-route-${routeSlot(route)}.conf`;
}

/** What tells a route's boot file from another's through the same device: `DEST-tTABLE-mMETRIC`. */
export function routeSlot(route: Pick<PersistedRoute, "destination" | "table" | "metric">): string {
  return `${route.destination.replace(/[/:]/g, "_")}-t${route.table}-m${route.metric}`;
}

/** The `.netdev` of a tunnel end: systemd-networkd creates the device at boot from it. */
export function netdevContent(spec: TunnelEndSpec): string {
  const lines = [
    WRITTEN_BY,
    "[NetDev]",
    `Name=${spec.name}`,
    // networkd's kinds are iproute2's: gre, gretap, ip6gre, ip6gretap (TTL= is the hop limit over IPv6).
    `Kind=${spec.mode ?? "gre"}`,
    ...(spec.mtu === undefined ? [] : [`MTUBytes=${spec.mtu}`]),
    "",
    "[Tunnel]",
    `Local=${spec.local}`,
    `Remote=${spec.remote}`,
    ...(spec.ikey === undefined ? [] : [`InputKey=${spec.ikey}`]),
    ...(spec.okey === undefined ? [] : [`OutputKey=${spec.okey}`]),
    `TTL=${spec.ttl}`,
    // Not bound to an underlay link's .network: the underlay may be configured by anything.
    "Independent=yes",
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * The `.network` of a tunnel end: its addresses, the link up. It keeps what others add to the link
 * (KeepConfiguration) and never holds the boot up waiting for it (RequiredForOnline=no).
 */
export function networkContent(spec: TunnelEndSpec): string {
  const lines = [
    WRITTEN_BY,
    "[Match]",
    `Name=${spec.name}`,
    "",
    "[Link]",
    "RequiredForOnline=no",
    "",
    "[Network]",
    "KeepConfiguration=yes",
    "ConfigureWithoutCarrier=yes",
  ];
  for (const address of spec.addresses) {
    lines.push("", "[Address]", `Address=${address.local}/${address.prefixLength}`);
    if (address.peer !== undefined) lines.push(`Peer=${address.peer}/${address.prefixLength}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The drop-in content of a route. */
export function routeContent(route: PersistedRoute): string {
  const lines = [
    WRITTEN_BY,
    "[Route]",
    `Destination=${route.destination}`,
    ...(route.gateway === undefined ? [] : [`Gateway=${route.gateway}`]),
    `Metric=${route.metric}`,
    `Table=${route.table}`,
    ...(route.source === undefined ? [] : [`PreferredSource=${route.source}`]),
    `Protocol=${route.protocol}`,
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * Tells a running systemd-networkd that the files changed, so that what it holds in memory never
 * differs from them (it would configure a device that appears later from files that are gone).
 * Allowed to fail: where networkd does not run, the files are for the next boot only.
 */
export function reloadNetworkd(): RemoteCommand {
  return { argv: ["networkctl", "reload"], mayFail: true };
}
