/**
 * Kernel parameters (`sysctl`), such as the forwarding a router needs
 * (`net.ipv4.ip_forward=1`): command builders, value comparison and the persistence file. Pure.
 *
 * @packageDocumentation
 */
import type { RemoteCommand } from "../../model/command";

/** `sysctl -n -- KEY`. */
export function sysctlRead(key: string): RemoteCommand {
  return { argv: ["sysctl", "-n", "--", key] };
}

/** `sysctl -w -- KEY=VALUE`. */
export function sysctlWrite(key: string, value: string): RemoteCommand {
  return { argv: ["sysctl", "-w", "--", `${key}=${value}`] };
}

/** Values compare with their whitespace folded: `4096\t87380` equals `4096 87380`. */
export function sameSysctlValue(a: string, b: string): boolean {
  return normalizeSysctlValue(a) === normalizeSysctlValue(b);
}

/** A value with its whitespace folded, as compared and as written to sysctl.d. */
export function normalizeSysctlValue(value: string): string {
  return value.trim().split(/\s+/).join(" ");
}

/**
 * A sysctl key as part of a file name: `/` (a dot inside an interface name, eth0/100 for eth0.100)
 * written `%`, which no key has — so two keys never share a name (eth0/100 and eth0_100 do not).
 */
export function sysctlFileWord(key: string): string {
  return key.replace(/\//g, "%");
}

/** The sysctl.d file of ours named after `word`. */
const sysctlDFile = (word: string) => `/etc/sysctl.d/90-pulumi-gre-${word}.conf`;

/** The persistence file under /etc/sysctl.d for `key`. */
export function sysctlFile(key: string): string {
  return sysctlDFile(sysctlFileWord(key));
}

/**
 * Where pulumi-gre 0.3 and earlier wrote the file of a key with a `/` (written `_`, a name eth0_100
 * shares): read, and moved, only when what it holds is this key's. Undefined for other keys.
 */
export function legacySysctlFile(key: string): string | undefined {
  return key.includes("/") ? sysctlDFile(key.replace(/\//g, "_")) : undefined;
}

/** Whether a sysctl.d file's content (as read) sets `key`. */
export function setsKey(content: string, key: string): boolean {
  return content.split("\n").some((line) => line.startsWith(`${key} = `));
}

/** Its content, in sysctl.conf syntax. */
export function sysctlFileContent(key: string, value: string): string {
  return `# Managed by pulumi-gre (Sysctl); removed when the resource is deleted.\n${key} = ${normalizeSysctlValue(value)}\n`;
}
