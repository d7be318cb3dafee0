/**
 * SSH key pairs for test servers and simulated routers, made by OpenSSH's ssh-keygen as users make
 * theirs (ssh2's own generator now and then writes a public key its parser rejects).
 *
 * @packageDocumentation
 */
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

/** A fresh ed25519 key pair: the private key file's text and the public key line. */
export function generateKeyPair(): { private: string; public: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "gre-key-"));
  try {
    const file = path.join(dir, "key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file]);
    return { private: readFileSync(file, "utf8"), public: readFileSync(`${file}.pub`, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
