/**
 * TunnelRoute's lifecycle: the field note's `ip route add 10.2.1.0/24 via 10.10.10.2` on one router,
 * read back with `ip -j route show` for drift, repaired with `ip route replace`. A route to the same
 * destination that pulumi-gre did not make is never clobbered unless `takeOver` is set.
 *
 * @packageDocumentation
 */
import {
  ROUTE_PROTOCOL,
  findRoute,
  parseIpRoute,
  planRoute,
  planRouteRemoval,
  routeDifferences,
  routeShow,
} from "../../commands/iproute2/route";
import {
  bootStackProblem,
  describeBootStack,
  parseBootStack,
  persistStack,
  readBootStack,
  type BootStack,
} from "../../commands/bootStack/bootStack";
import {
  deviceBootFile,
  formFound,
  parsePersistedFiles,
  persistChanges,
  persistDrift,
  readPersistedFiles,
  routeBootFiles,
  type WantedFile,
} from "../../commands/bootStack/persistedFiles";
import { prefixFamily } from "../../schemas/addresses";
import { routerLabel } from "../../transport/connection";
import { TransportError, outcomeFailed } from "../../transport/errors";
import { oneRouterProvider } from "./shape";
import {
  normalizeTunnelRoute,
  specOf,
  tunnelRouteSchema,
  type RouteView,
  type TunnelRouteOutputs,
} from "./tunnelRouteSpec";
import { type TunnelRouteInputs } from "../../model/routerResources";

/** The link whose `.network` would carry the route's boot file. */
function persistDevice(inputs: TunnelRouteInputs): string | undefined {
  return inputs.device ?? inputs.tunnel?.name;
}

/** Whether persistence is involved: wanted now, or left by the state. */
function readsFiles(inputs: TunnelRouteInputs, previous?: Partial<TunnelRouteOutputs>): boolean {
  return persistDevice(inputs) !== undefined && (inputs.persist || previous?.persist === true);
}

/** The route's boot file in either form, with content in `stack`'s (undefined: none wanted). */
function routeFiles(inputs: TunnelRouteInputs, stack: BootStack | undefined): WantedFile[] {
  const device = persistDevice(inputs);
  if (device === undefined) return [];
  return routeBootFiles(
    {
      device,
      destination: inputs.destination,
      metric: inputs.metric,
      table: inputs.table,
      protocol: ROUTE_PROTOCOL,
      ...(inputs.via === undefined ? {} : { gateway: inputs.via }),
      ...(inputs.source === undefined ? {} : { source: inputs.source }),
    },
    stack,
  );
}

/**
 * The form its boot file is (to be) in: the stack the router runs, or where that was not read or
 * reads none of ours, the form of the file there.
 */
function formOf(inputs: TunnelRouteInputs, view: RouteView): BootStack {
  const paths = routeFiles(inputs, undefined).map((f) => f.path);
  return (view.stack && persistStack(view.stack)) ?? formFound(paths, view.files ?? new Map());
}

/** The route's boot file as `persist` (or `persist` forced to true) wants it. */
function bootFile(inputs: TunnelRouteInputs, view: RouteView, persist = inputs.persist): WantedFile[] {
  return routeFiles(inputs, persist ? formOf(inputs, view) : undefined);
}

/** The persisted state of the route's boot file: drift, and whether it is there and read at boot. */
function bootFileState(inputs: TunnelRouteInputs, view: RouteView): { drift: string[]; persisted: boolean } {
  const unread = inputs.persist && view.stack && bootStackProblem(view.stack, "it");
  const drift = [
    ...(view.files ? persistDrift(bootFile(inputs, view), view.files) : []),
    ...(unread && view.stack
      ? [`nothing would read its boot file at boot (${describeBootStack(view.stack)})`]
      : []),
  ];
  const asPersisted = view.files ? persistDrift(bootFile(inputs, view, true), view.files) : ["not read"];
  return { drift, persisted: !unread && asPersisted.length === 0 };
}

/** Why the route cannot be persisted here; undefined when it can (or need not be). */
function persistProblem(inputs: TunnelRouteInputs, view: RouteView): string | undefined {
  const device = persistDevice(inputs);
  if (!inputs.persist || device === undefined) return undefined;
  const stack = view.stack && bootStackProblem(view.stack, `the route to ${inputs.destination}`);
  if (stack) return stack;
  const deviceFile = deviceBootFile(device, formOf(inputs, view));
  if (view.files && !view.files.has(deviceFile)) {
    return (
      `persist: ${device} is not persisted by pulumi-gre on this router (${deviceFile} is missing), so the route ` +
      "would not come back with it at boot; persist the tunnel too (GreTunnel persist: true)"
    );
  }
  return undefined;
}

