/**
 * Files a router reads at boot (`/etc/modules-load.d`, `/etc/sysctl.d`, …) that a resource owns
 * when it persists what it set: commands to read, write and remove them, and — given what the
 * router has — the changes and the drift that `persist` implies. Pure.
 *
 * @packageDocumentation
 */
import type { RemoteCommand } from "../../model/command";

/** The first line of every boot file of ours that has room for a comment. */
export const WRITTEN_BY =
  "# Written by pulumi-gre: pulumi up rewrites this file and pulumi destroy removes it; edits show as drift.";

/** Where {@link writeFile} writes before it renames: beside the file, under a name no boot reader takes. */
export function temporaryOf(path: string): string {
  return `${path}.pulumi-gre.tmp`;
}

/** The name the writing shell runs under (its `$0`): what a process list shows. */
export const WRITE_FILE_NAME = "pulumi-gre-write-file";

/**
 * Writes stdin to the temporary file, then renames it over the file (one rename: whoever reads the
 * file, a boot included, sees the old content or the new, never a part); a write that fails (a full
 * disk) removes its temporary file and leaves the file as it was. The path arrives as `$1`, never
 * as shell code.
 */
const WRITE_SCRIPT =
  't=$1.pulumi-gre.tmp; cat > "$t" && mv -f -- "$t" "$1" || { s=$?; rm -f -- "$t"; exit "$s"; }';

/**
 * {@link WRITE_SCRIPT} for a file of its own mode (`$2`, as `chmod` reads it): the temporary file
 * is made readable by its owner only and takes the mode before the rename, so the file is never
 * seen with another.
 */
const WRITE_MODE_SCRIPT =
  'umask 077; t=$1.pulumi-gre.tmp; cat > "$t" && chmod -- "$2" "$t" && mv -f -- "$t" "$1" || { s=$?; rm -f -- "$t"; exit "$s"; }';

/** Writes a file from stdin, atomically (see {@link WRITE_SCRIPT}), with `mode` when given (e.g. "0600"). */
export function writeFile(path: string, content: string, mode?: string): RemoteCommand {
  if (mode !== undefined)
    return { argv: ["sh", "-c", WRITE_MODE_SCRIPT, WRITE_FILE_NAME, path, mode], stdin: content };
  return { argv: ["sh", "-c", WRITE_SCRIPT, WRITE_FILE_NAME, path], stdin: content };
}

/**
 * Writes a file that holds a secret (mode 0600, as {@link writeFile}): its content travels as the
 * command's secret input, never in the command line the router's shell or `sudo` logs.
 */
export function writeSecretFile(path: string, content: string): RemoteCommand {
  return { argv: ["sh", "-c", WRITE_MODE_SCRIPT, WRITE_FILE_NAME, path, "0600"], secretInput: content };
}

/** Removes a file if it is there, and the temporary file of a write that was cut off. */
export function removeFile(path: string): RemoteCommand {
  return { argv: ["rm", "-f", "--", path, temporaryOf(path)] };
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
