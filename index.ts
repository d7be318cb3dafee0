/**
 * pulumi-gre: GRE tunnels between Linux routers as Pulumi resources, converged over SSH.
 *
 * @packageDocumentation
 */
export {
  GreTunnel,
  type GreTunnelArgs,
  type GreEndpointArgs,
  type TunnelEndState,
} from "./resources/greTunnel";
export { KernelModule, type KernelModuleArgs } from "./resources/kernelModule";
export { Sysctl, IpForwarding, type SysctlArgs, type IpForwardingArgs } from "./resources/sysctl";
export {
  TunnelRoute,
  TunnelRoutes,
  type TunnelRouteArgs,
  type TunnelRoutesArgs,
  type RouteTunnel,
} from "./resources/tunnelRoute";
export type { Connection, ProxyConnection } from "./transport/connection";
