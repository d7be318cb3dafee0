/**
 * `GreTunnel`: one resource for both ends of a GRE tunnel between two Linux routers.
 *
 * @packageDocumentation
 */
import * as pulumi from "@pulumi/pulumi";
import type { GreEndState, GreTunnelHealth } from "../providers/greTunnel/spec";
import type {
  GreEndpointDeclaration,
  GreTunnelDeclaration,
  IpsecDeclaration,
  NormalizedGreEndpoint,
} from "../model/greTunnel";
import type { HostKeyOrigin } from "../providers/hostKeys";
import type { GreKey, TcpMss, TunnelMode } from "../model/tunnel";
import type { Connection, ConnectionCredentials } from "../model/connection";
import { credentialsOf, withoutSecrets } from "../transport/connection";
import { withSecretConnection } from "./connectionArgs";
import type { Inputs } from "./inputs";
import { runtimeProvider } from "./runtimeProvider";

/** The parts of an end's outputs beyond its device (GreEndState), and where its MSS rule is. */
export type { ExtrasState } from "../providers/greTunnel/extras/extras";
export type { BootFilesState } from "../providers/greTunnel/extras/bootFiles";
export type { MssClampState } from "../providers/greTunnel/extras/mssClamp";
export type { IpsecState } from "../providers/greTunnel/extras/ipsec";
export type { Firewall } from "../commands/firewall/mssClamp";

export type { GreEndState, GreTunnelHealth, HostKeyOrigin };

/** One router's end of a tunnel, with every field an `Input`. */
export type GreEndpointArgs = Inputs<GreEndpointDeclaration>;

/** One router's end of a tunnel as the state records it: every default filled in (what `check` made of it). */
export type GreEndpoint = NormalizedGreEndpoint;

/** The arguments of a {@link GreTunnel}: its declaration, with every field an `Input`. */
export type GreTunnelArgs = Inputs<GreTunnelDeclaration>;

/** An endpoint's connection, when it has one (what has not is left for `check` to name). */
function connectionOf(end: unknown): Connection | undefined {
  const connection = (end as { connection?: unknown } | null)?.connection;
  return typeof connection === "object" && connection !== null ? (connection as Connection) : undefined;
}

/** The endpoints with their connections' secrets left out (anything else passed on for `check`). */
function withoutCredentials(endpoints: unknown): unknown {
  if (!Array.isArray(endpoints)) return endpoints;
  return endpoints.map((end: unknown) => {
    const connection = connectionOf(end);
    return connection ? { ...(end as object), connection: withoutSecrets(connection) } : end;
  });
}

/** Each endpoint's connection's secrets, in the endpoints' order. */
function credentialsOfEach(endpoints: unknown): unknown {
  if (!Array.isArray(endpoints)) return undefined;
  return endpoints.map((end: unknown) => {
    const connection = connectionOf(end);
    return connection ? credentialsOf(connection) : {};
  });
}

/**
 * A GRE tunnel between two Linux routers, converged on both ends together over SSH.
 *
 * `pulumi up` runs the by-hand procedure's commands on both routers (`ip tunnel add … mode gre`, `ip addr
 * add … peer …`, `ip link set … up`) after a preflight (GRE available, peer reachable, name free),
 * pings across the tunnel, and undoes both ends if anything fails. `pulumi refresh` reads both
 * ends; a deleted end, a rebooted router, a changed key or a link set down shows as drift in
 * `ends[i].drift`, and the next `pulumi up` repairs only the end that drifted.
 *
 * @example
 * ```ts
 * import * as pulumi from "@pulumi/pulumi";
 * import { GreTunnel, KernelModule } from "pulumi-gre";
 *
 * const config = new pulumi.Config();
 * const key = config.requireSecret("sshPrivateKey");
 * const routerA = { name: "routerA", host: "203.0.113.10", privateKey: key, hostKey: config.get("routerAHostKey") };
 * const routerB = { name: "routerB", host: "203.0.113.20", privateKey: key, hostKey: config.get("routerBHostKey") };
 *
 * const greA = new KernelModule("routerA-ip_gre", { connection: routerA, name: "ip_gre" });
 * const greB = new KernelModule("routerB-ip_gre", { connection: routerB, name: "ip_gre" });
 * const tunnel = new GreTunnel(
 *   "gre1",
 *   {
 *     name: "gre1",
 *     key: 1,
 *     ttl: 255,
 *     mtu: 1400,
 *     tcpMss: "clamp", // TCP through the tunnel: MSS 1400 − 40 = 1360
 *     persist: true, // back at boot, by each router's networkd, NetworkManager or ifupdown
 *     endpoints: [
 *       { connection: routerA, local: "198.51.100.10", address: "10.10.10.2" },
 *       { connection: routerB, local: "198.51.100.20", address: "10.10.10.1" },
 *     ],
 *   },
 *   { dependsOn: [greA, greB] },
 * );
 * export const ends = tunnel.ends;
 * ```
 */
