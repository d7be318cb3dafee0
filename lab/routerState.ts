/**
 * Everything the field note touches on a router, in a form that compares: links, addresses (IPv4, and IPv6 but link-local),
 * routes (both families), loaded modules, forwarding (IPv4/IPv6), and the persistence folders. The lab tests and the benchmark
 * use it to check that a router is back as it was.
 *
 * @packageDocumentation
 */
import { parseProcModules } from "../commands/modprobe/kernelModule";
import { parseIpAddr, parseIpLink } from "../commands/iproute2/parseIp";
import { parseIpRoute } from "../commands/iproute2/route";
import type { Connection } from "../model/connection";
import { runOnRouter } from "../transport";

/** A router's field-note state, each part as sorted or ordered strings. */
export interface FieldNoteState {
  links: string[];
  addresses: string[];
  routes: string[];
  modules: string[];
  forwarding: string;
  files: string;
}

/** Reads a router's field-note state in one round trip. */
export async function fieldNoteState(connection: Connection): Promise<FieldNoteState> {
  const result = await runOnRouter(
    connection,
    [
      { argv: ["ip", "-d", "-j", "addr", "show"] },
      { argv: ["ip", "-4", "-N", "-j", "route", "show", "table", "all"] },
      { argv: ["cat", "/proc/modules"] },
      { argv: ["sysctl", "-n", "net.ipv4.ip_forward"] },
      { argv: ["ip", "-6", "-N", "-j", "route", "show", "table", "all"] },
      { argv: ["sysctl", "-n", "net.ipv6.conf.all.forwarding"] },
      {
        argv: [
          "find",
          "/etc/modules-load.d",
          "/etc/sysctl.d",
          "/etc/systemd/network",
          "/etc/network/interfaces.d",
          "-mindepth",
          "1",
        ],
      },
      // Of the units, only ours (the MSS clamps' boot units and their links): the rest is the lab's.
      // And of NetworkManager's folders (where the host has them), only ours.
      {
        argv: [
          "find",
          "/etc/systemd/system",
          "/etc/NetworkManager/system-connections",
          "/etc/NetworkManager/dispatcher.d",
          "-name",
          "pulumi-gre-*",
        ],
      },
    ],
    { check: false, stopOnError: false },
  );
  const [devices, routes, modules, forwarding, routes6, forwarding6, files, units] = result.outcomes.map(
    (o) => o.stdout,
  );
  return {
    links: parseIpLink(devices).map((l) => `${l.name}:${l.kind ?? "-"}:${l.up ? "up" : "down"}`),
    addresses: parseIpAddr(devices)
      .filter((a) => a.family === "inet" || a.scope !== "link")
      .map((a) => `${a.device}:${a.local}/${a.prefixLength}`),
    routes: [...parseIpRoute(routes), ...parseIpRoute(routes6, "ipv6")].map(
      (r) => `${r.table}:${r.destination}:${r.gateway ?? r.device}:${r.protocol}`,
    ),
    modules: parseProcModules(modules)
      .map((m) => m.name)
      .sort(),
    forwarding: `${forwarding.trim()}/${forwarding6.trim()}`,
    files: `${files}\n${units}`.trim().split("\n").filter(Boolean).sort().join("\n"),
  };
}