/** The dynamic provider behind {@link TunnelRoute}. */
export const tunnelRouteProvider = oneRouterProvider<TunnelRouteInputs, RouteView, TunnelRouteOutputs>({
  kind: "TunnelRoute",
  subject: (inputs) => inputs.destination,
  schema: tunnelRouteSchema,
  normalize: normalizeTunnelRoute,
  inputKeys: [
    "connection",
    "destination",
    "via",
    "device",
    "metric",
    "table",
    "source",
    "takeOver",
    "allowCapture",
    "persist",
    "tunnel",
  ],
  replaceOn: ["destination", "metric", "table"],
  // A new slot does not collide with the old one: create the new route, then delete the old.
  deleteBeforeReplace: false,
  id: (inputs) => `${inputs.connection.host}:${inputs.table}:${inputs.destination}:${inputs.metric}`,

  // ip -j route show table all, and our boot files when persistence is involved.
  reads: (inputs, previous) => [
    routeShow(prefixFamily(inputs.destination)),
    ...(readsFiles(inputs, previous) ? [readPersistedFiles()] : []),
    ...(inputs.persist ? [readBootStack()] : []),
  ],
  parse(inputs, [routes, ...rest], router, previous) {
    if (routes.exitCode !== 0) throw outcomeFailed(router, routes);
    const view: RouteView = {
      routes: parseIpRoute(routes.stdout, prefixFamily(inputs.destination)),
    };
    if (readsFiles(inputs, previous)) view.files = parsePersistedFiles(rest.shift()!.stdout);
    if (inputs.persist) view.stack = parseBootStack(rest.shift()!);
    return view;
  },

  // ip route replace, unless the slot holds a route someone else made. Once the resource exists the
  // slot is its own (its create made or took the route): whatever is there since is drift to repair.
  plan(inputs, view, { previous }) {
    const plan = planRoute(specOf(inputs), view.routes, previous !== undefined || inputs.takeOver);
    if (plan.action === "conflict") throw new Error(`${routerLabel(inputs.connection)}: ${plan.reason}`);
    const problem = persistProblem(inputs, view);
    if (problem) throw new Error(`${routerLabel(inputs.connection)}: ${problem}`);
    return [
      ...(plan.action === "none" ? [] : plan.commands),
      ...(view.files ? persistChanges(bootFile(inputs, view), view.files) : []),
    ];
  },
  explainFailure(inputs, _routes, error) {
    if (
      inputs.tunnel &&
      TransportError.isInstance(error) &&
      /Nexthop has invalid gateway|Network is unreachable/.test(error.message)
    ) {
      error.message += ` (is tunnel ${inputs.tunnel.name} up? routes through it come after it)`;
    }
    return error;
  },

  // The route in its slot (destination, table, metric) when it is ours: its next hop, device and
  // source in place of the declared ones (absent when the route is gone); persist: whether its
  // boot file is there as written.
  observedInputs: (inputs, view) => {
    const route = findRoute(specOf(inputs), view.routes);
    const ours = route !== undefined && route.protocol === ROUTE_PROTOCOL ? route : undefined;
    const { via: _via, device: _device, source: _source, ...rest } = inputs;
    return {
      ...rest,
      ...(inputs.via !== undefined && ours?.gateway !== undefined ? { via: ours.gateway } : {}),
      ...(inputs.device !== undefined && ours?.device !== undefined ? { device: ours.device } : {}),
      ...(inputs.source !== undefined && ours?.source !== undefined ? { source: ours.source } : {}),
      persist: persistDevice(inputs) !== undefined && bootFileState(inputs, view).persisted,
    };
  },

  outputs(inputs, view, _context, keys) {
    const spec = specOf(inputs);
    const route = findRoute(spec, view.routes);
    const involved =
      view.files !== undefined &&
      (inputs.persist || bootFile(inputs, view).some((f) => view.files!.has(f.path)));
    const boot = bootFileState(inputs, view);
    return {
      ...inputs,
      ...keys,
      persisted: involved ? boot.persisted : null,
      present: !!route && route.protocol === ROUTE_PROTOCOL,
      found: route
        ? {
            gateway: route.gateway ?? null,
            device: route.device ?? null,
            protocol: route.protocol,
            source: route.source ?? null,
          }
        : null,
      drift: [...routeDifferences(spec, route), ...boot.drift].map(
        (d) => `${routerLabel(inputs.connection)}: ${d}`,
      ),
    };
  },

  // ip route del … proto 176: only ever our own route; and its boot file.
  planDelete: (state, view) => ({
    changes: [
      ...planRouteRemoval(specOf(state), view.routes),
      ...(view.files ? persistChanges(bootFile(state, view, false), view.files, true) : []),
    ],
    notices: [],
  }),
});
