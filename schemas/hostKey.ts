/**
 * A pinned SSH host key, as OpenSSH prints a fingerprint or writes a public key line.
 *
 * @packageDocumentation
 */
import { z } from "zod";

/** A host key pin as `ssh-keygen -lf` prints it. */
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
/** A public key as authorized_keys and `@pulumi/command`'s `hostKey` write it: `ssh-ed25519 AAAA… [comment]`. */
export const PUBLIC_KEY_LINE =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+)\s+([A-Za-z0-9+/]+={0,2})(\s.*)?$/;

/** A pinned SSH host key: its SHA256 fingerprint, or a public key line. */
export function hostKey() {
  return z.string().refine((value) => FINGERPRINT.test(value) || PUBLIC_KEY_LINE.test(value), {
    message:
      "must be an OpenSSH SHA256 fingerprint (SHA256:<43 characters>) or a public key line (ssh-ed25519 AAAA…)",
  });
}
