/**
 * The stack program: from a validated {@link StackConfig}, per router the `ip_gre` module and (where
 * routes need it) forwarding, per tunnel a `GreTunnel` after both modules, and its routes on both
 * sides after the tunnel. Outputs have a stable, documented shape for other stacks.
 *
 * @packageDocumentation
 */
import * as pulumi from "@pulumi/pulumi";
// The stack uses pulumi-gre as users do: the installed package, by its name.
import {
  GreTunnel,
  IpForwarding,
  KernelModule,
  TunnelRoutes,
  type TunnelMode,
  type Connection,
  type ProxyConnection,
  type GreTunnelHealth,
  type TunnelEndState,
  type TunnelState,
  tunnelDrift,
  tunnelState,
} from "pulumi-gre";
import type { ConfigConnection, RouterConfig, StackConfig, TunnelConfig } from "./config";
import { routerUnderlay, routesOf } from "./configChecks";
import { tunnelId } from "./declarationChecks";

/** One tunnel in the stack outputs. */
export interface TunnelSummary {
  /** The tunnel's resource name: `routerA-routerB-gre1`. */
  id: string;
  /** The tunnel's interface name: on both routers unless an end names its own (see `interfaces`). */
  interface: string;
  /** The interface name per router (an end's own `name`, else `interface`). */
  interfaces: Record<string, string>;
  routers: [string, string];
  /** gre, gretap, ip6gre or ip6gretap. */
  mode: TunnelMode;
  /** Tunnel address per router (null on a bridged end). */
  addresses: Record<string, string | null>;
  key: number | { input: number; output: number } | null;
  ttl: number;
  /**
   * up: both ends present, up, as declared, and carrying traffic; down: an end is missing or down;
   * no-traffic: both ends are there but pings across get no reply; drift: an end differs (or
   * full-size packets are lost).
   */
  state: TunnelState;
  /** Each difference, naming the router (with the causes of a tunnel that carries nothing). */
  drift: string[];
  /**
   * GRE over IPsec: "protected" when both ends have an SA protecting GRE, else "unprotected"
   * (no GRE crosses then: each router drops it); null for a tunnel without IPsec.
   */
  ipsec: "protected" | "unprotected" | null;
  /** The last pings across: null with verify off or before the first deploy. */
  health: {
    reachable: boolean;
    loss: number;
    rttMs: number | null;
    fullSize: boolean | null;
    checkedAt: string;
  } | null;
}

/** One router in the stack outputs. */
export interface RouterSummary {
  underlay: string;
  underlay6: string | null;
  lans: string[];
  /** Prefixes this router reaches through tunnels. */
  reachable: string[];
  /** Ids of the tunnels it is an end of. */
  tunnels: string[];
}

/** What the program returns: the stack outputs. */
export interface NetworkOutputs {
  tunnels: pulumi.Output<TunnelSummary[]>;
  routers: Record<string, RouterSummary>;
}

/** Resolves how to reach a router. */
export type ConnectionResolver = (name: string, router: RouterConfig) => pulumi.Input<Connection>;

/** How `lab: NAME` routers are reached: the running lab's connection to its router NAME. */
export type LabRouters = (labName: string) => Connection;

/** The connection fields that hold secrets, and the config fields that name them. */
const SECRET_REFERENCES = [
  ["privateKey", "privateKeySecret"],
  ["password", "passwordSecret"],
  ["privateKeyPassword", "privateKeyPasswordSecret"],
] as const;

/**
 * One connection (or jump host) from the config: its plain fields, and each secret read from the
 * secret config value it names. With no credential named, `fallbackKey` (the stack's
 * `sshPrivateKey`) — or, without that either, the SSH agent (`SSH_AUTH_SOCK`) of whoever runs Pulumi.
 */
