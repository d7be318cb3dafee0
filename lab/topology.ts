/**
 * The lab's addressing plan, as pure data. Every address stays off anything real: management on
 * link-local 169.254.100.0/24, the underlay on the documentation range 198.51.100.0/24, and LANs
 * from 10.0.0.0/8 that exist only inside the router kernels. The default two routers mirror the
 * field note: routerA with PC1 on 10.2.1.0/24, routerB with PC2 on 10.1.1.0/24.
 *
 * @packageDocumentation
 */
import type { BootFlavour } from "./bootFlavours";
import { createHash } from "crypto";

/** Most routers one lab boots (letters A–L; about 256 MiB each). */
export const MAX_ROUTERS = 12;

/** One lab router's plan. */
export interface RouterPlan {
  name: string;
  index: number;
  /** Management address (sshd listens here), with prefix length. */
  management: string;
  /** Underlay address (GRE endpoints), with prefix length. */
  underlay: string;
  /** The LAN behind the router. */
  lanPrefix: string;
  /** The router's own address on its LAN, with prefix length. */
  lanGateway: string;
  /** The PC's address on the LAN, with prefix length. */
  pc: string;
  /**
   * IPv6 next to IPv4 (documentation prefix 2001:db8::/32): the underlay address, the LAN, the
   * router's and the PC's address on it. Absent on a NAT router and the router behind it.
   */
  underlay6?: string;
  lan6Prefix?: string;
  lan6Gateway?: string;
  pc6?: string;
  /**
   * The L2 PC: a host on a bridge (`br-l2`) of the router with no route anywhere, so that a gretap
   * joining the bridges of two routers puts two such PCs on one segment (10.99.0.0/24, 2001:db8:99::/64).
   */
  l2pc?: string;
  l2pc6?: string;
  /** Host TAP devices (inside the lab namespace) for the management and underlay NICs. */
  managementTap: string;
  underlayTap: string;
  /** User-mode Linux machine id; unique per checkout. */
  umid: string;
  /** A router of the field note, or the NAT router in front of one (`up --nat`). */
  role: "router" | "nat";
  /** What brings its network up at boot (`up --boot`); a NAT router has none. */
  boot?: BootFlavour;
  /** The host bridge of the underlay NIC: the shared underlay, or the private side of a NAT. */
  underlayBridge: "brunder" | "brnat";
  /** Where the router sends what is not on its own links (a router behind NAT: the NAT). */
  gateway?: string;
  /** A NAT router's private side: its TAP, its address there, and the router it forwards GRE to. */
  privateTap?: string;
  private?: string;
  natted?: string;
}

/** A lab's identity: derived from the checkout's path so that two checkouts never collide. */
export interface LabIdentity {
  id: string;
  namespace: string;
}

/** The lab identity of the checkout at `root` (an absolute, resolved path). */
export function labIdentity(root: string): LabIdentity {
  const id = createHash("sha256").update(root).digest("hex").slice(0, 8);
  return { id, namespace: `grelab-${id}` };
}

/** The management bridge's own address in the lab namespace (where SSH clients come from). */
export const MANAGEMENT_GATEWAY = "169.254.100.1/24";

/** The router name for index 0, 1, 2, …: routerA, routerB, routerC, … */
export function routerName(index: number): string {
  return `router${String.fromCharCode(65 + index)}`;
}

/** The LAN of router `index`: the field note's two first, then 10.3.1.0/24, 10.4.1.0/24, … */
function lanThirdOctets(index: number): [number, number] {
  if (index === 0) return [2, 1];
  if (index === 1) return [1, 1];
  return [index + 1, 1];
}

/** The IPv6 underlay (2001:db8:100::/64): routerA at 2001:db8:100::11, as 198.51.100.11. */
export const UNDERLAY6_PREFIX = "2001:db8:100::";

/** The private side of a NAT (`up --nat`): RFC 6598's shared address space, as carrier-grade NAT uses it. */
export const NAT_PRIVATE = { prefix: "100.64.0.0/24", gateway: "100.64.0.1" };

/** The name of the NAT router in front of `router`: natB for routerB. */
export function natName(router: string): string {
  return `nat${router.replace(/^router/, "")}`;
}

/**
 * Plans `count` routers for the lab `identity`; with `natted`, that router sits behind one more
 * router doing NAT (source NAT out, GRE forwarded in), on a private segment of its own.
 */
export function planLab(identity: LabIdentity, count: number, natted?: string): RouterPlan[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_ROUTERS - (natted ? 1 : 0)) {
    throw new Error(`the lab boots 1 to ${MAX_ROUTERS} routers (the NAT router included), not ${count}`);
  }
  const plans = routerPlans(identity, count);
  if (natted === undefined) return plans;
  const inner = plans.find((p) => p.name === natted);
  if (!inner)
    throw new Error(`--nat names ${natted}, which is not one of ${plans.map((p) => p.name).join(", ")}`);
  const privateAddress = `100.64.0.${11 + inner.index}`;
  // IPv6 needs no NAT: the router behind one (and the NAT router) has IPv4 only.
  for (const key of ["underlay6", "lan6Prefix", "lan6Gateway", "pc6"] as const) delete inner[key];
  Object.assign(inner, {
    underlay: `${privateAddress}/24`,
    underlayBridge: "brnat",
    gateway: NAT_PRIVATE.gateway,
  });
  const index = count;
  const name = natName(natted);
  plans.push({
    name,
    index,
    management: `169.254.100.${11 + index}/24`,
    // Its public side, on the shared underlay: what the other routers send GRE to.
    underlay: `198.51.100.${111 + inner.index}/24`,
    lanPrefix: "",
    lanGateway: "",
    pc: "",
    managementTap: `tm${index}`,
    underlayTap: `tu${index}`,
    umid: `${identity.namespace}-${name}`,
    role: "nat",
    underlayBridge: "brunder",
    privateTap: `tp${index}`,
    private: `${NAT_PRIVATE.gateway}/24`,
    natted: privateAddress,
  });
  return plans;
}

function routerPlans(identity: LabIdentity, count: number): RouterPlan[] {
  return Array.from({ length: count }, (_, index): RouterPlan => {
    const [second, third] = lanThirdOctets(index);
    const lan = `10.${second}.${third}`;
    const lan6 = `2001:db8:${second}:${third}::`;
    return {
      name: routerName(index),
      index,
      management: `169.254.100.${11 + index}/24`,
      underlay: `198.51.100.${11 + index}/24`,
      lanPrefix: `${lan}.0/24`,
      lanGateway: `${lan}.1/24`,
      pc: `${lan}.2/24`,
      underlay6: `${UNDERLAY6_PREFIX}${11 + index}/64`,
      lan6Prefix: `${lan6}/64`,
      lan6Gateway: `${lan6}1/64`,
      pc6: `${lan6}2/64`,
      l2pc: `10.99.0.${1 + index}/24`,
      l2pc6: `2001:db8:99::${1 + index}/64`,
      managementTap: `tm${index}`,
      underlayTap: `tu${index}`,
      umid: `${identity.namespace}-${routerName(index)}`,
      role: "router",
      underlayBridge: "brunder",
    };
  });
}

/** Drops the prefix length: `10.2.1.2/24` → `10.2.1.2`. */
export function addressOf(cidr: string): string {
  return cidr.split("/")[0];
}