export class GreTunnel extends pulumi.dynamic.Resource {
  /** Interface name on both routers. */
  declare public readonly name: pulumi.Output<string>;
  /** The mode as given (undefined: gre). */
  declare public readonly mode: pulumi.Output<TunnelMode | undefined>;
  /** The key as given (undefined: no key). */
  declare public readonly key: pulumi.Output<GreKey | undefined>;
  /** Outer TTL (hop limit over IPv6). */
  declare public readonly ttl: pulumi.Output<number>;
  /** The tunnel's MTU; undefined: the kernel's default. */
  declare public readonly mtu: pulumi.Output<number | undefined>;
  /** The MSS clamp as given (undefined: none). */
  declare public readonly tcpMss: pulumi.Output<TcpMss | undefined>;
  /** Whether the tunnel is brought back at boot without Pulumi. */
  declare public readonly persist: pulumi.Output<boolean>;
  /** Whether pings across check the tunnel on create, update and refresh. */
  declare public readonly verify: pulumi.Output<boolean>;
  /** The IPsec as given, proposals filled in (undefined: none); secret, for its pre-shared key. */
  declare public readonly ipsec: pulumi.Output<Required<IpsecDeclaration> | undefined>;
  /** The endpoints with defaults filled in; their connections without secrets (those are in `credentials`). */
  declare public readonly endpoints: pulumi.Output<GreEndpoint[]>;
  /** Each endpoint's connection's secrets (password, private key, passphrase, the jump host's), secret. */
  declare public readonly credentials: pulumi.Output<ConnectionCredentials[]>;
  /**
   * What each router reported at the last create, update or refresh: the device, whether its boot
   * files are there (`persisted`), its MSS rule (`tcpMss`), and any drift.
   */
  declare public readonly ends: pulumi.Output<GreEndState[]>;
  /** Each router's SSH host key, enforced on every later operation (a new pin replaces it). */
  declare public readonly hostKeys: pulumi.Output<string[]>;
  /** Each router's jump host's key (null without one), enforced likewise. */
  declare public readonly jumpHostKeys: pulumi.Output<Array<string | null>>;
  /** Where each host key came from: "pinned", "first use" (seen at create) or "adopted" (a state without one). */
  declare public readonly hostKeyOrigins: pulumi.Output<HostKeyOrigin[]>;
  /**
   * Whether the tunnel carried traffic at the last create, update or refresh: `reachable`, `loss`
   * (%), `rttMs`, `fullSize` (packets of its MTU cross), `checkedAt`, and `causes` when it did not.
   * Null with `verify: false`.
   */
  declare public readonly health: pulumi.Output<GreTunnelHealth | null>;
  /** What is wrong with the tunnel as a whole: it carries no traffic, and why (the ends' drift is in `ends`). */
  declare public readonly drift: pulumi.Output<string[]>;

  /**
   * Each endpoint's connection as the program gave it, secrets included (secret when any part of
   * it is): what resources on the tunnel's routers reach them with (TunnelRoutes). It comes from
   * the program, not from the state, so it is known in a preview whenever the program's values are.
   */
  public readonly connections: pulumi.Output<Connection[]>;

  constructor(name: string, args: GreTunnelArgs, opts?: pulumi.CustomResourceOptions) {
    // The endpoints' secrets go to `credentials`, a secret property of its own, so that the
    // endpoints (hosts, users, addresses) stay plain in the state and in previews.
    const endpoints = pulumi.output(args.endpoints);
    super(
      runtimeProvider("greTunnelProvider"),
      name,
      {
        ...args,
        endpoints: pulumi.unsecret(endpoints.apply(withoutCredentials)),
        credentials: pulumi.secret(endpoints.apply(credentialsOfEach)),
        // Secret as a whole, in the inputs and the outputs: it holds the pre-shared key.
        ipsec: args.ipsec === undefined ? undefined : pulumi.secret(args.ipsec),
        ends: undefined,
        hostKeys: undefined,
        jumpHostKeys: undefined,
        hostKeyOrigins: undefined,
        health: undefined,
        drift: undefined,
      },
      withSecretConnection(withSecretConnection(opts, "credentials"), "ipsec"),
      "gre",
      "GreTunnel",
    );
    this.connections = endpoints.apply((list) =>
      (Array.isArray(list) ? list : []).map((end: unknown) => connectionOf(end) ?? ({} as Connection)),
    );
  }
}
