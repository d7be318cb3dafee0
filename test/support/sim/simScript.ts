/**
 * How a simulated router reads what the transport sends: the framed script of
 * `transport/script.ts` (`batchScript`) taken apart into its commands, their standard input and
 * whether the script stops after a failing one, and the framed output it expects put together.
 * The inverse of the transport's framing, so the fleet answers exactly as a router's shell would.
 * Pure.
 *
 * @packageDocumentation
 */

/** One command of a framed script. */
export interface ScriptCommand {
  argv: string[];
  stdin?: string;
  /** The script (or, in a segment, the segment) stops when this command fails. */
  stopsOnError: boolean;
  /** The segment it belongs to (several requesters' changes in one script), if any. */
  segment?: number;
  /** Runs alongside the other concurrent commands (in the background, up to 32 at once). */
  concurrent?: boolean;
}

/** A script as received: its nonce (none for a bare command such as a kill) and its commands. */
export interface ReceivedScript {
  nonce?: string;
  commands: ScriptCommand[];
}

/** Splits a command line into words as a POSIX shell does for the quoting `shellQuote` writes. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated quote in ${line}`);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (c === "\\" && i + 1 < line.length) {
      word = (word ?? "") + line[++i];
    } else if (c === " " || c === "\t") {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

const PGID_LINE = /^read -r _ _ _ _ g _ .*'@@([A-Za-z0-9]+):pgid@@'/;

/** Takes a framed script (or a bare command line) apart. */
export function parseScript(text: string): ReceivedScript {
  const lines = text.split("\n");
  const pgid = PGID_LINE.exec(lines[0]);
  if (!pgid) return { commands: [{ argv: shellWords(text.trim()), stopsOnError: false }] };
  const nonce = pgid[1];
  const commands: ScriptCommand[] = [];
  let concurrent: "no" | "together" | "fallback" = "no";
  let segments = 0;
  let segment: number | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === "" || line.startsWith("r=$?;")) continue;
    if (line === "while :; do") {
      segment = segments++;
      continue;
    }
    if (line === "break; done") {
      segment = undefined;
      continue;
    }
    // The concurrent tail: the background form is taken; its one-after-another fallback skipped.
    if (line === "if t=$(mktemp -d 2>/dev/null); then") concurrent = "together";
    else if (line === "else") concurrent = "fallback";
    else if (line === "fi") concurrent = "no";
    if (concurrent === "fallback" || /^(if t=|wait$|cat "\$t\/|rm -rf "\$t"$|fi$)/.test(line)) continue;
    if (concurrent === "together") {
      const job = /^\( (.*) <\/dev\/null >"\$t\/\d+\.o" 2>/.exec(line);
      if (!job) throw new Error(`unexpected concurrent line: ${line}`);
      commands.push({ argv: shellWords(job[1]), stopsOnError: false, concurrent: true });
      continue;
    }
    if (line.startsWith('[ "$r" -eq 0 ]')) {
      commands[commands.length - 1].stopsOnError = true;
      continue;
    }
    const here = ` <<'EOF_${nonce}'`;
    if (line.endsWith(here)) {
      const body: string[] = [];
      while (lines[++i] !== `EOF_${nonce}`) body.push(lines[i]);
      commands.push({
        argv: shellWords(line.slice(0, -here.length)),
        stdin: body.join("\n") + "\n",
        stopsOnError: false,
        ...(segment === undefined ? {} : { segment }),
      });
    } else if (line.endsWith(" </dev/null")) {
      commands.push({
        argv: shellWords(line.slice(0, -" </dev/null".length)),
        stopsOnError: false,
        ...(segment === undefined ? {} : { segment }),
      });
    } else {
      throw new Error(`unexpected script line: ${line}`);
    }
  }
  return { nonce, commands };
}

/** What a command printed and its status. */
export interface ScriptResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs a received script's commands with `run` and frames their output as the script's `printf`s
 * would: the process group line, then each command's output and end marker, stopping where the
 * script would. Returns the exec's stdout, stderr and exit status.
 */
export function framedRun(
  script: ReceivedScript,
  run: (command: ScriptCommand) => ScriptResult,
  processGroup: number,
): ScriptResult {
  if (script.nonce === undefined) return run(script.commands[0]);
  let stdout = `@@${script.nonce}:pgid@@ ${processGroup}\n`;
  let stderr = "";
  let stopped: number | undefined;
  for (let index = 0; index < script.commands.length; index++) {
    const command = script.commands[index];
    // The rest of a segment whose command failed does not run (its framing never comes).
    if (command.segment !== undefined && command.segment === stopped) continue;
    const result = run(command);
    const end = `@@${script.nonce}:${index}@@`;
    stdout += `${result.stdout}\n${end} ${result.exitCode}\n`;
    stderr += `${result.stderr}\n${end}\n`;
    if (command.stopsOnError && result.exitCode !== 0) {
      if (command.segment === undefined) return { stdout, stderr, exitCode: result.exitCode };
      stopped = command.segment;
    }
  }
  return { stdout, stderr, exitCode: 0 };
}
