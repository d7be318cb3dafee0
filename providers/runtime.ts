/**
 * The one entry point serialized providers reach at run time: `pulumi-gre/provider-runtime`.
 *
 * When a program uses pulumi-gre as an installed package, Pulumi's closure serializer writes each
 * resource's provider into the state as a small function that requires this module by its package
 * name and calls the provider named here. Refresh and destroy of that state later run whatever
 * version is installed then, through this same name. So this module never moves, and its exports
 * keep their names and methods (check, diff, create, read, update, delete) across versions; each
 * provider reads the states earlier versions wrote.
 *
 * @packageDocumentation
 */
export { greTunnelProvider } from "./greTunnel/lifecycle";
export { kernelModuleProvider } from "./oneRouter/kernelModule";
export { sysctlProvider } from "./oneRouter/sysctl";
export { tunnelRouteProvider } from "./oneRouter/tunnelRoute";
