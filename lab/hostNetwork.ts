/**
 * The lab's side of the host: its network namespace with a management and an underlay bridge and
 * one TAP device per router per bridge, and the link that lets `modprobe` inside a router find the
 * user-mode Linux modules. Nothing of the lab routes out of its namespace.
 *
 * @packageDocumentation
 */
import { execFileSync, spawnSync } from "child_process";
import { existsSync, mkdirSync, readdirSync } from "fs";
import * as path from "path";
import { commandLine } from "../transport/script";
import { LabError } from "./labError";
import { MANAGEMENT_GATEWAY, type RouterPlan } from "./topology";

/** Where Debian's user-mode-linux package puts the routers' kernel modules. */
const UML_MODULES = "/usr/lib/uml/modules";

/** Runs a host command, throwing with its stderr when it fails; returns its stdout. */
export function runHost(argv: string[]): string {
  const result = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
  if (result.status !== 0) {
    throw new LabError(
      `\`${commandLine(argv)}\` failed (status ${result.status}): ${(result.stderr || result.error?.message || "").trim()}`,
    );
  }
  return result.stdout;
}

/** Whether the network namespace `namespace` exists. */
export function namespaceExists(namespace: string): boolean {
  const out = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
  return out.stdout.split("\n").some((line) => line.split(" ")[0] === namespace);
}

/** The routers' `modprobe` looks in /lib/modules/<uml version>, which the host lacks: link it there. */
export function linkRouterModules(): void {
  const versions = existsSync(UML_MODULES) ? readdirSync(UML_MODULES) : [];
  if (versions.length === 0)
    throw new LabError(`no user-mode Linux modules under ${UML_MODULES} (apt-get install user-mode-linux)`);
  mkdirSync("/lib/modules", { recursive: true });
  for (const version of versions) {
    const link = path.join("/lib/modules", version);
    // Harmless to the host: its own kernel has another version.
    if (!existsSync(link)) execFileSync("ln", ["-sfn", path.join(UML_MODULES, version), link]);
  }
}

/** Creates the namespace, its bridges and a management and an underlay TAP device per router. */
export function createLabNetwork(namespace: string, plans: RouterPlan[]): void {
  runHost(["ip", "netns", "add", namespace]);
  const inNs = (argv: string[]) => runHost(["ip", "netns", "exec", namespace, ...argv]);
  inNs(["ip", "link", "set", "lo", "up"]);
  inNs(["ip", "link", "add", "brmgmt", "type", "bridge"]);
  inNs(["ip", "link", "add", "brunder", "type", "bridge"]);
  // The private segment behind a NAT router (`up --nat`).
  const nat = plans.some((p) => p.privateTap);
  if (nat) inNs(["ip", "link", "add", "brnat", "type", "bridge"]);
  inNs(["ip", "addr", "add", MANAGEMENT_GATEWAY, "dev", "brmgmt"]);
  for (const plan of plans) {
    for (const [tap, bridge] of [
      [plan.managementTap, "brmgmt"],
      [plan.underlayTap, plan.underlayBridge ?? "brunder"],
      ...(plan.privateTap ? [[plan.privateTap, "brnat"]] : []),
    ]) {
      inNs(["ip", "tuntap", "add", "dev", tap, "mode", "tap"]);
      inNs(["ip", "link", "set", tap, "master", bridge, "up"]);
    }
  }
  for (const bridge of ["brmgmt", "brunder", ...(nat ? ["brnat"] : [])])
    inNs(["ip", "link", "set", bridge, "up"]);
}

/**
 * Sets the MTU of the underlay between the routers (each router's underlay port on the host's
 * bridge), as a WAN hop with a smaller MTU: the bridge drops larger frames without a word, so a
 * path MTU black hole is what the routers see.
 */
export function setUnderlayMtu(namespace: string, taps: string[], mtu: number): void {
  for (const tap of taps) runHost(["ip", "-n", namespace, "link", "set", "dev", tap, "mtu", String(mtu)]);
}

/** Deletes the namespace (its taps and bridges go with it). */
export function deleteLabNetwork(namespace: string): void {
  if (namespaceExists(namespace)) runHost(["ip", "netns", "del", namespace]);
}
