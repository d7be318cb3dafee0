/**
 * The stand-in engine's state file, `.lab/state/STACK.json`: every resource with its id, inputs,
 * outputs and dependencies, in the order they were created. Secret properties are stored
 * encrypted (AES-256-GCM, with a key kept beside the state, readable by root only), as Pulumi's
 * backends never keep secrets in plain text.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "fs";
import * as path from "path";
import { SECRET_SIG, SECRET_SIG_KEY } from "./monitor";

/** A resource in the state (values in memory are plain; `secret` lists the secret top-level properties). */
export interface StateResource {
  urn: string;
  type: string;
  name: string;
  parent: string;
  custom: boolean;
  id: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  dependencies: string[];
  secretInputs: string[];
  secretOutputs: string[];
}

export interface StackState {
  version: 1;
  project: string;
  stack: string;
  resources: StateResource[];
  outputs: Record<string, unknown>;
  /**
   * Operations under way when the state was last written, as Pulumi's pending operations: a run
   * killed in the middle leaves them, and the next run reports and resolves them.
   */
  pending?: PendingOperation[];
}

/** An operation on a resource that started and had not finished when the state was written. */
export interface PendingOperation {
  urn: string;
  type: string;
  name: string;
  operation: "create" | "update" | "replace" | "delete";
  /** The inputs it was given (what a delete of an interrupted create needs). */
  inputs: Record<string, unknown>;
  /** Which of the inputs were secret (stored encrypted). */
  secretInputs: string[];
  startedAt: string;
}

function keyFile(file: string): string {
  return file.replace(/\.json$/, ".key");
}

function stateKey(file: string): Buffer {
  const kf = keyFile(file);
  if (!existsSync(kf)) {
    mkdirSync(path.dirname(kf), { recursive: true });
    writeFileSync(kf, randomBytes(32).toString("base64"), { mode: 0o600 });
  }
  return Buffer.from(readFileSync(kf, "utf8"), "base64");
}

function encrypt(value: unknown, key: Buffer): Record<string, string> {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  return {
    [SECRET_SIG_KEY]: SECRET_SIG,
    ciphertext: Buffer.concat([iv, cipher.getAuthTag(), data]).toString("base64"),
  };
}

function decrypt(sealed: { ciphertext: string }, key: Buffer): unknown {
  const raw = Buffer.from(sealed.ciphertext, "base64");
  const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8"));
}

/**
 * Sealed property bags by the bag they were sealed from: a checkpoint writes every resource, and
 * most of them did not change since the last one (encrypting each again made checkpoints of a large
 * stack slow).
 */
const sealedBags = new WeakMap<
  Record<string, unknown>,
  { secret: string; sealed: Record<string, unknown> }
>();

function seal(props: Record<string, unknown>, secret: string[], key: Buffer): Record<string, unknown> {
  const known = sealedBags.get(props);
  if (known && known.secret === secret.join("\0")) return known.sealed;
  const sealed = Object.fromEntries(
    Object.entries(props).map(([k, v]) => [k, secret.includes(k) ? encrypt(v, key) : v]),
  );
  sealedBags.set(props, { secret: secret.join("\0"), sealed });
  return sealed;
}

function unseal(props: Record<string, unknown>, key: Buffer): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(props).map(([k, v]) => [
      k,
      typeof v === "object" && v !== null && "ciphertext" in v
        ? decrypt(v as { ciphertext: string }, key)
        : v,
    ]),
  );
}

/** Reads a stack's state; an empty state when there is none yet. */
export function loadState(file: string, project: string, stack: string): StackState {
  if (!existsSync(file)) return { version: 1, project, stack, resources: [], outputs: {} };
  const key = stateKey(file);
  const stored = JSON.parse(readFileSync(file, "utf8")) as StackState;
  return {
    ...stored,
    resources: stored.resources.map((r) => ({
      ...r,
      inputs: unseal(r.inputs, key),
      outputs: unseal(r.outputs, key),
    })),
    pending: (stored.pending ?? []).map((p) => ({ ...p, inputs: unseal(p.inputs, key) })),
  };
}

/** Writes a stack's state, secrets encrypted, atomically. */
export function saveState(file: string, state: StackState): void {
  const key = stateKey(file);
  const stored: StackState = {
    ...state,
    resources: state.resources.map((r) => ({
      ...r,
      inputs: seal(r.inputs, r.secretInputs, key),
      outputs: seal(r.outputs, r.secretOutputs, key),
    })),
    pending: (state.pending ?? []).map((p) => ({ ...p, inputs: seal(p.inputs, p.secretInputs, key) })),
  };
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, JSON.stringify(stored, null, 2) + "\n", { mode: 0o600 });
  renameSync(temporary, file);
  chmodSync(file, 0o600);
}
