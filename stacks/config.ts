/**
 * The stack's configuration: routers and the tunnels between them, validated with zod before any
 * resource is declared. Errors name the config path and the reason. Pure: reading the values from
 * Pulumi config and resolving connections happen in `program.ts`.
 *
 * @packageDocumentation
 */
import { z } from "zod";
import { ONE_ROUTE_ONLY, oneRouteOnly, plainProxyFields, routerOnlyFields } from "../schemas/connection";
import { distinctProblems, problemsOf, propertyPath, type Problem } from "../schemas/issues";
import {
  configValueName,
  greKey,
  interfaceName,
  ipAddress,
  ipPrefix,
  mirroredKeys,
  mtu,
  prefixContains,
  routerName,
  ttl,
  type GreKey,
} from "../schemas/values";

/**
 * Secrets of a connection in the config: each the name of a secret config value
 * (`pulumi config set --secret NAME`), never the secret itself.
 */
function secretReferences() {
  return {
    /** Name of a secret config value holding the private key. */
    privateKeySecret: configValueName().optional(),
    /** Name of a secret config value holding the password. */
    passwordSecret: configValueName().optional(),
    /** Name of a secret config value holding the key's passphrase. */
    privateKeyPasswordSecret: configValueName().optional(),
  };
}

/** A connection in the config: the connection fields, with secrets by reference (the jump host's too). */
function configConnection() {
  const { name: _name, ...routerFields } = routerOnlyFields();
  return z
    .object({
      ...plainProxyFields(),
      ...secretReferences(),
      proxy: z
        .object({ ...plainProxyFields(), ...secretReferences() })
        .strict()
        .optional(),
      ...routerFields,
    })
    .strict()
    .refine(oneRouteOnly, ONE_ROUTE_ONLY);
}

/** A connection as the config gives it: no secrets in it, only the names of secret config values. */
export type ConfigConnection = z.infer<ReturnType<typeof configConnection>>;

/** How the stack reaches a router: a lab router by name, or a connection (secrets by reference). */
export type RouterAccess = { lab: string } | { connection: ConfigConnection };

/** One router of the stack. */
export type RouterConfig = RouterAccess & {
  /** Its underlay address (where tunnels start). */
  underlay: string;
  /** The LANs behind it. */
  lans: string[];
};

/** One end of a tunnel. */
export interface TunnelEndConfig {
  /** A router declared under `routers`. */
  router: string;
  /** This end's tunnel address. */
  address: string;
  /** Prefixes this router routes through the tunnel; default: the LANs behind the other router. */
  routes?: string[];
  /** Overrides the router's underlay address as the tunnel's local address. */
  local?: string;
  /** Where this end sends to, when the peer is behind NAT (its public address). */
  remote?: string;
}

/** One tunnel: a pair of router ends. */
export interface TunnelConfig {
  name: string;
  key?: GreKey;
  ttl?: number;
  mtu?: number;
  verify?: boolean;
  ends: [TunnelEndConfig, TunnelEndConfig];
}

/** Stack-wide settings. */
export interface SettingsConfig {
  /** Load ip_gre and enable forwarding at boot too (modules-load.d, sysctl.d). Default false. */
  persist: boolean;
  /** On destroy, unload the modules the stack loaded (rmmod, as the field note ends). Default false. */
  unloadModulesOnDestroy: boolean;
}

/** The whole configuration, validated. */
export interface StackConfig {
  routers: Record<string, RouterConfig>;
  tunnels: TunnelConfig[];
  settings: SettingsConfig;
}

/** Configuration that cannot be deployed: each problem names the config path and the reason. */
export interface StackConfigError extends Error {
  problems: Problem[];
}

function stackSchema() {
  const router = z
    .object({
      lab: routerName().optional(),
      connection: configConnection().optional(),
      underlay: ipAddress(),
      lans: z.array(ipPrefix()).default([]),
    })
    .strict()
    .superRefine((r, ctx) => {
      if ((r.lab === undefined) === (r.connection === undefined)) {
        ctx.addIssue({
          code: "custom",
          path: [],
          message: "give either lab (a lab router's name) or connection",
        });
      }
    });
  const end = z
    .object({
      router: z.string().min(1, "must name a router"),
      address: ipAddress(),
      routes: z.array(ipPrefix()).optional(),
      local: ipAddress().optional(),
      remote: ipAddress().optional(),
    })
    .strict();
  const tunnel = z
    .object({
      name: interfaceName(),
      key: greKey().optional(),
      ttl: ttl().optional(),
      mtu: mtu().optional(),
      verify: z.boolean().optional(),
      ends: z.array(end).length(2, "a tunnel has exactly two ends"),
    })
    .strict();
  return z
    .object({
      routers: z.record(routerName(), router),
      tunnels: z.array(tunnel).default([]),
      settings: z
        .object({ persist: z.boolean().default(false), unloadModulesOnDestroy: z.boolean().default(false) })
        .strict()
        .default({ persist: false, unloadModulesOnDestroy: false }),
    })
    .strict();
}