function withSecrets<T extends ProxyConnection>(
  config: pulumi.Config,
  given: Record<string, unknown>,
  fallbackKey: pulumi.Output<string> | undefined,
): pulumi.Output<T> {
  const plain: Record<string, unknown> = { ...given };
  const secrets: Array<[string, pulumi.Output<string>]> = [];
  for (const [field, reference] of SECRET_REFERENCES) {
    const name = given[reference] as string | undefined;
    delete plain[reference];
    if (name) secrets.push([field, config.requireSecret(name)]);
  }
  if (!given.privateKeySecret && !given.passwordSecret && fallbackKey)
    secrets.push(["privateKey", fallbackKey]);
  return pulumi.all(secrets.map(([, value]) => value)).apply(
    (values) =>
      ({
        ...plain,
        ...Object.fromEntries(secrets.map(([field], i) => [field, values[i]])),
      }) as unknown as T,
  );
}

/**
 * Connections from the config: lab routers through `labRouters` (the lab's one seam), others from
 * their `connection`, secrets read from the secret config values they name.
 */
export function configConnections(config: pulumi.Config, labRouters: LabRouters): ConnectionResolver {
  const fallbackKey = config.getSecret("sshPrivateKey");
  return (name, router) => {
    if ("lab" in router) {
      let connection: Connection;
      try {
        connection = labRouters(router.lab);
      } catch (error) {
        throw new Error(`pulumi-gre:routers.${name}.lab: ${(error as Error).message}`);
      }
      return pulumi.secret({ ...connection, name });
    }
    const { proxy, ...own }: ConfigConnection = router.connection;
    const connection = withSecrets<Connection>(config, own, fallbackKey);
    const jump = proxy ? withSecrets<ProxyConnection>(config, proxy, undefined) : undefined;
    return pulumi.all([connection, jump]).apply(([c, p]) => ({ name, ...c, ...(p ? { proxy: p } : {}) }));
  };
}

function summarize(
  id: string,
  tunnel: TunnelConfig,
  ends: Array<TunnelEndState & { ipsec?: { protected: boolean } | null }> | undefined,
  health: GreTunnelHealth | null | undefined,
  own: string[] | undefined,
): TunnelSummary {
  const drift = tunnelDrift(ends, own);
  const state = tunnelState(ends, health, drift);
  return {
    id,
    interface: tunnel.name,
    interfaces: {
      [tunnel.ends[0].router]: tunnel.ends[0].name ?? tunnel.name,
      [tunnel.ends[1].router]: tunnel.ends[1].name ?? tunnel.name,
    },
    routers: [tunnel.ends[0].router, tunnel.ends[1].router],
    mode: tunnel.mode ?? "gre",
    addresses: {
      [tunnel.ends[0].router]: tunnel.ends[0].address ?? null,
      [tunnel.ends[1].router]: tunnel.ends[1].address ?? null,
    },
    key: tunnel.key ?? null,
    ttl: tunnel.ttl ?? 255,
    state,
    drift,
    ipsec:
      tunnel.ipsec === undefined
        ? null
        : ends?.every((e) => e.ipsec?.protected === true)
          ? "protected"
          : "unprotected",
    health: health
      ? {
          reachable: health.reachable,
          loss: health.loss,
          rttMs: health.rttMs,
          fullSize: health.fullSize,
          checkedAt: health.checkedAt,
        }
      : null,
  };
}

