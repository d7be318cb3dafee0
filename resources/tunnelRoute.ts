/**
 * `TunnelRoute`, and `TunnelRoutes` for both directions of a tunnel at once.
 *
 * @packageDocumentation
 */
import * as pulumi from "@pulumi/pulumi";
import type { HostKeyOrigin } from "../providers/hostKeys";
import type { RouteTunnel, TunnelRouteDeclaration } from "../model/routerResources";
import type { Connection, ConnectionCredentials } from "../model/connection";
import { sealedConnection, withSecretConnection } from "./connectionArgs";
import type { Inputs } from "./inputs";
import type { GreTunnel } from "./greTunnel";
import { runtimeProvider } from "./runtimeProvider";

export type { RouteTunnel };

/** The arguments of a {@link TunnelRoute}: its declaration, with every field an `Input`. */
export type TunnelRouteArgs = Inputs<TunnelRouteDeclaration>;

/** The route found in a route's slot (destination, table, metric), whoever made it. */
export interface FoundRoute {
  /** Its next hop (`via`); null without one. */
  gateway: string | null;
  /** Its device (`dev`). */
  device: string | null;
  /** Its route protocol: 176 is pulumi-gre's, others someone else's (4 static, 3 boot, …). */
  protocol: number;
  /** Its preferred source (`src`); null without one. */
  source: string | null;
}

/**
 * A route on one router, as in the by-hand procedure: `ip route add 10.2.1.0/24 via 10.10.10.2` (or
 * `dev gre1`). Routes made by pulumi-gre carry their own protocol number (176), so a route to the
 * same destination that someone else made is never clobbered unless `takeOver` is set. Refresh
 * shows a missing route or another next hop as drift; update repairs it with `ip route replace`.
 * With `tunnel`, check refuses a destination that contains the tunnel's own underlay peer
 * (recursive routing) and a next hop other than the tunnel's peer address.
 *
 * @example
 * ```ts
 * import * as pulumi from "@pulumi/pulumi";
 * import { TunnelRoute } from "pulumi-gre";
 *
 * const config = new pulumi.Config();
 * const routerB = { host: "203.0.113.20", privateKey: config.requireSecret("sshPrivateKey") };
 * export const present = new TunnelRoute("routerB-to-pc1-lan", {
 *   connection: routerB,
 *   destination: "10.2.1.0/24",
 *   via: "10.10.10.2",
 * }).present;
 * ```
 */
export class TunnelRoute extends pulumi.dynamic.Resource {
  /** How the router is reached, without its secrets (those are in `credentials`). */
  declare public readonly connection: pulumi.Output<Connection>;
  /** The connection's secrets (private key, password, passphrase; its jump host's): secret. */
  declare public readonly credentials: pulumi.Output<ConnectionCredentials>;
  /** The destination prefix (the LAN behind the other router). */
  declare public readonly destination: pulumi.Output<string>;
  /** The next hop; with `tunnel`, the tunnel's peer address by default. */
  declare public readonly via: pulumi.Output<string | undefined>;
  /** The device the route goes out of (`dev`), when it names one. */
  declare public readonly device: pulumi.Output<string | undefined>;
  /** The route's metric. */
  declare public readonly metric: pulumi.Output<number>;
  /** The table's number (254 is main). */
  declare public readonly table: pulumi.Output<number>;
  /** The preferred source address (`src`), when given. */
  declare public readonly source: pulumi.Output<string | undefined>;
  /** Whether a route to the same slot that someone else made may be replaced. */
  declare public readonly takeOver: pulumi.Output<boolean>;
  /** Whether a destination may contain the address the router is reached at over SSH. */
  declare public readonly allowCapture: pulumi.Output<boolean>;
  /** Whether the route is brought back at boot without Pulumi. */
  declare public readonly persist: pulumi.Output<boolean>;
  /** The tunnel the route goes through, when it was given one (its checks apply). */
  declare public readonly tunnel: pulumi.Output<RouteTunnel | undefined>;
  /** Whether the route's boot file is there as written; null when persist is off and there is none. */
  declare public readonly persisted: pulumi.Output<boolean | null>;
  /** Whether pulumi-gre's route is there, at the last create, update or refresh. */
  declare public readonly present: pulumi.Output<boolean>;
  /** The route found in the slot, whoever made it; null when the slot is empty. */
  declare public readonly found: pulumi.Output<FoundRoute | null>;
  /** The router's SSH host key, enforced on every later operation. */
  declare public readonly hostKey: pulumi.Output<string>;
  /** Its jump host's key; null without one. */
  declare public readonly jumpHostKey: pulumi.Output<string | null>;
  /** Where `hostKey` came from: "pinned", "first use" or "adopted". */
  declare public readonly hostKeyOrigin: pulumi.Output<HostKeyOrigin>;
  /** How the router differs from the arguments, naming it; empty when it matches. */
  declare public readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: TunnelRouteArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      runtimeProvider("tunnelRouteProvider"),
      name,
      {
        ...args,
        // Its secrets apart, secret however they were given (a plain-string key included); the
        // rest of the connection plain, so that previews name the router.
        ...sealedConnection(args.connection),
        present: undefined,
        persisted: undefined,
        found: undefined,
        hostKey: undefined,
        jumpHostKey: undefined,
        hostKeyOrigin: undefined,
        drift: undefined,
      },
      withSecretConnection(opts),
      "gre",
      "TunnelRoute",
    );
  }
}

