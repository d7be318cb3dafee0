/**
 * What pulumi-gre changed on a router, remembered on the router itself, in `/run` (which a reboot
 * clears, as it clears what was changed): a module it loaded and what was loaded before, a sysctl
 * it set and the value it found. A run killed between a change and its record in the state leaves
 * these behind, so the next run still knows the change was pulumi-gre's — and destroy still puts
 * the router back as it was. Pure: paths and commands.
 *
 * @packageDocumentation
 */
import type { RemoteCommand } from "../../model/command";
import { readFileCommand, removeFile, writeFile } from "./bootFile";
import { moduleName } from "../modprobe/kernelModule";
import { sysctlFileWord } from "../sysctl/sysctl";

/** Where the markers live: cleared by a reboot, like the changes they stand for. */
export const OWNERSHIP_DIR = "/run/pulumi-gre";

/** The marker of a module pulumi-gre loaded: the modules that were loaded before it. */
export function moduleMarker(name: string): string {
  return `${OWNERSHIP_DIR}/module-${moduleName(name)}.loaded-before`;
}

/** The marker of a sysctl pulumi-gre set: the value it found. */
export function sysctlMarker(key: string): string {
  return `${OWNERSHIP_DIR}/sysctl-${sysctlFileWord(key)}.original`;
}

/** Commands that write a marker (making its folder first). */
export function writeMarker(path: string, content: string): RemoteCommand[] {
  return [{ argv: ["mkdir", "-p", OWNERSHIP_DIR] }, writeFile(path, content)];
}

/** Reads a marker (fails when there is none). */
export function readMarker(path: string): RemoteCommand {
  return { ...readFileCommand(path), mayFail: true };
}

/** Removes a marker. */
export function removeMarker(path: string): RemoteCommand {
  return removeFile(path);
}
