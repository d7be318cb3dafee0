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
  type ExtrasState,
  type BootFilesState,
  type MssClampState,
  type IpsecState,
  type Firewall,
} from "./resources/greTunnel";
export { TUNNEL_MODES, type GreKey, type IpFamily, type TcpMss, type TunnelMode } from "./model/tunnel";
export type {
  GreEndpointDeclaration,
  GreTunnelDeclaration,
  IpsecDeclaration,
  NormalizedGreEndpoint,
} from "./model/greTunnel";
export type {
  KernelModuleDeclaration,
  SysctlDeclaration,
  TunnelRouteDeclaration,
} from "./model/routerResources";
export type { Inputs, InputValue } from "./resources/inputs";
export { tunnelDrift, tunnelState, type TunnelEndState, type TunnelState } from "./model/endState";
export { KernelModule, type KernelModuleArgs } from "./resources/kernelModule";
export { Sysctl, IpForwarding, type SysctlArgs, type IpForwardingArgs } from "./resources/sysctl";
export {
  TunnelRoute,
  TunnelRoutes,
  type TunnelRouteArgs,
  type TunnelRoutesArgs,
  type RouteTunnel,
  type FoundRoute,
  type LanList,
} from "./resources/tunnelRoute";
export type { ConnectionArgs, ProxyConnectionArgs } from "./resources/connectionArgs";
export type { Connection, ConnectionCredentials, ProxyConnection } from "./model/connection";
