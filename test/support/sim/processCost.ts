/**
 * What a round trip costs a router in processes: the shell, each command that is not a builtin,
 * and the helpers of concurrent probes. The simulated routers charge CPU by it, and the benchmark
 * counts it, so both say the same.
 *
 * @packageDocumentation
 */
import { concurrentTail } from "../../../transport/script";
import { type RemoteCommand } from "../../../model/command";

/** Shell builtins: commands that start no process of their own on the router. */
const BUILTINS = ["test", "[", "printf", "echo", "true", "false", "read", "kill", "cd"];

/**
 * Processes a round trip of `commands` starts on the router: the shell, each non-builtin, and for
 * concurrent probes their temporary folder's mktemp, two cats and rm.
 */
export function processesStarted(commands: readonly RemoteCommand[]): number {
  const concurrent = concurrentTail(commands) < commands.length ? 4 : 0;
  return 1 + concurrent + commands.filter((c) => !BUILTINS.includes(c.argv[0])).length;
}