/** The LANs behind one end: a list, each prefix an `Input`, or the whole list one. */
export type LanList = pulumi.Input<readonly pulumi.Input<string>[]>;

/** The arguments of {@link TunnelRoutes}: every one an `Input` (a stack reference's output, say). */
export interface TunnelRoutesArgs {
  /** The tunnel the routes go through. */
  tunnel: GreTunnel;
  /**
   * The LANs behind each endpoint, in the tunnel's endpoint order. The router of `endpoints[0]`
   * gets routes to `lans[1]` via the peer's tunnel address, and the other way round.
   */
  lans: pulumi.Input<readonly [LanList, LanList]>;
  /** Names of the two routers, for the routes' resource names; default end0 and end1. */
  routers?: pulumi.Input<readonly [pulumi.Input<string>, pulumi.Input<string>]>;
  /** The routes' metric (TunnelRoute's default when left out). */
  metric?: pulumi.Input<number>;
  /** The routing table, by number or `"main"` (the default). */
  table?: pulumi.Input<number | "main">;
  /** Bring the routes back at boot; default: as the tunnel does (its `persist`). */
  persist?: pulumi.Input<boolean>;
}

/**
 * Routes both ways through a tunnel, so a stack says it once: each router reaches the LANs behind
 * the other, through its own end's interface. The routes come after the tunnel is up and go
 * before it is removed.
 *
 * A route is a resource per LAN, named `NAME-ROUTER-PREFIX` (`10.2.1.0/24` as `10.2.1.0_24`), so
 * the routes are declared once `lans` and `routers` are known. Plain values and a stack
 * reference's outputs are known in a preview, and the preview lists every route; a value that
 * only exists once another resource is created (unknown in a preview) leaves the routes out of
 * the preview, and `up` creates them.
 *
 * @example
 * ```ts
 * import * as pulumi from "@pulumi/pulumi";
 * import { GreTunnel, TunnelRoutes } from "pulumi-gre";
 *
 * const config = new pulumi.Config();
 * const key = config.requireSecret("sshPrivateKey");
 * const tunnel = new GreTunnel("gre1", {
 *   name: "gre1",
 *   key: 1,
 *   endpoints: [
 *     { connection: { host: "203.0.113.10", privateKey: key }, local: "198.51.100.10", address: "10.10.10.2" },
 *     { connection: { host: "203.0.113.20", privateKey: key }, local: "198.51.100.20", address: "10.10.10.1" },
 *   ],
 * });
 * // The branch's LANs as another stack publishes them.
 * const branch = new pulumi.StackReference("acme/branch-office/prod");
 * new TunnelRoutes("gre1-routes", {
 *   tunnel,
 *   lans: [["10.1.1.0/24"], branch.getOutput("lans") as pulumi.Output<string[]>],
 *   routers: ["hq", "branch"],
 * });
 * ```
 */
export class TunnelRoutes extends pulumi.ComponentResource {
  /** One route per LAN, on the router that does not have that LAN (once `lans` is known). */
  public readonly routes: pulumi.Output<TunnelRoute[]>;

  constructor(name: string, args: TunnelRoutesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gre:index:TunnelRoutes", name, {}, opts);
    const { tunnel } = args;
    const through = (i: 0 | 1) =>
      pulumi.all([tunnel.name, tunnel.endpoints]).apply(([tunnelName, endpoints]): RouteTunnel => {
        const e = endpoints[i];
        if (e.address === undefined || e.peerAddress === undefined) {
          throw new Error(
            `${name}: ${tunnelName} has no tunnel addresses (a bridged end): nothing is routed through a bridged tunnel, its LAN spans it`,
          );
        }
        return {
          // This router's own interface name, when its end has one.
          name: e.name ?? tunnelName,
          local: e.local,
          remote: e.remote,
          address: e.address,
          peerAddress: e.peerAddress,
        };
      });
    const tunnels = [through(0), through(1)] as const;
    this.routes = pulumi
      .all([pulumi.output(args.lans), pulumi.output(args.routers)])
      .apply(([lans, routers]) =>
        ([0, 1] as const).flatMap((i) =>
          lans[1 - i].map(
            (destination) =>
              new TunnelRoute(
                `${name}-${routers?.[i] ?? `end${i}`}-${destination.replace("/", "_")}`,
                {
                  // The router's connection as the program gave it to the tunnel (its credentials included).
                  connection: tunnel.connections.apply((connections) => connections[i]),
                  destination,
                  tunnel: tunnels[i],
                  metric: args.metric,
                  table: args.table,
                  persist: args.persist ?? tunnel.persist,
                },
                { parent: this, dependsOn: [tunnel] },
              ),
          ),
        ),
      );
    this.registerOutputs({});
  }
}
