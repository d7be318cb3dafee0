/**
 * The entry point that states written by 0.3.0 and earlier reach at run time:
 * `pulumi-gre/provider-runtime`. Newer states require each provider's own module,
 * `pulumi-gre/provider-runtime/gre-tunnel` and the like (`providers/serialized/`).
 *
 * When a program uses pulumi-gre as an installed package, Pulumi's closure serializer writes each
 * resource's provider into the state as a small function that requires a module by its package
 * name. Refresh and destroy of that state later run whatever version is installed then, through
 * this same name. So these modules never move, and their exports keep their names and methods
 * (check, diff, create, read, update, delete) across versions; each provider reads the states
 * earlier versions wrote.
 *
 * @packageDocumentation
 */
export { greTunnelProvider } from "./greTunnel/lifecycle";
export { kernelModuleProvider } from "./oneRouter/kernelModule";
export { sysctlProvider } from "./oneRouter/sysctl";
export { tunnelRouteProvider } from "./oneRouter/tunnelRoute";
