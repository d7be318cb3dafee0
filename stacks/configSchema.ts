/**
 * The stack configuration's schema and types: routers (a lab router by name, or a connection with
 * its secrets by reference), tunnels as pairs of router ends, and stack-wide settings. Built from
 * the shared value schemas (`schemas/`). Pure.
 *
 * @packageDocumentation
 */
import { z } from "zod";
import { ONE_ROUTE_ONLY, oneRouteOnly, plainProxyFields, routerOnlyFields } from "../schemas/connection";
import { configValueName, ipsecProposals, routerName } from "../schemas/names";
import { interfaceName, tunnelParameters } from "../schemas/tunnel";
import { tunnelRules } from "../schemas/tunnelRules";
import { canonicalAddress, canonicalPrefix, routablePrefix, unicastAddress } from "../schemas/addresses";
import type { GreTunnelParameters } from "../model/greTunnel";

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
  /** Its IPv6 underlay address, where ip6gre and ip6gretap tunnels start. */
  underlay6?: string;
  /** The LANs behind it, IPv4 and IPv6. */
  lans: string[];
  /**
   * Gone for good: its tunnels are taken out of the stack (the other ends removed, nothing sent to
   * this router), and what the stack made on it is dropped from the state without contacting it.
   */
  decommissioned?: boolean;
};

/** One end of a tunnel. */
export interface TunnelEndConfig {
  /** A router declared under `routers`. */
  router: string;
  /** This router's interface name, when it is not the tunnel's `name` (a hub's `gre-branch1`). */
  name?: string;
  /** This end's tunnel address (IPv4 or IPv6); left out on a bridged gretap end. */
  address?: string;
  /** gretap, ip6gretap: the bridge this end joins (its LAN then spans both sites; nothing is routed). */
  bridge?: string;
  /** Prefixes this router routes through the tunnel; default: the LANs behind the other router. */
  routes?: string[];
  /** Overrides the router's underlay address as the tunnel's local address. */
  local?: string;
  /** Where this end sends to, when the peer is behind NAT (its public address). */
  remote?: string;
  /**
   * Let this end's routes contain a router's management address, its jump host, or another
   * router's underlay address (refused by default: such routes capture traffic they should not).
   */
  allowCapture?: boolean;
}

/** A tunnel's IPsec in the config: the pre-shared key by reference, never the key itself. */
export interface IpsecConfig {
  /** Name of a secret config value holding the pre-shared key (`pulumi config set --secret NAME`). */
  pskSecret: string;
  /** IKE proposals (GreTunnel's default when left out). */
  proposals?: string[];
  /** ESP proposals (GreTunnel's default when left out). */
  espProposals?: string[];
}

/** One tunnel: what a GreTunnel is (its name, mode, key, TTL, MTU, MSS clamp, verify), between a pair of router ends. */
export interface TunnelConfig extends GreTunnelParameters {
  ends: [TunnelEndConfig, TunnelEndConfig];
  /** GRE over IPsec (GreTunnel's `ipsec`). */
  ipsec?: IpsecConfig;
}

/** Stack-wide settings. */
export interface SettingsConfig {
  /**
   * Bring everything back at boot without Pulumi: ip_gre and forwarding (modules-load.d,
   * sysctl.d), each tunnel and its routes (systemd-networkd files). Default false.
   */
  persist: boolean;
  /** On destroy, unload the modules the stack loaded (rmmod, as the field note ends). Default false. */
  unloadModulesOnDestroy: boolean;
  /** Accept a config that declares no tunnel (then `up` removes every tunnel the stack made). Default false. */
  allowNoTunnels: boolean;
}

/** The whole configuration, validated. */
export interface StackConfig {
  routers: Record<string, RouterConfig>;
  tunnels: TunnelConfig[];
  settings: SettingsConfig;
}

/** Builds the schema of the whole stack configuration. */
export function stackSchema() {
  const router = z
    .object({
      lab: routerName().optional(),
      connection: configConnection().optional(),
      underlay: unicastAddress().transform(canonicalAddress),
      underlay6: unicastAddress("ipv6").transform(canonicalAddress).optional(),
      lans: z.array(routablePrefix("any").transform(canonicalPrefix)).default([]),
      decommissioned: z.boolean().optional(),
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
    })
    // Exactly one of them is there (refused above otherwise): the router is that variant.
    .transform(({ lab, connection, ...rest }): RouterConfig =>
      connection !== undefined ? { connection, ...rest } : { lab: lab ?? "", ...rest },
    );
  const end = z
    .object({
      router: z.string().min(1, "must name a router"),
      name: interfaceName().optional(),
      address: unicastAddress("any").transform(canonicalAddress).optional(),
      bridge: interfaceName().optional(),
      routes: z.array(routablePrefix("any").transform(canonicalPrefix)).optional(),
      local: unicastAddress("any").transform(canonicalAddress).optional(),
      remote: unicastAddress("any").transform(canonicalAddress).optional(),
      allowCapture: z.boolean().optional(),
    })
    .strict();
  const tunnel = z
    .object({
      ...tunnelParameters(),
      verify: z.boolean().optional(),
      ipsec: z
        .object({
          pskSecret: configValueName(),
          proposals: ipsecProposals().optional(),
          espProposals: ipsecProposals().optional(),
        })
        .strict()
        .optional(),
      ends: z
        .array(end)
        .length(2, "a tunnel has exactly two ends")
        .transform((ends): [TunnelEndConfig, TunnelEndConfig] => [ends[0], ends[1]]),
    })
    .strict()
    .superRefine((t, ctx) => {
      // The rules every tunnel declaration obeys (GreTunnel's too); persistence's in crossCheck.
      for (const { path, message } of tunnelRules(t, "ends")) ctx.addIssue({ code: "custom", path, message });
      t.ends.forEach((end, e) => {
        if (end.bridge !== undefined && end.routes !== undefined)
          ctx.addIssue({
            code: "custom",
            path: ["ends", e, "routes"],
            message: "must be left out with bridge: a bridged end routes nothing, its LAN spans the tunnel",
          });
      });
    });
  return z
    .object({
      routers: z.record(routerName(), router),
      tunnels: z.array(tunnel).default([]),
      settings: z
        .object({
          persist: z.boolean().default(false),
          unloadModulesOnDestroy: z.boolean().default(false),
          allowNoTunnels: z.boolean().default(false),
        })
        .strict()
        .default({ persist: false, unloadModulesOnDestroy: false, allowNoTunnels: false }),
    })
    .strict();
}
