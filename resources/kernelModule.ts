/**
 * `KernelModule`: a kernel module a router needs, such as ip_gre.
 *
 * @packageDocumentation
 */
import * as pulumi from "@pulumi/pulumi";
import { kernelModuleProvider } from "../providers/kernelModule";
import type { Connection } from "../transport/connection";

/** The arguments of a {@link KernelModule}. */
export interface KernelModuleArgs {
  /** How to reach the router. */
  connection: pulumi.Input<Connection>;
  /** The module, as modprobe names it: ip_gre, nf_conntrack, nf_conntrack_proto_gre, … */
  name: pulumi.Input<string>;
  /** Also load it at boot (a file in /etc/modules-load.d, removed on delete). Default false. */
  persist?: pulumi.Input<boolean>;
  /**
   * On delete, unload (rmmod, as the field note ends) what this resource loaded — only if it
   * loaded it and nothing uses it. Default false: a module stays loaded.
   */
  unloadOnDelete?: pulumi.Input<boolean>;
}

/**
 * Makes sure a kernel module is available on a router: the field note's
 * `lsmod | grep ip_gre || modprobe ip_gre`. A module built into the kernel counts as available;
 * nf_conntrack_proto_gre and nf_nat_proto_gre, which newer kernels folded into nf_conntrack and
 * nf_nat, mean those. A module that cannot be loaded fails with how to check the kernel
 * (`grep GRE /boot/config-$(uname -r)`). Refresh shows a module lost by a reboot as drift.
 *
 * @example
 * ```ts
 * const gre = new KernelModule("routerA-ip_gre", {
 *   connection: { host: "203.0.113.10", privateKey: config.requireSecret("sshKey") },
 *   name: "ip_gre",
 *   persist: true,
 * });
 * ```
 */
export class KernelModule extends pulumi.dynamic.Resource {
  declare public readonly name: pulumi.Output<string>;
  /** loaded, builtin or not-loaded, at the last create, update or refresh. */
  declare public readonly status: pulumi.Output<"loaded" | "builtin" | "not-loaded">;
  /** The module that provides `name` on this kernel. */
  declare public readonly providedBy: pulumi.Output<string>;
  /** Modules this resource loaded (unloaded on delete when `unloadOnDelete`). */
  declare public readonly loadedByUs: pulumi.Output<string[]>;
  declare public readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: KernelModuleArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      kernelModuleProvider,
      name,
      {
        ...args,
        // Secret in the state's inputs too, however it was given (a plain-string key included).
        connection: pulumi.secret(args.connection),
        status: undefined,
        providedBy: undefined,
        loadedByUs: undefined,
        refcount: undefined,
        persisted: undefined,
        hostKey: undefined,
        jumpHostKey: undefined,
        hostKeyOrigin: undefined,
        drift: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "connection"] },
      "gre",
      "KernelModule",
    );
  }
}
