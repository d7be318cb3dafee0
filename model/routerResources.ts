/**
 * What lives on one router, as declared: a kernel module, a sysctl, a route (and the tunnel it
 * goes through). Written once: the resources' `…Args` are these with every field an `Input`, each
 * provider's schema is checked against them, and its inputs after `check` are derived from them
 * with the defaults written here.
 *
 * @packageDocumentation
 */
import type { Connection } from "./connection";

/** A kernel module a router needs, as declared. */
export interface KernelModuleDeclaration {
  /** How to reach the router. */
  connection: Connection;
  /** The module, as modprobe names it: ip_gre, nf_conntrack, nf_conntrack_proto_gre, … */
  name: string;
  /** Also load it at boot (a file in /etc/modules-load.d, removed on delete). Default false. */
  persist?: boolean;
  /**
   * On delete, unload (rmmod, as the by-hand procedure ends) what this resource loaded — only if it
   * loaded it and nothing uses it. Default false: a module stays loaded.
   */
  unloadOnDelete?: boolean;
}

/** KernelModule's defaults. */
export const KERNEL_MODULE_DEFAULTS = { persist: false, unloadOnDelete: false } as const;

/** KernelModule's inputs after check: defaults filled in. */
export type KernelModuleInputs = Required<KernelModuleDeclaration>;

/** A kernel parameter, as declared. */
export interface SysctlDeclaration {
  /** How to reach the router. */
  connection: Connection;
  /** The parameter, e.g. net.ipv4.ip_forward. */
  key: string;
  /** The value, e.g. 1. */
  value: string | number;
  /** Also write it under /etc/sysctl.d so it survives a reboot (removed on delete). Default false. */
  persist?: boolean;
  /** On delete, put back the value found at create. Default true. */
  restoreOnDelete?: boolean;
  /**
   * Allow a key outside `net.*` (refused by default: a router's network needs only `net.*`, and a
   * key such as kernel.core_pattern or kernel.modprobe changes what the kernel runs as root).
   */
  allowAnyKey?: boolean;
}

/** Sysctl's defaults. */
export const SYSCTL_DEFAULTS = { persist: false, restoreOnDelete: true } as const;

/** Sysctl's inputs after check: defaults filled in, the value as sysctl prints it ("1"). */
export type SysctlInputs = Required<Omit<SysctlDeclaration, "value" | "allowAnyKey">> & {
  value: string;
  /** Present only when true (a state without it reads as before). */
  allowAnyKey?: true;
};

/** The tunnel a route goes through, for the checks that keep routing sane. */
export interface RouteTunnel {
  /** The tunnel interface (gre1). */
  name: string;
  /** This router's underlay address (where the tunnel's own packets leave from). */
  local: string;
  /** The peer's underlay address (where the tunnel's own packets go). */
  remote: string;
  /** This end's tunnel address. */
  address: string;
  /** The peer's tunnel address (the next hop through the tunnel). */
  peerAddress: string;
}

/** A route on one router, as declared. */
export interface TunnelRouteDeclaration {
  /** How to reach the router. */
  connection: Connection;
  /** The destination prefix: the LAN behind the other router (10.2.1.0/24). */
  destination: string;
  /** Next hop (`via`); with `tunnel`, defaults to the tunnel's peer address. */
  via?: string;
  /** Output device (`dev gre1`). */
  device?: string;
  /** Route metric; default 0 (IPv6: 1024, as the kernel gives one). */
  metric?: number;
  /** Routing table: a number or "main" (default). */
  table?: number | "main";
  /** Preferred source address (`src`). */
  source?: string;
  /** Replace a route to the same destination that pulumi-gre did not make. Default false. */
  takeOver?: boolean;
  /**
   * Allow a destination that contains the address this router is reached at over SSH (refused by
   * default: such a route can lock Pulumi out of the router). Default false.
   */
  allowCapture?: boolean;
  /**
   * Bring the route back at boot without Pulumi: a systemd-networkd drop-in of its tunnel's
   * `.network` (so the tunnel must be a GreTunnel with `persist: true`; the route needs `device`
   * or `tunnel`). Default false.
   */
  persist?: boolean;
  /** The tunnel the route goes through: enables the checks against recursive routing and stray next hops. */
  tunnel?: RouteTunnel;
}

/** TunnelRoute's defaults (the metric's depends on the family; the table is main, 254). */
export const TUNNEL_ROUTE_DEFAULTS = { takeOver: false, allowCapture: false, persist: false } as const;

/** TunnelRoute's inputs after check: defaults filled in, the table by number. */
export type TunnelRouteInputs = Omit<
  TunnelRouteDeclaration,
  "metric" | "table" | keyof typeof TUNNEL_ROUTE_DEFAULTS
> & {
  metric: number;
  table: number;
  takeOver: boolean;
  allowCapture: boolean;
  persist: boolean;
};
