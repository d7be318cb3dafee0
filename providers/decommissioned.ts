/**
 * Routers that are gone for good: named in the stack's configuration, which Pulumi hands every
 * dynamic provider (`configure`, with the whole configuration). A resource on such a router is
 * never contacted: its delete drops it from the state (what it made stays on that router, which is
 * gone), its refresh keeps it as it was, and nothing is created or changed on it.
 *
 * Two ways to name one, both read from the configuration:
 * - `pulumi-gre:routers` (the repository's stack): a router with `decommissioned: true`, by name.
 * - `pulumi-gre:decommissioned` (any program): a list of routers, each a connection's `name`, its
 *   `host`, or `host:port`.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Connection } from "../model/connection";
import { configValue } from "../schemas/configText";
import { processWide } from "../schemas/processState";
import { routerAddress, routerLabel } from "../transport/connection";
import { TransportError } from "../transport/errors";

/**
 * Connection names, hosts and host:port that are decommissioned (set by `configure`), process-wide
 * (a module variable holding a Set would be captured, and refused, by Pulumi's closure serializer).
 */
function decommissioned(): { names: Set<string> } {
  return processWide("decommissioned", () => ({ names: new Set<string>() }));
}

/** Takes the routers named decommissioned from the stack's configuration (see the module's doc). */
export function configureDecommissioned(config: Pick<pulumi.dynamic.Config, "get">): void {
  const names = new Set<string>();
  const listed = configValue(config.get("pulumi-gre:decommissioned"));
  if (Array.isArray(listed)) for (const v of listed) if (typeof v === "string" && v !== "") names.add(v);
  const routers = configValue(config.get("pulumi-gre:routers"));
  if (routers && typeof routers === "object" && !Array.isArray(routers))
    for (const [name, router] of Object.entries(routers as Record<string, unknown>))
      if (
        router &&
        typeof router === "object" &&
        (router as { decommissioned?: unknown }).decommissioned === true
      ) {
        names.add(name);
        // A connection that names itself otherwise is known by that name too.
        const own = (router as { connection?: { name?: unknown } }).connection?.name;
        if (typeof own === "string" && own !== "") names.add(own);
      }
  decommissioned().names = names;
}

/** Whether a connection's router is decommissioned: by its name, its host, or its host:port. */
export function isDecommissioned(connection: Pick<Connection, "host" | "port" | "name">): boolean {
  const gone = decommissioned().names;
  if (gone.size === 0) return false;
  return (
    (connection.name !== undefined && gone.has(connection.name)) ||
    gone.has(connection.host) ||
    gone.has(routerAddress(connection))
  );
}

/** Why nothing is made or changed on a decommissioned router, and what to do. */
export function decommissionedError(what: string, connection: Connection): Error {
  return new Error(
    `${routerLabel(connection)} is decommissioned (pulumi-gre:routers or pulumi-gre:decommissioned): ` +
      `${what} is not made or changed on it; take it out of the program`,
  );
}

/** What a delete on a decommissioned router says: dropped from the state, what stays there. */
export function decommissionedNotice(what: string, connection: Connection): string {
  return (
    `${routerLabel(connection)} is decommissioned: ${what} dropped from the state without contacting it ` +
    "(whatever it made there stays on that router)"
  );
}

/**
 * A delete that could not reach its router says the way out for a router gone for good; any other
 * error is returned as it is.
 */
export function withWayOut(error: unknown): unknown {
  const unreachable =
    TransportError.isInstance(error) &&
    (error.kind === "connect-failed" ||
      (error.kind === "command-timeout" && error.message.includes("while connecting")));
  if (unreachable)
    error.message +=
      `; if ${error.router} is gone for good, name it decommissioned in the configuration and run ` +
      "again: what is on it is then dropped from the state without contacting it (README: A router gone for good)";
  return error;
}
