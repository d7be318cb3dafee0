/**
 * A command for a router and what it did there: the unit every layer passes around (builders make
 * them, providers plan them, the transport runs them). Never a shell string.
 *
 * @packageDocumentation
 */

/** One command to run on a router: an argv array, never a shell string. */
export interface RemoteCommand {
  /** The program and its arguments; each element is quoted on its own. */
  argv: string[];
  /** Text fed to the command's standard input (for `ip -batch -`); none by default. */
  stdin?: string;
  /**
   * Text for the command's standard input that must never be written into the command line the
   * router's shell, `sudo` or a process list sees (a pre-shared key): it travels on the SSH
   * channel's own input, after the script, and the command reads exactly its bytes from there.
   */
  secretInput?: string;
  /** Its failure does not stop a batch that stops on errors (a read, a check). */
  mayFail?: boolean;
  /**
   * A slow probe (a ping) that may run at the same time as the other concurrent commands of its
   * round trip: the trailing run of such commands starts together and the round trip waits for the
   * slowest, instead of their sum. Only for reads without input, whose failure stops nothing.
   */
  concurrent?: boolean;
}

/** What one command did on the router. */
export interface CommandOutcome {
  argv: string[];
  /** Whether the command ran at all (a batch that stops on error skips the rest). */
  ran: boolean;
  /** Exit status; `null` when the command did not run or its shell was killed. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
}
