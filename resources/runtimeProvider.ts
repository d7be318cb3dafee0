/**
 * The provider a resource hands to Pulumi: the whole export of its module under
 * `pulumi-gre/provider-runtime/…`, the package's stable entry points for serialized code.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";
import greTunnelProvider = require("../providers/serialized/greTunnel");
import kernelModuleProvider = require("../providers/serialized/kernelModule");
import sysctlProvider = require("../providers/serialized/sysctl");
import tunnelRouteProvider = require("../providers/serialized/tunnelRoute");

/**
 * Each provider is the `module.exports` of its own module (imported with `require`, not `import *`,
 * which would copy it): Pulumi's closure serializer writes a value that is a module's export as a
 * `require` of that module, by the name the package exports it under. From an installed package a
 * state's `__provider` is then about 250 bytes (`require("pulumi-gre/provider-runtime/gre-tunnel")`)
 * instead of the 2.4 KB the seven methods took as closures; Pulumi sends it twice with every read,
 * diff and check, and keeps it twice per resource in the state. A state written by one version is
 * refreshed, updated and destroyed by the next through the same name. States written by 0.3.0 and
 * earlier require `pulumi-gre/provider-runtime` itself, which keeps its named providers.
 */
const providers = {
  greTunnelProvider,
  kernelModuleProvider,
  sysctlProvider,
  tunnelRouteProvider,
};

/** The providers by name. */
export type RuntimeProviderName = keyof typeof providers;

/**
 * The provider of `name`, the same object every call: Pulumi serializes a dynamic provider once per
 * object (it caches by identity), so a fleet of 1,000 resources costs four serializations.
 *
 * @internal
 */
export function runtimeProvider(name: RuntimeProviderName): pulumi.dynamic.ResourceProvider {
  return providers[name] as pulumi.dynamic.ResourceProvider;
}
