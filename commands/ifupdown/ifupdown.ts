/**
 * Tunnels and routes that come back at boot on a router whose network ifupdown brings up (Debian
 * as installed: `networking.service` runs `ifup -a`, and `/etc/network/interfaces` sources
 * `/etc/network/interfaces.d/*`). A tunnel end is an `auto` stanza of ours, `inet manual`, whose
 * hooks run the very iproute2 commands pulumi-gre runs; each route through it is one more stanza of
 * that interface in a file of its own (ifup runs every stanza of an interface, in file order, and
 * the route's file name sorts after its tunnel's). Pure: file names and contents.
 *
 * @packageDocumentation
 */
import type { RemoteCommand } from "../../model/command";
import { WRITTEN_BY } from "../files/bootFile";
import { scriptLine } from "../../transport/script";
import { routeReplace, type RouteSpec } from "../iproute2/route";
import { routeSlot } from "../networkd/networkd";
import { modeOf, tunnelCreate, tunnelRemove, type TunnelEndSpec } from "../iproute2/tunnelCommands";

/** The folder the Debian interfaces file sources. */
export const IFUPDOWN_DIR = "/etc/network/interfaces.d";

/** The stanza file of tunnel `name`. */
export function tunnelStanzaFile(name: string): string {
  return `${IFUPDOWN_DIR}/pulumi-gre-${name}`;
}

/** The stanza file of a route through `device` (after the device's own file in `source`'s order). */
export function routeStanzaFile(
  route: Pick<RouteSpec, "destination" | "table" | "metric"> & { device: string },
): string {
  return `${tunnelStanzaFile(route.device)}-route-${routeSlot(route)}`;
}

/** A hook line: the command quoted for the shell ifup runs it with; one allowed to fail says so. */
function hook(phase: string, command: RemoteCommand): string {
  return `    ${phase} ${scriptLine(command)}`;
}

/**
 * The stanza of a tunnel end: created (and made a bridge port) before the interface is brought up
 * (`pre-up`), its addresses and link state as pulumi-gre sets them (`up`), removed when it is
 * taken down (`post-down`).
 */
export function tunnelStanza(spec: TunnelEndSpec): string {
  const commands = tunnelCreate(spec);
  const created = spec.bridge === undefined ? 1 : 2;
  const lines = [
    WRITTEN_BY,
    `auto ${spec.name}`,
    `iface ${spec.name} inet manual`,
    ...commands.slice(0, created).map((c) => hook("pre-up", c)),
    ...commands.slice(created).map((c) => hook("up", c)),
    ...tunnelRemove(spec.name, modeOf(spec)).map((c) => hook("post-down", c)),
  ];
  return `${lines.join("\n")}\n`;
}

/** The stanza of a route through `device`: one more `up` hook of that interface. */
export function routeStanza(route: RouteSpec & { device: string }): string {
  return `${[WRITTEN_BY, `iface ${route.device} inet manual`, hook("up", routeReplace(route))].join("\n")}\n`;
}
