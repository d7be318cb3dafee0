/**
 * pulumi-gre: GRE tunnels between Linux routers as Pulumi resources, converged over SSH.
 *
 * @packageDocumentation
 */
export {
  GreTunnel,
  type GreTunnelArgs,
  type GreEndpointArgs,
  type GreEndpoint,
  type GreEndState,
  type GreTunnelHealth,
  type HostKeyOrigin,
} from "./resources/greTunnel";
export type { GreKey, TcpMss, TunnelMode } from "./model/tunnel";
export type { TunnelEndState } from "./model/endState";
export { KernelModule, type KernelModuleArgs } from "./resources/kernelModule";
export { Sysctl, IpForwarding, type SysctlArgs, type IpForwardingArgs } from "./resources/sysctl";
export {
  TunnelRoute,
  TunnelRoutes,
  type TunnelRouteArgs,
  type TunnelRoutesArgs,
  type RouteTunnel,
  type FoundRoute,
} from "./resources/tunnelRoute";
export type { ConnectionArgs, ProxyConnectionArgs } from "./resources/connectionArgs";
export type { Connection, ProxyConnection } from "./model/connection";
