/**
 * The provider a resource hands to Pulumi: every call goes to the named provider of
 * `pulumi-gre/provider-runtime`, the package's one stable entry point for serialized code.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";
import * as providerRuntime from "../providers/runtime";

/** The providers of `pulumi-gre/provider-runtime`, by name. */
export type RuntimeProviderName = keyof typeof providerRuntime;

/**
 * A provider whose methods call `pulumi-gre/provider-runtime`'s provider `name`. Serialized from an
 * installed package, it captures only `require("pulumi-gre/provider-runtime")` and the name: a
 * state written by one version is refreshed, updated and destroyed by the next.
 *
 * @internal
 */
export function runtimeProvider(name: RuntimeProviderName): pulumi.dynamic.ResourceProvider {
  // One object per provider name: Pulumi serializes a dynamic provider once per object (it caches
  // by identity), so a fleet of 1,000 resources costs four serializations, not 1,000.
  let provider = madeProviders.get(name);
  if (!provider) {
    provider = newRuntimeProvider(name);
    madeProviders.set(name, provider);
  }
  return provider;
}

/** The providers made so far in this program, by name (the serialized methods never refer to it). */
const madeProviders = new Map<RuntimeProviderName, pulumi.dynamic.ResourceProvider>();

function newRuntimeProvider(name: RuntimeProviderName): pulumi.dynamic.ResourceProvider {
  return {
    // The stack's configuration (which routers are decommissioned), once per provider host.
    configure: async (req) => {
      await providerRuntime[name].configure?.(req);
    },
    check: (olds, news) => providerRuntime[name].check!(olds, news),
    diff: (id, olds, news) => providerRuntime[name].diff!(id, olds, news),
    create: (inputs) => providerRuntime[name].create(inputs),
    read: (id, props) => providerRuntime[name].read!(id, props),
    update: (id, olds, news) => providerRuntime[name].update!(id, olds, news),
    delete: (id, props) => providerRuntime[name].delete!(id, props),
  };
}
