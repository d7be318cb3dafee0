/**
 * `Sysctl` and `IpForwarding`: kernel parameters a router needs.
 *
 * @packageDocumentation
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { IpFamily } from "../model/tunnel";
import type { HostKeyOrigin } from "../providers/hostKeys";
import type { Connection, ConnectionCredentials } from "../model/connection";
import type { SysctlDeclaration } from "../model/routerResources";
import { sealedConnection, withSecretConnection } from "./connectionArgs";
import type { Inputs } from "./inputs";
import { runtimeProvider } from "./runtimeProvider";

/** The arguments of a {@link Sysctl}: its declaration, with every field an `Input`. */
export type SysctlArgs = Inputs<SysctlDeclaration>;

/**
 * A kernel parameter on a router (`sysctl -w KEY=VALUE`), read back on refresh (a reboot loses
 * it), optionally persisted, and restored to the value it found when deleted.
 *
 * @example
 * ```ts
 * import * as pulumi from "@pulumi/pulumi";
 * import { Sysctl } from "pulumi-gre";
 *
 * const config = new pulumi.Config();
 * const connection = { host: "203.0.113.10", user: "netops", sudo: true, privateKey: config.requireSecret("sshPrivateKey") };
 * new Sysctl("routerA-rp_filter", { connection, key: "net.ipv4.conf.all.rp_filter", value: 2 });
 * ```
 */
export class Sysctl extends pulumi.dynamic.Resource {
  /** How the router is reached, without its secrets (those are in `credentials`). */
  declare public readonly connection: pulumi.Output<Connection>;
  /** The connection's secrets (private key, password, passphrase; its jump host's): secret. */
  declare public readonly credentials: pulumi.Output<ConnectionCredentials>;
  /** The parameter, as sysctl names it (`net.ipv4.ip_forward`). */
  declare public readonly key: pulumi.Output<string>;
  /** The value wanted, as sysctl prints it. */
  declare public readonly value: pulumi.Output<string>;
  /** Whether it is also set at boot (a file in /etc/sysctl.d). */
  declare public readonly persist: pulumi.Output<boolean>;
  /** Whether delete puts back the value found before create. */
  declare public readonly restoreOnDelete: pulumi.Output<boolean>;
  /** The value at the last create, update or refresh. */
  declare public readonly current: pulumi.Output<string>;
  /** The value found at create (restored on delete). */
  declare public readonly original: pulumi.Output<string>;
  /** Whether the /etc/sysctl.d file is there. */
  declare public readonly persisted: pulumi.Output<boolean>;
  /** The router's SSH host key, enforced on every later operation. */
  declare public readonly hostKey: pulumi.Output<string>;
  /** Its jump host's key; null without one. */
  declare public readonly jumpHostKey: pulumi.Output<string | null>;
  /** Where `hostKey` came from: "pinned", "first use" or "adopted". */
  declare public readonly hostKeyOrigin: pulumi.Output<HostKeyOrigin>;
  /** How the router differs from the arguments, naming it; empty when it matches. */
  declare public readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: SysctlArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      runtimeProvider("sysctlProvider"),
      name,
      {
        ...args,
        // Its secrets apart, secret however they were given (a plain-string key included); the
        // rest of the connection plain, so that previews name the router.
        ...sealedConnection(args.connection),
        current: undefined,
        original: undefined,
        persisted: undefined,
        hostKey: undefined,
        jumpHostKey: undefined,
        hostKeyOrigin: undefined,
        drift: undefined,
      },
      withSecretConnection(opts),
      "gre",
      "Sysctl",
    );
  }
}

/** The sysctl that turns forwarding on, per IP family. */
export const FORWARDING_KEYS: Record<IpFamily, string> = {
  ipv4: "net.ipv4.ip_forward",
  ipv6: "net.ipv6.conf.all.forwarding",
};

/** `families`: one or both IP families, each once. */
const familiesSchema = z
  .array(z.enum(["ipv4", "ipv6"], "must name ipv4 or ipv6 only"))
  .min(1, "must name at least one family")
  .refine((f) => new Set(f).size === f.length, "must name each family once");

/** The arguments of an {@link IpForwarding}: a Sysctl's connection and `persist` (also enabled at boot). */
export type IpForwardingArgs = Inputs<Pick<SysctlDeclaration, "connection" | "persist">> & {
  /**
   * The IP families it enables: `["ipv4"]` (the default), `["ipv6"]` or both. A plain value, not an
   * `Input`: it decides which resources exist (the first family is this resource, a second one its
   * child `NAME-FAMILY`).
   */
  families?: readonly IpFamily[];
};

/**
 * Forwarding on a router, which the tunnel's routes rely on: without it the router does not
 * pass packets between its LAN and the tunnel. IPv4 (`net.ipv4.ip_forward=1`) by default; IPv6
 * (`net.ipv6.conf.all.forwarding=1`) or both with `families`. Each family is a {@link Sysctl}:
 * read back on refresh, persisted with `persist`, restored to the value it found when deleted.
 *
 * @example
 * ```ts
 * import * as pulumi from "@pulumi/pulumi";
 * import { IpForwarding } from "pulumi-gre";
 *
 * const config = new pulumi.Config();
 * new IpForwarding("routerA-forwarding", {
 *   connection: { host: "203.0.113.10", privateKey: config.requireSecret("sshPrivateKey") },
 *   families: ["ipv4", "ipv6"],
 *   persist: true,
 * });
 * ```
 */
export class IpForwarding extends Sysctl {
  /** The Sysctl of each family it enables (this resource for the first, a child for a second). */
  public readonly byFamily: Partial<Record<IpFamily, Sysctl>>;

  constructor(name: string, args: IpForwardingArgs, opts?: pulumi.CustomResourceOptions) {
    const parsed = familiesSchema.safeParse(args.families ?? ["ipv4"]);
    if (!parsed.success)
      throw new Error(`IpForwarding ${name}: families ${parsed.error.issues[0].message} (ipv4, ipv6)`);
    const [first, second] = parsed.data;
    const declaration = (family: IpFamily) => ({
      connection: args.connection,
      key: FORWARDING_KEYS[family],
      value: 1,
      persist: args.persist,
    });
    super(name, declaration(first), opts);
    this.byFamily = { [first]: this };
    if (second !== undefined)
      this.byFamily[second] = new Sysctl(`${name}-${second}`, declaration(second), { parent: this });
  }
}