/** The cross-checks zod cannot express: peers, names, keys, addresses, recursive routes. */
function crossCheck(config: StackConfig): Problem[] {
  const problems: Problem[] = [];
  const at = (...path: Array<string | number>) => propertyPath(path);
  const ifaceOwner = new Map<string, string>();
  const receiveSlots = new Map<string, string>();
  const addressOwner = new Map<string, string>();

  config.tunnels.forEach((tunnel, t) => {
    const [a, b] = tunnel.ends;
    let missing = false;
    tunnel.ends.forEach((end, e) => {
      if (!config.routers[end.router]) {
        missing = true;
        problems.push({
          path: at("tunnels", t, "ends", e, "router"),
          reason: `no router "${end.router}" is declared under routers: the tunnel's peer is missing (declared: ${Object.keys(config.routers).join(", ") || "none"})`,
        });
      }
    });
    if (a.router === b.router) {
      problems.push({
        path: at("tunnels", t, "ends", 1, "router"),
        reason: "both ends are on the same router; a tunnel joins two routers",
      });
      return;
    }
    if (missing) return;

    const keys = mirroredKeys(tunnel.key);
    tunnel.ends.forEach((end, e) => {
      const peer = tunnel.ends[1 - e];
      const router = config.routers[end.router];
      const peerRouter = config.routers[peer.router];
      const local = end.local ?? router.underlay;
      const remote = end.remote ?? peer.local ?? peerRouter.underlay;

      const iface = `${end.router}/${tunnel.name}`;
      const previous = ifaceOwner.get(iface);
      if (previous)
        problems.push({
          path: at("tunnels", t, "name"),
          reason: `${end.router} already has a tunnel named ${tunnel.name} (${previous})`,
        });
      else ifaceOwner.set(iface, at("tunnels", t));

      // The kernel delivers an incoming GRE packet by local address, remote address and key.
      const { ikey } = keys[e];
      const slot = `${end.router}|${local}|${remote}|${ikey ?? "none"}`;
      const taken = receiveSlots.get(slot);
      if (taken && !previous) {
        problems.push({
          path: at("tunnels", t, "key"),
          reason: `${taken} already joins ${a.router} and ${b.router} with ${ikey === undefined ? "no key" : `key ${ikey}`}; tunnels between the same routers need distinct keys (the kernel matches incoming GRE on local, remote and key)`,
        });
      } else if (!taken) receiveSlots.set(slot, at("tunnels", t));

      const owner = addressOwner.get(end.address);
      if (owner)
        problems.push({
          path: at("tunnels", t, "ends", e, "address"),
          reason: `${end.address} is already used by ${owner}; tunnel addresses must not overlap`,
        });
      else addressOwner.set(end.address, at("tunnels", t, "ends", e, "address"));
      for (const [name, r] of Object.entries(config.routers)) {
        // A default route as a "LAN" (an internet uplink behind the router) contains everything.
        const lan = r.lans.find((p) => !p.endsWith("/0") && prefixContains(p, end.address));
        if (lan)
          problems.push({
            path: at("tunnels", t, "ends", e, "address"),
            reason: `${end.address} lies in ${lan}, a LAN of ${name}; tunnel addresses must not overlap LANs`,
          });
      }
      if (end.address === local || end.address === remote) {
        problems.push({
          path: at("tunnels", t, "ends", e, "address"),
          reason: "a tunnel address must differ from the underlay addresses",
        });
      }

      (end.routes ?? peerRouter.lans).forEach((prefix, r) => {
        const path = end.routes
          ? at("tunnels", t, "ends", e, "routes", r)
          : at("routers", peer.router, "lans");
        if (prefixContains(prefix, remote)) {
          problems.push({
            path,
            reason: `${prefix} contains ${remote}, the tunnel's underlay peer: routing it through ${tunnel.name} would route the tunnel's own GRE packets into the tunnel (recursive routing)`,
          });
        }
        if (router.lans.includes(prefix))
          problems.push({
            path,
            reason: `${prefix} is a LAN of ${end.router} itself; it cannot be routed to the other side`,
          });
      });
    });
    if (a.address === b.address)
      problems.push({
        path: at("tunnels", t, "ends", 1, "address"),
        reason: "the two tunnel addresses are equal",
      });
  });
  // One collision seen from both routers is one problem.
  return distinctProblems(problems);
}

/** Validates raw config values (as `pulumi.Config#getObject` returns them); throws a {@link StackConfigError}. */
export function parseStackConfig(raw: {
  routers?: unknown;
  tunnels?: unknown;
  settings?: unknown;
}): StackConfig {
  const parsed = stackSchema().safeParse({
    routers: raw.routers ?? {},
    tunnels: raw.tunnels,
    settings: raw.settings,
  });
  if (!parsed.success) {
    throw stackConfigError(problemsOf(parsed.error.issues, raw));
  }
  const config = parsed.data as unknown as StackConfig;
  const problems = crossCheck(config);
  if (problems.length > 0) throw stackConfigError(problems);
  return config;
}

function stackConfigError(problems: Problem[]): StackConfigError {
  const error = new Error(
    `the stack configuration cannot be deployed:\n${problems.map((p) => `  pulumi-gre:${p.path}: ${p.reason}`).join("\n")}`,
  ) as StackConfigError;
  error.name = "StackConfigError";
  error.problems = problems;
  return error;
}
