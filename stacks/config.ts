/**
 * The stack's configuration: routers and the tunnels between them, validated with zod before any
 * resource is declared. Errors name the config path and the reason. Pure: reading the values from
 * Pulumi config and resolving connections happen in `program.ts`.
 *
 * @packageDocumentation
 */
import * as ipaddr from "ipaddr.js";
import { z } from "zod";
import { propertyPath } from "../providers/checkFailures";
import { ipv4 } from "../providers/greTunnelSpec";
import { connectionSchema } from "../transport/connection";

/** How the stack reaches a router: a lab router by name, or a connection (secrets by reference). */
export type RouterAccess =
  | { lab: string }
  | {
      connection: Omit<
        z.infer<ReturnType<typeof connectionSchema>>,
        "password" | "privateKey" | "privateKeyPassword"
      > & {
        /** Name of a secret config value holding the private key (`pulumi config set --secret NAME`). */
        privateKeySecret?: string;
        /** Name of a secret config value holding the password. */
        passwordSecret?: string;
        /** Name of a secret config value holding the key's passphrase. */
        privateKeyPasswordSecret?: string;
      };
    };

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
  key?: number | { input: number; output: number };
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
  problems: Array<{ path: string; reason: string }>;
}

const ROUTER_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
const SECRET_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

function cidr() {
  return z.string().superRefine((value, ctx) => {
    if (!ipaddr.IPv4.isValidCIDR(value)) {
      ctx.addIssue({ code: "custom", message: "must be an IPv4 prefix such as 10.2.1.0/24" });
      return;
    }
    const [address, length] = ipaddr.IPv4.parseCIDR(value);
    const network = ipaddr.IPv4.networkAddressFromCIDR(value).toString();
    if (network !== address.toString())
      ctx.addIssue({
        code: "custom",
        message: `is not a network address; did you mean ${network}/${length}?`,
      });
  });
}

function stackSchema() {
  const connection = z
    .object({
      host: z.string(),
      port: z.number().optional(),
      user: z.string().optional(),
      agentSocketPath: z.string().optional(),
      dialErrorLimit: z.number().optional(),
      perDialTimeout: z.number().optional(),
      hostKey: z.string().optional(),
      proxy: z.record(z.string(), z.unknown()).optional(),
      proxyCommand: z.array(z.string()).optional(),
      sudo: z.boolean().optional(),
      commandTimeout: z.number().optional(),
      privateKeySecret: z.string().regex(SECRET_NAME, "must name a config value").optional(),
      passwordSecret: z.string().regex(SECRET_NAME, "must name a config value").optional(),
      privateKeyPasswordSecret: z.string().regex(SECRET_NAME, "must name a config value").optional(),
    })
    .strict()
    .superRefine((c, ctx) => {
      // The transport's own rules (host, port, pins, …), minus the secrets, which come by reference.
      const { privateKeySecret, passwordSecret, privateKeyPasswordSecret, ...plain } = c;
      const checked = connectionSchema().safeParse(plain);
      if (!checked.success)
        for (const issue of checked.error.issues)
          ctx.addIssue({ code: "custom", path: issue.path as (string | number)[], message: issue.message });
    });
  const router = z
    .object({
      lab: z.string().regex(ROUTER_NAME, "must name a lab router such as routerA").optional(),
      connection: connection.optional(),
      underlay: ipv4(),
      lans: z.array(cidr()).default([]),
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
  const key = z
    .number()
    .int("must be a whole number")
    .min(0, "must be 0 or more")
    .max(4294967295, "must be at most 4294967295");
  const end = z
    .object({
      router: z.string().min(1, "must name a router"),
      address: ipv4(),
      routes: z.array(cidr()).optional(),
      local: ipv4().optional(),
      remote: ipv4().optional(),
    })
    .strict();
  const tunnel = z
    .object({
      name: z
        .string()
        .regex(INTERFACE_NAME, "must be 1 to 15 letters, digits, `_`, `.` or `-` (a Linux interface name)"),
      key: z.union([key, z.object({ input: key, output: key }).strict()]).optional(),
      ttl: z.number().int().min(1, "must be 1 or more").max(255, "must be at most 255").optional(),
      mtu: z.number().int().min(68, "must be at least 68").max(65507, "must be at most 65507").optional(),
      verify: z.boolean().optional(),
      ends: z.array(end).length(2, "a tunnel has exactly two ends"),
    })
    .strict();
  return z
    .object({
      routers: z.record(
        z
          .string()
          .regex(ROUTER_NAME, "router names are letters, digits, `_` and `-`, starting with a letter"),
        router,
      ),
      tunnels: z.array(tunnel).default([]),
      settings: z
        .object({ persist: z.boolean().default(false), unloadModulesOnDestroy: z.boolean().default(false) })
        .strict()
        .default({ persist: false, unloadModulesOnDestroy: false }),
    })
    .strict();
}

/** The key each end receives with: `ikey` of the end (endpoints[1] mirrors endpoints[0]). */
function inputKeys(key: TunnelConfig["key"]): [number | undefined, number | undefined] {
  if (key === undefined) return [undefined, undefined];
  if (typeof key === "number") return [key, key];
  return [key.input, key.output];
}

/** The cross-checks zod cannot express: peers, names, keys, addresses, recursive routes. */
function crossCheck(config: StackConfig): Array<{ path: string; reason: string }> {
  const problems: Array<{ path: string; reason: string }> = [];
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

    const keys = inputKeys(tunnel.key);
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
      const ikey = e === 0 ? keys[0] : keys[1];
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
        const lan = r.lans.find(
          (p) => !p.endsWith("/0") && ipaddr.IPv4.parse(end.address).match(ipaddr.IPv4.parseCIDR(p)),
        );
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
        if (ipaddr.IPv4.parse(remote).match(ipaddr.IPv4.parseCIDR(prefix))) {
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
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
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
    throw stackConfigError(
      parsed.error.issues.map((i) => ({ path: propertyPath(i.path), reason: i.message })),
    );
  }
  const config = parsed.data as unknown as StackConfig;
  const problems = crossCheck(config);
  if (problems.length > 0) throw stackConfigError(problems);
  return config;
}

function stackConfigError(problems: Array<{ path: string; reason: string }>): StackConfigError {
  const error = new Error(
    `the stack configuration cannot be deployed:\n${problems.map((p) => `  pulumi-gre:${p.path}: ${p.reason}`).join("\n")}`,
  ) as StackConfigError;
  error.name = "StackConfigError";
  error.problems = problems;
  return error;
}
