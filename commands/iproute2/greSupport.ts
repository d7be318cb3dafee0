/**
 * Whether a router can hold a tunnel end at all, before anything is changed: GRE (or GRE over
 * IPv6) in its kernel, the bridge a tap end joins, and the local address on the router. Pure.
 *
 * @packageDocumentation
 */
import { underlayFamily, type TunnelMode } from "../../model/tunnel";
import { kindWords, type RouterObservation } from "./planTunnel";
import { modeOf, type TunnelEndSpec } from "./tunnelCommands";

/** What a router without GRE is told. */
export const GRE_UNAVAILABLE = "GRE is not available: the ip_gre module is not loaded";
/** What a router without GRE over IPv6 is told. */
export const GRE6_UNAVAILABLE = "GRE over IPv6 is not available: the ip6_gre module is not loaded";

/** Whether the router's kernel can hold an end of this mode now, and what to say when it cannot. */
export function greSupport(
  mode: TunnelMode,
  router: RouterObservation,
): { available: boolean; module: string; said: string } {
  return underlayFamily(mode) === "ipv6"
    ? { available: router.gre6Available === true, module: "ip6_gre", said: GRE6_UNAVAILABLE }
    : { available: router.greAvailable, module: "ip_gre", said: GRE_UNAVAILABLE };
}

/**
 * Why the router cannot hold this end, for preflight: GRE unavailable, local address not on it.
 * `made`: the end exists already (preflight checked its local address when it was made), so a
 * local address the router no longer has moved or was removed.
 */
export function preflightProblems(spec: TunnelEndSpec, router: RouterObservation, made = false): string[] {
  const problems: string[] = [];
  const support = greSupport(modeOf(spec), router);
  if (!support.available) {
    problems.push(
      `${support.said}. Declare a KernelModule for ${support.module} on this router ` +
        `(or run \`modprobe ${support.module}\`); if modprobe fails, check that the kernel has GRE: grep GRE /boot/config-$(uname -r)`,
    );
  }
  if (spec.bridge !== undefined) {
    const bridge = router.links.find((l) => l.name === spec.bridge);
    if (bridge?.kind !== "bridge") {
      problems.push(
        bridge
          ? `${spec.bridge} is ${kindWords(bridge.kind)}, not a bridge: a ${modeOf(spec)} end joins a bridge`
          : `bridge ${spec.bridge} does not exist on this router: create it (ip link add name ${spec.bridge} type bridge) or name another`,
      );
    }
  }
  const family = underlayFamily(modeOf(spec)) === "ipv6" ? "inet6" : "inet";
  if (!router.addresses.some((a) => a.family === family && a.local === spec.local)) {
    const own = router.addresses
      .filter((a) => a.family === family && a.scope !== "host" && a.scope !== "link")
      .map((a) => `${a.local} on ${a.device}`);
    const has = own.join(", ") || `no ${family === "inet" ? "IPv4" : "IPv6"} address`;
    problems.push(
      made
        ? `${spec.name} starts at ${spec.local}, which is no longer an address of this router (it has ${has}): ` +
            "its underlay address moved or was removed; declare the address it has now (the router's underlay, " +
            "or this end's local) and run `pulumi up`, or give the router its address back"
        : `local ${spec.local} is not an address of this router (it has ${has}). ` +
            "If this router is behind NAT, set local to its own address and the peer's remote to the NAT's public address " +
            "(and the NAT must pass GRE, IP protocol 47, which many cannot)",
    );
  }
  return problems;
}
