/**
 * A stack's lock: while one engine works on a stack, another refuses to, saying who holds it —
 * two engines at once would each undo the other's work. A lock left by an engine that was killed
 * is taken over, with a warning.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "fs";
import { hostname } from "os";
import * as path from "path";

/** Who holds a lock. */
interface Holder {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Locks the stack whose state is `stateFile` for `command`; returns the function that unlocks it.
 * Throws, naming the holder, when another engine holds the lock.
 */
export function lockStack(
  stateFile: string,
  stack: string,
  command: string,
  warn: (line: string) => void,
): () => void {
  const file = `${stateFile}.lock`;
  mkdirSync(path.dirname(file), { recursive: true });
  const me: Holder = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let holder: Holder | undefined;
    try {
      holder = JSON.parse(readFileSync(file, "utf8")) as Holder;
    } catch {
      holder = undefined;
    }
    if (holder && holder.host === me.host && alive(holder.pid))
      throw new Error(
        `the stack ${stack} is locked: \`engine ${holder.command}\` (pid ${holder.pid} on ${holder.host}) has been working on it since ${holder.startedAt}. ` +
          "Wait for it to finish; two runs at once would undo each other's changes",
      );
    if (holder && holder.host !== me.host)
      throw new Error(
        `the stack ${stack} is locked by \`engine ${holder.command}\` on ${holder.host} (pid ${holder.pid}) since ${holder.startedAt}; if that run is gone, remove ${file}`,
      );
    warn(
      `taking over the lock of the stack ${stack}, left by ${holder ? `\`engine ${holder.command}\` (pid ${holder.pid}, since ${holder.startedAt}), which is gone` : "a run that was killed"}`,
    );
    rmSync(file, { force: true });
  }
  throw new Error(`could not lock the stack ${stack} (${file})`);
}