/** Declares the network of `config`. */
export function declareNetwork(
  declared: StackConfig,
  connectionOf: ConnectionResolver,
  secretOf: (name: string) => pulumi.Input<string> = (name) =>
    new pulumi.Config("pulumi-gre").requireSecret(name),
): NetworkOutputs {
  // A decommissioned router's tunnels leave the stack: Pulumi deletes them (their other ends, routes
  // through them) and what the stack made on that router, which the providers drop without contact.
  const config: StackConfig = {
    ...declared,
    tunnels: declared.tunnels.filter((t) => t.ends.every((e) => !declared.routers[e.router]?.decommissioned)),
  };
  const { settings } = config;
  const connections = new Map<string, pulumi.Input<Connection>>();
  const connection = (name: string) => {
    if (!connections.has(name)) connections.set(name, connectionOf(name, config.routers[name]));
    return connections.get(name)!;
  };

  // Per router, the GRE modules its tunnels need: ip_gre, and ip6_gre for tunnels over IPv6.
  const moduleFor = (t: TunnelConfig) => (t.mode?.startsWith("ip6") ? "ip6_gre" : "ip_gre");
  const modules = new Map<string, KernelModule>();
  for (const t of config.tunnels) {
    for (const { router } of t.ends) {
      const module = moduleFor(t);
      if (modules.has(`${router}/${module}`)) continue;
      modules.set(
        `${router}/${module}`,
        new KernelModule(`${router}-${module}`, {
          connection: connection(router),
          name: module,
          persist: settings.persist,
          unloadOnDelete: settings.unloadModulesOnDestroy,
        }),
      );
    }
  }
  const moduleOf = (router: string, t: TunnelConfig) => modules.get(`${router}/${moduleFor(t)}`)!;
  const reachable = new Map<string, string[]>();
  config.tunnels.forEach((t) =>
    routesOf(config, t).forEach((prefixes, e) =>
      reachable.set(t.ends[e].router, [...(reachable.get(t.ends[e].router) ?? []), ...prefixes]),
    ),
  );
  // Routes to a LAN behind another router only carry the PCs' traffic if this router forwards.
  for (const [name, prefixes] of reachable) {
    if (prefixes.some((p) => !p.includes(":")))
      new IpForwarding(`${name}-ip_forward`, { connection: connection(name), persist: settings.persist });
    // A resource per family, as earlier versions named them, so that their states carry over.
    if (prefixes.some((p) => p.includes(":")))
      new IpForwarding(`${name}-ipv6_forwarding`, {
        connection: connection(name),
        families: ["ipv6"],
        persist: settings.persist,
      });
  }

  const summaries = config.tunnels.map((t) => {
    const id = tunnelId(t);
    const [a, b] = t.ends;
    const endpoint = (end: typeof a, peer: typeof a) => ({
      ...(end.name !== undefined ? { name: end.name } : {}),
      connection: connection(end.router),
      local: end.local ?? routerUnderlay(config.routers[end.router], t.mode),
      ...(end.remote ? { remote: end.remote } : {}),
      ...(end.address !== undefined ? { address: end.address } : {}),
      ...(peer.address !== undefined ? { peerAddress: peer.address } : {}),
      ...(end.bridge !== undefined ? { bridge: end.bridge } : {}),
    });
    const tunnel = new GreTunnel(
      id,
      {
        name: t.name,
        ...(t.mode !== undefined ? { mode: t.mode } : {}),
        ...(t.key !== undefined ? { key: t.key } : {}),
        ...(t.ttl !== undefined ? { ttl: t.ttl } : {}),
        ...(t.mtu !== undefined ? { mtu: t.mtu } : {}),
        ...(t.tcpMss !== undefined ? { tcpMss: t.tcpMss } : {}),
        ...(t.verify !== undefined ? { verify: t.verify } : {}),
        ...(t.ipsec !== undefined
          ? {
              ipsec: {
                psk: secretOf(t.ipsec.pskSecret),
                ...(t.ipsec.proposals ? { proposals: t.ipsec.proposals } : {}),
                ...(t.ipsec.espProposals ? { espProposals: t.ipsec.espProposals } : {}),
              },
            }
          : {}),
        persist: settings.persist,
        endpoints: [endpoint(a, b), endpoint(b, a)],
      },
      { dependsOn: [moduleOf(a.router, t), moduleOf(b.router, t)] },
    );
    const [routesA, routesB] = routesOf(config, t);
    if (routesA.length + routesB.length > 0) {
      // TunnelRoutes takes the LANs behind each end: end 0 routes what lies behind end 1.
      new TunnelRoutes(`${id}-routes`, { tunnel, lans: [routesB, routesA], routers: [a.router, b.router] });
    }
    return pulumi
      .all([tunnel.ends, tunnel.health, tunnel.drift])
      .apply(([ends, health, own]) => summarize(id, t, ends as TunnelEndState[] | undefined, health, own));
  });

  const routers = Object.fromEntries(
    Object.entries(config.routers).map(([name, router]): [string, RouterSummary] => [
      name,
      {
        underlay: router.underlay,
        underlay6: router.underlay6 ?? null,
        lans: router.lans,
        reachable: reachable.get(name) ?? [],
        tunnels: config.tunnels.filter((t) => t.ends.some((e) => e.router === name)).map(tunnelId),
      },
    ]),
  );
  return { tunnels: pulumi.all(summaries), routers };
}
