/**
 * GreTunnel's offline diff: the state (old outputs, refreshed or not) against new inputs, without
 * SSH, so previews stay fast and work without the routers.
 *
 * @packageDocumentation
 */
import { containsUnknown } from "../../schemas/unknown";
import { routerAddress, withoutSecrets } from "../../transport/connection";
import { type Connection } from "../../model/connection";
import type { GreTunnelOutputs } from "./spec";
import type { NormalizedGreTunnel } from "../../model/greTunnel";

/** The result of the offline diff. */
export interface TunnelDiff {
  changes: boolean;
  replaces: string[];
  deleteBeforeReplace: boolean;
  /** Why, for people: changed properties and drifted ends. */
  reasons: string[];
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Compares the state (old outputs, refreshed or not) with new inputs, without SSH. A changed name
 * (the tunnel's or an end's own), router, underlay address or mode replaces the tunnel (delete
 * before create: the name is unique on a router); keys, ttl, mtu and tunnel addresses change in place; an end that drifted (missing,
 * down, changed by hand) is an update that repairs that end.
 */
export function diffGreTunnel(olds: Partial<GreTunnelOutputs>, news: NormalizedGreTunnel): TunnelDiff {
  const replaces: string[] = [];
  const reasons: string[] = [];
  const changed = (path: string, before: unknown, after: unknown) => {
    if (containsUnknown(after) || !same(before, after)) {
      reasons.push(path);
      return true;
    }
    return false;
  };
  if (changed("name", olds.name, news.name)) replaces.push("name");
  // Another mode is another kind of device: gre when a state (from before modes) has none.
  if (changed("mode", olds.mode ?? "gre", news.mode ?? "gre")) replaces.push("mode");
  news.endpoints.forEach((end, i) => {
    const old = olds.endpoints?.[i];
    // Another name of its own on this router is another device, as a changed `name` is.
    if (changed(`endpoints[${i}].name`, old?.name, end.name)) replaces.push(`endpoints[${i}].name`);
    for (const field of ["local", "remote"] as const) {
      if (changed(`endpoints[${i}].${field}`, old?.[field], end[field]))
        replaces.push(`endpoints[${i}].${field}`);
    }
    if (
      changed(
        `endpoints[${i}].connection.host`,
        old?.connection && routerAddress(old.connection),
        routerAddress(end.connection),
      )
    ) {
      replaces.push(`endpoints[${i}].connection.host`);
    }
    changed(`endpoints[${i}].address`, old?.address, end.address);
    changed(`endpoints[${i}].peerAddress`, old?.peerAddress, end.peerAddress);
    changed(`endpoints[${i}].bridge`, old?.bridge, end.bridge);
    // Credentials, proxies or pins changed: nothing to do on the router, but the state must learn them.
    if (old?.connection) {
      const rest = (c: Connection) => ({ ...c, host: "", port: 0 });
      if (!same(withoutSecrets(rest(old.connection)), withoutSecrets(rest(end.connection)))) {
        reasons.push(`endpoints[${i}].connection`);
      } else if (!same(rest(old.connection), rest(end.connection))) {
        reasons.push(`endpoints[${i}].connection (credentials)`);
      }
    }
  });
  changed("key", olds.key, news.key);
  changed("ttl", olds.ttl, news.ttl);
  changed("mtu", olds.mtu, news.mtu);
  changed("tcpMss", olds.tcpMss ?? undefined, news.tcpMss);
  changed("persist", olds.persist ?? false, news.persist);
  changed("verify", olds.verify, news.verify);
  for (const end of olds.ends ?? []) {
    reasons.push(...end.drift);
  }
  reasons.push(...(olds.drift ?? []));
  return { changes: reasons.length > 0, replaces, deleteBeforeReplace: replaces.length > 0, reasons };
}
