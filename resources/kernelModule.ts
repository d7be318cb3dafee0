/**
 * `KernelModule`: a kernel module a router needs, such as ip_gre.
 *
 * @packageDocumentation
 */
import * as pulumi from "@pulumi/pulumi";
import type { HostKeyOrigin } from "../providers/hostKeys";
import type { Connection, ConnectionCredentials } from "../model/connection";
import type { KernelModuleDeclaration } from "../model/routerResources";
import { sealedConnection, withSecretConnection } from "./connectionArgs";
import type { Inputs } from "./inputs";
import { runtimeProvider } from "./runtimeProvider";

/** The arguments of a {@link KernelModule}: its declaration, with every field an `Input`. */
export type KernelModuleArgs = Inputs<KernelModuleDeclaration>;

/**
 * Makes sure a kernel module is available on a router: the by-hand procedure's
 * `lsmod | grep ip_gre || modprobe ip_gre`. A module built into the kernel counts as available;
 * nf_conntrack_proto_gre and nf_nat_proto_gre, which newer kernels folded into nf_conntrack and
 * nf_nat, mean those. A module that cannot be loaded fails with how to check the kernel
 * (`grep GRE /boot/config-$(uname -r)`). Refresh shows a module lost by a reboot as drift.
 *
 * @example
 * ```ts
 * import * as pulumi from "@pulumi/pulumi";
 * import { KernelModule } from "pulumi-gre";
 *
 * const config = new pulumi.Config();
 * export const status = new KernelModule("routerA-ip_gre", {
 *   connection: { host: "203.0.113.10", privateKey: config.requireSecret("sshPrivateKey") },
 *   name: "ip_gre",
 *   persist: true,
 * }).status;
 * ```
 */
export class KernelModule extends pulumi.dynamic.Resource {
  /** How the router is reached, without its secrets (those are in `credentials`). */
  declare public readonly connection: pulumi.Output<Connection>;
  /** The connection's secrets (private key, password, passphrase; its jump host's): secret. */
  declare public readonly credentials: pulumi.Output<ConnectionCredentials>;
  /** The module, as modprobe names it. */
  declare public readonly name: pulumi.Output<string>;
  /** Whether it is also loaded at boot (a file in /etc/modules-load.d). */
  declare public readonly persist: pulumi.Output<boolean>;
  /** Whether delete unloads what this resource loaded. */
  declare public readonly unloadOnDelete: pulumi.Output<boolean>;
  /** loaded, builtin or not-loaded, at the last create, update or refresh. */
  declare public readonly status: pulumi.Output<"loaded" | "builtin" | "not-loaded">;
  /** The module that provides `name` on this kernel. */
  declare public readonly providedBy: pulumi.Output<string>;
  /** Modules this resource loaded (unloaded on delete when `unloadOnDelete`). */
  declare public readonly loadedByUs: pulumi.Output<string[]>;
  /** Holders of the module (devices, other modules); null when built in or not loaded. */
  declare public readonly refcount: pulumi.Output<number | null>;
  /** Whether the /etc/modules-load.d file is there. */
  declare public readonly persisted: pulumi.Output<boolean>;
  /** The router's SSH host key, enforced on every later operation. */
  declare public readonly hostKey: pulumi.Output<string>;
  /** Its jump host's key; null without one. */
  declare public readonly jumpHostKey: pulumi.Output<string | null>;
  /** Where `hostKey` came from: "pinned", "first use" or "adopted". */
  declare public readonly hostKeyOrigin: pulumi.Output<HostKeyOrigin>;
  /** How the router differs from the arguments, naming it; empty when it matches. */
  declare public readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: KernelModuleArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      runtimeProvider("kernelModuleProvider"),
      name,
      {
        ...args,
        // Its secrets apart, secret however they were given (a plain-string key included); the
        // rest of the connection plain, so that previews name the router.
        ...sealedConnection(args.connection),
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
      withSecretConnection(opts),
      "gre",
      "KernelModule",
    );
  }
}
