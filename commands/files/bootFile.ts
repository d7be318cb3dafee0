/**
 * Files a router reads at boot (`/etc/modules-load.d`, `/etc/sysctl.d`, …) that a resource owns
 * when it persists what it set: commands to read, write and remove them, and — given what the
 * router has — the changes and the drift that `persist` implies. Pure.
 *
 * @packageDocumentation
 */
import type { RemoteCommand } from "../../model/command";

/** Writes a file from stdin (`tee FILE`). */
export function writeFile(path: string, content: string): RemoteCommand {
  return { argv: ["tee", path], stdin: content };
}

/** Removes a file if it is there. */
export function removeFile(path: string): RemoteCommand {
  return { argv: ["rm", "-f", path] };
}

/** Prints a file (fails when it is not there). */
export function readFileCommand(path: string): RemoteCommand {
  return { argv: ["cat", path] };
}

/** A boot file as a resource wants it: where, with what content, and whether it should be there. */
export interface BootFile {
  path: string;
  content: string;
  persist: boolean;
}

/** The changes that make the router's file (its content now, or undefined when absent) as wanted. */
export function bootFileChanges(file: BootFile, current: string | undefined): RemoteCommand[] {
  if (file.persist && current !== file.content) return [writeFile(file.path, file.content)];
  if (!file.persist && current !== undefined) return [removeFile(file.path)];
  return [];
}

/** How the router's file differs from what is wanted, as short phrases; empty when it matches. */
export function bootFileDrift(file: BootFile, current: string | undefined): string[] {
  if (file.persist && current !== file.content)
    return [`${file.path} ${current === undefined ? "is missing" : "differs"}`];
  if (!file.persist && current !== undefined) return [`${file.path} should not be there`];
  return [];
}
