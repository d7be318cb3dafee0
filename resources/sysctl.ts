/**
 * `Sysctl` and `IpForwarding`: kernel parameters a router needs.
 *
 * @packageDocumentation
 */
import * as pulumi from "@pulumi/pulumi";
import { sysctlProvider } from "../providers/sysctl";
import type { Connection } from "../transport/connection";

/** The arguments of a {@link Sysctl}. */
export interface SysctlArgs {
  /** How to reach the router. */
  connection: pulumi.Input<Connection>;
  /** The parameter, e.g. net.ipv4.ip_forward. */
  key: pulumi.Input<string>;
  /** The value, e.g. 1. */
  value: pulumi.Input<string | number>;
  /** Also write it under /etc/sysctl.d so it survives a reboot (removed on delete). Default false. */
  persist?: pulumi.Input<boolean>;
  /** On delete, put back the value found at create. Default true. */
  restoreOnDelete?: pulumi.Input<boolean>;
}

/**
 * A kernel parameter on a router (`sysctl -w KEY=VALUE`), read back on refresh (a reboot loses
 * it), optionally persisted, and restored to the value it found when deleted.
 *
 * @example
 * ```ts
 * new Sysctl("routerA-rp_filter", { connection, key: "net.ipv4.conf.all.rp_filter", value: 2 });
 * ```
 */
export class Sysctl extends pulumi.dynamic.Resource {
  declare public readonly key: pulumi.Output<string>;
  declare public readonly value: pulumi.Output<string>;
  /** The value at the last create, update or refresh. */
  declare public readonly current: pulumi.Output<string>;
  /** The value found at create (restored on delete). */
  declare public readonly original: pulumi.Output<string>;
  declare public readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: SysctlArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      sysctlProvider,
      name,
      {
        ...args,
        // Secret in the state's inputs too, however it was given (a plain-string key included).
        connection: pulumi.secret(args.connection),
        current: undefined,
        original: undefined,
        persisted: undefined,
        hostKey: undefined,
        jumpHostKey: undefined,
        hostKeyOrigin: undefined,
        drift: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "connection"] },
      "gre",
      "Sysctl",
    );
  }
}

/** The arguments of an {@link IpForwarding}. */
export interface IpForwardingArgs {
  connection: pulumi.Input<Connection>;
  /** Also enable it at boot. Default false. */
  persist?: pulumi.Input<boolean>;
}

/**
 * IPv4 forwarding on a router (`net.ipv4.ip_forward=1`), which the field note's routes rely on:
 * without it the router does not pass packets between its LAN and the tunnel.
 *
 * @example
 * ```ts
 * new IpForwarding("routerA-forwarding", { connection, persist: true });
 * ```
 */
export class IpForwarding extends Sysctl {
  constructor(name: string, args: IpForwardingArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      name,
      { connection: args.connection, key: "net.ipv4.ip_forward", value: 1, persist: args.persist },
      opts,
    );
  }
}
