/**
 * `ip -batch -`: several `ip` commands for one router in one process (each `ip` process costs a
 * router 50–90 ms of CPU in the lab, more on a small real router). Pure.
 *
 * @packageDocumentation
 */
import type { RemoteCommand } from "../../model/command";

/** Words `ip -batch` reads back exactly: no quoting, comments or whitespace in them. */
const PLAIN_WORD = /^[A-Za-z0-9_.:/@%+-]+$/;

/** Whether the command can go into an `ip -batch` script. */
export function batchable(command: RemoteCommand): boolean {
  return (
    command.argv[0] === "ip" &&
    command.stdin === undefined &&
    !command.mayFail &&
    command.argv.slice(1).every((w) => PLAIN_WORD.test(w)) &&
    !command.argv[1]?.startsWith("-")
  );
}

/** A batch of `ip` commands and the commands it stands for, line by line. */
export interface IpBatch {
  command: RemoteCommand;
  lines: RemoteCommand[];
}

/**
 * Groups runs of consecutive `ip` commands into `ip -batch -` commands (a lone one stays as it is);
 * other commands keep their place. The order of execution does not change.
 */
export function groupIpCommands(commands: readonly RemoteCommand[]): Array<RemoteCommand | IpBatch> {
  const grouped: Array<RemoteCommand | IpBatch> = [];
  let run: RemoteCommand[] = [];
  const flush = () => {
    if (run.length === 1) grouped.push(run[0]);
    else if (run.length > 1) {
      grouped.push({
        command: {
          argv: ["ip", "-batch", "-"],
          stdin: run.map((c) => c.argv.slice(1).join(" ")).join("\n") + "\n",
        },
        lines: run,
      });
    }
    run = [];
  };
  for (const command of commands) {
    if (batchable(command)) run.push(command);
    else {
      flush();
      grouped.push(command);
    }
  }
  flush();
  return grouped;
}

/** Which line of an `ip -batch` failed, from its stderr (`Command failed -:3`), counting from 1. */
export function failedBatchLine(stderr: string): number | undefined {
  const match = /Command failed -:(\d+)/.exec(stderr);
  return match ? Number(match[1]) : undefined;
}

/** What `ip` itself said, without the batch's own line. */
export function batchStderr(stderr: string): string {
  return stderr
    .split("\n")
    .filter((line) => !/^Command failed -:\d+$/.test(line.trim()))
    .join("\n");
}
