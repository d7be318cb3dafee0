/**
 * Config secrets as Pulumi's passphrase secrets provider keeps them (pkg/secrets/passphrase,
 * sdk/go/common/resource/config/crypt.go): the stack file's `encryptionsalt` is
 * `v1:SALT:v1:NONCE:CIPHERTEXT`, the word "pulumi" encrypted to check the passphrase; each
 * `secure:` value is `v1:NONCE:CIPHERTEXT`, AES-256-GCM under a key made from the passphrase by
 * PBKDF2-SHA256 (1,000,000 rounds, 8-byte salt). The passphrase comes from
 * PULUMI_CONFIG_PASSPHRASE or the file PULUMI_CONFIG_PASSPHRASE_FILE names, as Pulumi reads it.
 * `config set [--secret]` edits the stack file and keeps its comments.
 */
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from "crypto";
import { existsSync, readFileSync, writeFileSync } from "fs";
import * as path from "path";
import { parseDocument } from "yaml";

/** Encrypts and decrypts `secure:` values of one stack. */
export interface Crypter {
  encrypt(plain: string): string;
  decrypt(secure: string): string;
}

/** The passphrase, as Pulumi reads it when it does not prompt. */
export function readPassphrase(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) return env.PULUMI_CONFIG_PASSPHRASE;
  const file = env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (file) return readFileSync(path.resolve(file), "utf8").trim();
  throw new Error(
    "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables",
  );
}

function symmetric(key: Buffer): Crypter {
  return {
    encrypt(plain) {
      const nonce = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, nonce);
      const sealed = Buffer.concat([cipher.update(plain, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return `v1:${nonce.toString("base64")}:${sealed.toString("base64")}`;
    },
    decrypt(secure) {
      const [version, nonce, sealed] = secure.split(":");
      if (version !== "v1" || nonce === undefined || sealed === undefined) throw new Error("bad value");
      const bytes = Buffer.from(sealed, "base64");
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64"));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      return Buffer.concat([
        decipher.update(bytes.subarray(0, bytes.length - 16)),
        decipher.final(),
      ]).toString("utf8");
    },
  };
}

function fromSalt(phrase: string, salt: Buffer): Crypter {
  return symmetric(pbkdf2Sync(phrase, salt, 1_000_000, 32, "sha256"));
}

/** The crypter of a stack's `encryptionsalt`; throws "incorrect passphrase" as Pulumi does. */
export function crypterFromState(phrase: string, state: string): Crypter {
  const [version, salt] = state.split(":");
  if (version !== "v1" || salt === undefined) throw new Error("malformed state value");
  const crypter = fromSalt(phrase, Buffer.from(salt, "base64"));
  let check: string | undefined;
  try {
    check = crypter.decrypt(state.split(":").slice(2).join(":"));
  } catch {
    check = undefined;
  }
  if (check !== "pulumi") throw new Error("incorrect passphrase");
  return crypter;
}

/** A new `encryptionsalt` for `phrase`, and its crypter. */
export function newState(phrase: string): { state: string; crypter: Crypter } {
  const salt = randomBytes(8);
  const crypter = fromSalt(phrase, salt);
  return { state: `v1:${salt.toString("base64")}:${crypter.encrypt("pulumi")}`, crypter };
}

/**
 * `config set [--secret] KEY VALUE` on the stack file (made when missing): the key in the
 * project's namespace unless it names one; a secret as `secure:`, the file's salt made first.
 */
export function setConfig(file: string, project: string, key: string, value: string, secret: boolean): void {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const doc = parseDocument(text.trim() === "" ? "config: {}\n" : text);
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
  const fullKey = key.includes(":") ? key : `${project}:${key}`;
  if (secret) {
    const phrase = readPassphrase();
    const salt = doc.get("encryptionsalt");
    let crypter: Crypter;
    if (typeof salt === "string") crypter = crypterFromState(phrase, salt);
    else {
      const made = newState(phrase);
      doc.set("encryptionsalt", made.state);
      crypter = made.crypter;
    }
    doc.setIn(["config", fullKey], doc.createNode({ secure: crypter.encrypt(value) }));
  } else {
    doc.setIn(["config", fullKey], value);
  }
  writeFileSync(file, doc.toString());
}

/**
 * The stack file's config as the program gets it (`namespace:key` to text; objects as JSON), with
 * `secure:` values decrypted (the passphrase asked only when there is one), and which keys were secret.
 */
export function readConfig(
  stackFile: { config?: Record<string, unknown>; encryptionsalt?: unknown },
  project: string,
): { config: Record<string, string>; secretKeys: string[] } {
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  let crypter: Crypter | undefined;
  for (const [key, value] of Object.entries(stackFile.config ?? {})) {
    const fullKey = key.includes(":") ? key : `${project}:${key}`;
    if (typeof value === "object" && value !== null && "secure" in value) {
      if (typeof stackFile.encryptionsalt !== "string")
        throw new Error(`config ${key} is a secure value but the stack file has no encryptionsalt`);
      crypter ??= crypterFromState(readPassphrase(), stackFile.encryptionsalt);
      config[fullKey] = crypter.decrypt(String((value as { secure: unknown }).secure));
      secretKeys.push(fullKey);
      continue;
    }
    config[fullKey] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { config, secretKeys };
}
