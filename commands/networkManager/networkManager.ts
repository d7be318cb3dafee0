/**
 * Tunnels and routes that come back at boot on a router whose network NetworkManager brings up
 * (Fedora, RHEL, desktops, many Debian and Ubuntu hosts). A tunnel end is an `ip-tunnel` keyfile of
 * ours: NetworkManager creates the device at boot with its mode, endpoints, keys, TTL and MTU, and
 * leaves its addresses alone (`ipv4.method=disabled`, `ipv6.method=ignore`): a keyfile has no
 * point-to-point peer, so a dispatcher script of ours, run when the device comes up, gives it the
 * very addresses and link state pulumi-gre gives it; each route through it is one more dispatcher
 * script (they run in name order, the route's after its tunnel's). The state after a boot is then
 * exactly what refresh expects. Pure: file names, contents and the reload.
 *
 * A device pulumi-gre creates at run time is left as it is when its keyfile is loaded:
 * NetworkManager does not take over a device that was up before its profile (measured on the lab).
 *
 * @packageDocumentation
 */
import type { RemoteCommand } from "../../model/command";
import type { TunnelMode } from "../../model/tunnel";
import { WRITTEN_BY } from "../files/bootFile";
import { routeReplace, type RouteSpec } from "../iproute2/route";
import { modeOf, tunnelCreate, type TunnelEndSpec } from "../iproute2/tunnelCommands";
import { routeSlot } from "../networkd/networkd";
import { scriptLine, shellQuote } from "../../transport/script";

/** Where NetworkManager reads keyfiles (connection profiles). */
export const NM_CONNECTIONS_DIR = "/etc/NetworkManager/system-connections";

/** Where NetworkManager's dispatcher finds the scripts it runs on device events. */
export const NM_DISPATCHER_DIR = "/etc/NetworkManager/dispatcher.d";

/** NetworkManager's numbers for the GRE modes (`NMIPTunnelMode`). */
const NM_MODES: Record<TunnelMode, number> = { gre: 2, ip6gre: 8, gretap: 10, ip6gretap: 11 };

/** iproute2's encapsulation limit for IPv6 tunnels, which NetworkManager would otherwise set to 0. */
const ENCAP_LIMIT = 4;

/** The keyfile of tunnel `name`. */
export function tunnelKeyfile(name: string): string {
  return `${NM_CONNECTIONS_DIR}/pulumi-gre-${name}.nmconnection`;
}

/** The dispatcher script that configures tunnel `name` when it comes up. */
export function tunnelDispatcherFile(name: string): string {
  return `${NM_DISPATCHER_DIR}/pulumi-gre-${name}`;
}

/** The dispatcher script of a route through `device` (run after the device's own). */
export function routeDispatcherFile(
  route: Pick<RouteSpec, "destination" | "table" | "metric"> & { device: string },
): string {
  return `${tunnelDispatcherFile(route.device)}-route-${routeSlot(route)}`;
}

/**
 * The mode a file of ours under /etc/NetworkManager must have to be read: a keyfile its owner's
 * alone, a dispatcher script executable and writable by its owner only (undefined elsewhere).
 */
export function networkManagerMode(path: string): string | undefined {
  if (path.startsWith(`${NM_CONNECTIONS_DIR}/`)) return "0600";
  if (path.startsWith(`${NM_DISPATCHER_DIR}/`)) return "0755";
  return undefined;
}

/** The keyfile of a tunnel end: the device as NetworkManager creates it at boot. */
export function tunnelKeyfileContent(spec: TunnelEndSpec): string {
  const mode = modeOf(spec);
  const lines = [
    WRITTEN_BY,
    "[connection]",
    `id=pulumi-gre-${spec.name}`,
    "type=ip-tunnel",
    `interface-name=${spec.name}`,
    "autoconnect=true",
    "",
    "[ip-tunnel]",
    `mode=${NM_MODES[mode]}`,
    `local=${spec.local}`,
    `remote=${spec.remote}`,
    ...(spec.ikey === undefined ? [] : [`input-key=${spec.ikey}`]),
    ...(spec.okey === undefined ? [] : [`output-key=${spec.okey}`]),
    `ttl=${spec.ttl}`,
    ...(mode.startsWith("ip6") ? [`encapsulation-limit=${ENCAP_LIMIT}`] : []),
    ...(spec.mtu === undefined ? [] : [`mtu=${spec.mtu}`]),
    "",
    // Addresses are the dispatcher script's: NetworkManager takes none off and adds none.
    "[ipv4]",
    "method=disabled",
    "",
    "[ipv6]",
    "method=ignore",
  ];
  return `${lines.join("\n")}\n`;
}

/** A dispatcher script: on `up` of `device` it runs `commands` in order, stopping at the first that fails. */
function dispatcherScript(device: string, commands: RemoteCommand[]): string {
  const lines = [
    "#!/bin/sh",
    WRITTEN_BY,
    `[ "$1" = ${shellQuote(device)} ] && [ "$2" = up ] || exit 0`,
    "set -e",
    ...commands.map(scriptLine),
  ];
  return `${lines.join("\n")}\n`;
}

/** The dispatcher script of a tunnel end: made a bridge port, its addresses and link state as pulumi-gre sets them. */
export function tunnelDispatcher(spec: TunnelEndSpec): string {
  // NetworkManager has created the device from the keyfile: everything after `ip tunnel add`.
  return dispatcherScript(spec.name, tunnelCreate(spec).slice(1));
}

/** The dispatcher script of a route through `device`. */
export function routeDispatcher(route: RouteSpec & { device: string }): string {
  return dispatcherScript(route.device, [routeReplace(route)]);
}

/** Where NetworkManager runs, loads the keyfiles `$@` (those removed are forgotten); elsewhere does nothing. */
const LOAD_SCRIPT =
  'if nmcli -t -f RUNNING general status 2>/dev/null | grep -qx running; then exec nmcli connection load "$@"; fi';

/**
 * `nmcli connection load FILE…` where NetworkManager runs (it reads keyfiles when told, or at its
 * next start): profiles written are read, profiles removed forgotten, and no other profile is touched.
 */
export function loadKeyfiles(paths: string[]): RemoteCommand {
  return { argv: ["sh", "-c", LOAD_SCRIPT, "pulumi-gre-nm-load", ...paths] };
}
