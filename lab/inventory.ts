/**
 * `.lab/inventory.json`: what a running lab offers, for tests, stacks and people. Written by
 * `npm run lab -- up`, read by everything that talks to lab routers.
 *
 * @packageDocumentation
 */
import { readFileSync, writeFileSync } from "fs";
import * as path from "path";
import { repoRoot } from "../tools/repoRoot";
import { hostKeyFingerprint } from "../transport/connection";
import { type Connection } from "../model/connection";
import { addressOf, type RouterPlan } from "./topology";

/** One lab router, as the inventory lists it. */
export interface InventoryRouter {
  name: string;
  /** Management address (SSH). */
  host: string;
  port: number;
  user: string;
  /** Path of the lab's private key (git-ignored, under `.lab/`). */
  privateKeyPath: string;
  /** ProxyCommand argv that reaches the lab namespace; `%h`/`%p` are host and port. */
  proxyCommand: string[];
  /** The router's SSH host key fingerprint (pin it: `connection.hostKey`). */
  hostKey: string;
  /** Underlay address (no prefix length) and prefix length. */
  underlay: string;
  underlayPrefixLength: number;
  /** The LAN behind the router, the router's address on it, and the PC's address (none for a NAT router). */
  lanPrefix: string;
  lanGateway: string;
  pc: string;
  /** IPv6 next to IPv4: underlay address, LAN, the PC's address (absent on a NAT router and the router behind it). */
  underlay6?: string;
  lan6Prefix?: string;
  pc6?: string;
  /** The L2 PC on the router's bridge br-l2 (`exec ROUTER:l2`): its IPv4 and IPv6 address. */
  l2pc?: string;
  l2pc6?: string;
  /** A field-note router, or the NAT router in front of one (`up --nat`). */
  role: "router" | "nat";
  /** What brings its network up at boot (`lab up --boot`); absent on a NAT router. */
  boot?: string;
  /** For a router behind NAT: the NAT router and the public address GRE reaches it at. */
  behindNat?: { router: string; publicAddress: string };
  /** For a NAT router: the router it forwards GRE to. */
  natFor?: string;
}

/** The whole inventory file. */
export interface Inventory {
  labId: string;
  namespace: string;
  routers: InventoryRouter[];
}

/** Where the lab keeps its files. */
export function labDir(root = repoRoot()): string {
  return path.join(root, ".lab");
}

/** Reads the inventory of the running lab; a clear error when there is none. */
export function readInventory(root = repoRoot()): Inventory {
  const file = path.join(labDir(root), "inventory.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new Error(`no lab inventory at ${file}: start the lab with \`npm run lab -- up\``);
  }
  return JSON.parse(text) as Inventory;
}

/** The router called `name` in `inventory`. */
export function inventoryRouter(inventory: Inventory, name: string): InventoryRouter {
  const router = inventory.routers.find((r) => r.name === name);
  if (!router) {
    throw new Error(
      `the lab has no router ${name} (it has ${inventory.routers.map((r) => r.name).join(", ")})`,
    );
  }
  return router;
}

/** A transport connection to a lab router, with the lab key loaded and its host key pinned. */
export function labConnection(router: InventoryRouter): Connection {
  return {
    name: router.name,
    host: router.host,
    port: router.port,
    user: router.user,
    privateKey: readFileSync(router.privateKeyPath, "utf8"),
    proxyCommand: router.proxyCommand,
    hostKey: router.hostKey,
  };
}

/** Writes the inventory of a lab whose routers `plans` run, each with its host key (`hostPublicKey`). */
export function writeInventory(
  file: string,
  lab: { labId: string; namespace: string; privateKeyPath: string },
  plans: RouterPlan[],
  hostPublicKey: (name: string) => string,
): Inventory {
  const nat = plans.find((p) => p.role === "nat");
  const natted = nat && plans.find((p) => addressOf(p.underlay) === nat.natted);
  const inventory: Inventory = {
    labId: lab.labId,
    namespace: lab.namespace,
    routers: plans.map((plan): InventoryRouter => ({
      name: plan.name,
      host: addressOf(plan.management),
      port: 22,
      user: "root",
      privateKeyPath: lab.privateKeyPath,
      proxyCommand: ["ip", "netns", "exec", lab.namespace, "socat", "-", "TCP:%h:%p"],
      hostKey: hostKeyFingerprint(Buffer.from(hostPublicKey(plan.name).split(" ")[1], "base64")),
      underlay: addressOf(plan.underlay),
      underlayPrefixLength: Number(plan.underlay.split("/")[1]),
      lanPrefix: plan.lanPrefix,
      lanGateway: addressOf(plan.lanGateway),
      pc: addressOf(plan.pc),
      ...(plan.underlay6 ? { underlay6: addressOf(plan.underlay6) } : {}),
      ...(plan.lan6Prefix ? { lan6Prefix: plan.lan6Prefix } : {}),
      ...(plan.pc6 ? { pc6: addressOf(plan.pc6) } : {}),
      ...(plan.l2pc ? { l2pc: addressOf(plan.l2pc) } : {}),
      ...(plan.l2pc6 ? { l2pc6: addressOf(plan.l2pc6) } : {}),
      role: plan.role ?? "router",
      ...(plan.boot ? { boot: plan.boot } : {}),
      ...(nat && plan === natted
        ? { behindNat: { router: nat.name, publicAddress: addressOf(nat.underlay) } }
        : {}),
      ...(plan === nat && natted ? { natFor: natted.name } : {}),
    })),
  };
  writeFileSync(file, JSON.stringify(inventory, null, 2) + "\n");
  return inventory;
}
