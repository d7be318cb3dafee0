/**
 * The lab's files under `.lab/` (git-ignored): its SSH key and authorized_keys, each router's host
 * key, console log and persisted configuration, the known_hosts of all routers, and the inventory.
 *
 * @packageDocumentation
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import * as path from "path";
import { prepareBootFlavour } from "./bootFlavours";
import { runHost } from "./hostNetwork";
import { addressOf, type RouterPlan } from "./topology";

/** Where one checkout's lab lives. */
export interface LabPaths {
  root: string;
  dir: string;
  key: string;
  authorizedKeys: string;
  knownHosts: string;
  inventory: string;
  routers: string;
  umlDir: string;
  init: string;
}

/** The files of the lab of the checkout at `root`. */
export function labPaths(root: string): LabPaths {
  const dir = path.join(root, ".lab");
  return {
    root,
    dir,
    key: path.join(dir, "id_ed25519"),
    authorizedKeys: path.join(dir, "authorized_keys"),
    knownHosts: path.join(dir, "known_hosts"),
    inventory: path.join(dir, "inventory.json"),
    routers: path.join(dir, "routers"),
    umlDir: path.join(dir, "uml"),
    init: path.join(root, "lab", "router-init.sh"),
  };
}

/** Router `name`'s folder: host key, console log, boot record, persisted configuration. */
export function routerDir(paths: LabPaths, name: string): string {
  return path.join(paths.routers, name);
}

/** Router `name`'s host public key, as a known_hosts/authorized_keys line's key part. */
export function routerHostPublicKey(paths: LabPaths, name: string): string {
  return readFileSync(path.join(routerDir(paths, name), "ssh_host_ed25519_key.pub"), "utf8")
    .trim()
    .split(" ")
    .slice(0, 2)
    .join(" ");
}

/**
 * Makes the lab's key (once), fresh router folders with their persisted configuration, and a host
 * key per router, listed in the lab's known_hosts.
 */
export function prepareLabFiles(paths: LabPaths, namespace: string, plans: RouterPlan[]): void {
  mkdirSync(paths.dir, { recursive: true });
  if (!existsSync(paths.key)) {
    runHost(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `lab ${namespace}`, "-f", paths.key]);
  }
  writeFileSync(paths.authorizedKeys, readFileSync(`${paths.key}.pub`));
  rmSync(paths.routers, { recursive: true, force: true });
  rmSync(paths.umlDir, { recursive: true, force: true });
  mkdirSync(paths.umlDir, { recursive: true });
  const knownHosts: string[] = [];
  for (const plan of plans) {
    const dir = routerDir(paths, plan.name);
    mkdirSync(path.join(dir, "persist", "modules-load.d"), { recursive: true });
    mkdirSync(path.join(dir, "persist", "sysctl.d"), { recursive: true });
    mkdirSync(path.join(dir, "persist", "systemd-network"), { recursive: true });
    prepareBootFlavour(path.join(dir, "persist"), plan.boot);
    const hostKey = path.join(dir, "ssh_host_ed25519_key");
    runHost(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", plan.name, "-f", hostKey]);
    chmodSync(hostKey, 0o600);
    knownHosts.push(`${addressOf(plan.management)} ${routerHostPublicKey(paths, plan.name)}`);
  }
  writeFileSync(paths.knownHosts, knownHosts.join("\n") + "\n");
}

/** Removes what a running lab keeps (the lab's key stays for the next `up`). */
export function removeLabFiles(paths: LabPaths): void {
  rmSync(paths.routers, { recursive: true, force: true });
  rmSync(paths.umlDir, { recursive: true, force: true });
  rmSync(paths.inventory, { force: true });
  rmSync(paths.knownHosts, { force: true });
}
