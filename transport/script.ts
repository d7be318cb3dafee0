/**
 * Pure helpers of the transport: quoting argv for a POSIX shell, and framing several commands into
 * one remote script so that one SSH round trip returns each command's exit status, stdout and
 * stderr separately. No I/O here; `ssh.ts` sends what this builds.
 *
 * @packageDocumentation
 */
import type { CommandOutcome, RemoteCommand } from "../model/command";

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one argument for a POSIX shell. Words made only of characters no shell treats specially
 * are left bare (so logs stay readable); everything else is single-quoted, with embedded single
 * quotes written as `'\''`. No input ever reaches a shell unquoted.
 */
export function shellQuote(arg: string): string {
  if (arg.length > 0 && SAFE_WORD.test(arg)) {
    return arg;
  }
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Quotes an argv array into one shell command line. */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) {
    throw new Error("a remote command needs at least a program name");
  }
  return argv.map(shellQuote).join(" ");
}

/** A command as a line of a script a boot hook runs: quoted, and one allowed to fail says so. */
export function scriptLine(command: RemoteCommand): string {
  return `${commandLine(command.argv)}${command.mayFail ? " || true" : ""}`;
}

/** The marker before the exec's process group id, first thing on stdout. */
function pgidMarker(nonce: string): string {
  return `@@${nonce}:pgid@@`;
}

/** The process group id a framed stdout starts with, if the router reported one. */
export function parseProcessGroup(nonce: string, stdout: string): number | undefined {
  const prefix = `${pgidMarker(nonce)} `;
  if (!stdout.startsWith(prefix)) return undefined;
  const value = Number.parseInt(stdout.slice(prefix.length, stdout.indexOf("\n")), 10);
  return Number.isInteger(value) && value > 1 ? value : undefined;
}

/** The marker that ends command `index` in a framed stream. */
function marker(nonce: string, index: number): string {
  return `@@${nonce}:${index}@@`;
}

/** The framing after command `index`: its status on stdout, a marker on stderr (to `out`/`err` when given). */
function endFraming(nonce: string, index: number, out = "", err = " >&2"): string {
  const end = marker(nonce, index);
  return `r=$?; printf '\\n%s %s\\n' '${end}' "$r"${out}; printf '\\n%s\\n' '${end}'${err}`;
}

/** Whether `command` may run alongside others (see {@link RemoteCommand.concurrent}). */
function runsConcurrently(command: RemoteCommand): boolean {
  return (
    command.concurrent === true &&
    command.mayFail === true &&
    command.stdin === undefined &&
    command.secretInput === undefined
  );
}

/** Where the trailing run of concurrent commands starts (`commands.length` when there is none of two or more). */
export function concurrentTail(commands: readonly RemoteCommand[]): number {
  let start = commands.length;
  while (start > 0 && runsConcurrently(commands[start - 1])) start--;
  return commands.length - start >= 2 ? start : commands.length;
}

/** At most this many concurrent commands run at once (a small router's memory and process table). */
export const CONCURRENT_AT_ONCE = 32;

/**
 * The trailing concurrent commands: each in the background with its output and framing in files of
 * a temporary folder ({@link CONCURRENT_AT_ONCE} at a time), then all of them printed in order, as if
 * they had run one after another. Where no temporary folder can be made, they run one after another.
 */
function concurrentLines(commands: readonly RemoteCommand[], from: number, nonce: string): string[] {
  const indexes = commands.map((_, i) => i).filter((i) => i >= from);
  const file = (i: number, kind: "o" | "e") => `"$t/${i}.${kind}"`;
  return [
    "if t=$(mktemp -d 2>/dev/null); then",
    ...indexes.flatMap((i, k) => [
      `( ${commandLine(commands[i].argv)} </dev/null >${file(i, "o")} 2>${file(i, "e")}; ` +
        `${endFraming(nonce, i, ` >>${file(i, "o")}`, ` >>${file(i, "e")}`)} ) &`,
      ...((k + 1) % CONCURRENT_AT_ONCE === 0 ? ["wait"] : []),
    ]),
    "wait",
    `cat ${indexes.map((i) => file(i, "o")).join(" ")}`,
    `cat ${indexes.map((i) => file(i, "e")).join(" ")} >&2`,
    'rm -rf "$t"',
    "else",
    ...indexes.flatMap((i) => [`${commandLine(commands[i].argv)} </dev/null`, endFraming(nonce, i)]),
    "fi",
  ];
}

/**
 * What a round trip writes to the SSH channel's input: the secret inputs of its commands, in order
 * (each command of them reads its own length: see {@link batchScript}); undefined when none has one.
 */
export function channelInput(commands: readonly RemoteCommand[]): string | undefined {
  const secret = commands.filter((c) => c.secretInput !== undefined);
  return secret.length === 0 ? undefined : secret.map((c) => c.secretInput).join("");
}

/**
 * Builds the script that runs `commands` in order in one round trip. After each command it prints,
 * on both stdout and stderr, a line with a per-call random `nonce` (so no command output can forge
 * it) and, on stdout, the exit status. With `stopOnError` the script exits with the first non-zero
 * status and the later commands do not run. Each command's stdin is `/dev/null` unless it has
 * `stdin`, which is fed through a here-document whose delimiter carries the nonce.
 *
 * With `segmentEnds` (the index after each segment's last command), the commands up to the last end
 * are segments of their own — several requesters' changes in one round trip — and `stopOnError`
 * stops only the segment whose command failed: the next segment runs. The commands after the last
 * end never stop anything (the reads that follow the changes).
 */
export function batchScript(
  commands: readonly RemoteCommand[],
  nonce: string,
  stopOnError: boolean,
  segmentEnds: readonly number[] = [],
): string {
  if (!/^[A-Za-z0-9]{8,}$/.test(nonce)) {
    throw new Error("a batch nonce must be at least 8 letters or digits");
  }
  // First the process group of this exec, from /proc with shell builtins only, so that a round trip
  // that outlives its timeout can be killed whole (sshd gives every exec a session of its own).
  const lines: string[] = [
    `read -r _ _ _ _ g _ </proc/$$/stat 2>/dev/null && printf '%s %s\\n' '${pgidMarker(nonce)}' "$g"`,
  ];
  const segmented = segmentEnds.length > 0;
  const changesEnd = segmented ? segmentEnds[segmentEnds.length - 1] : 0;
  const tail = Math.max(concurrentTail(commands), changesEnd);
  const starts = new Set(segmented ? [0, ...segmentEnds.slice(0, -1)] : []);
  const ends = new Set(segmentEnds);
  commands.slice(0, tail).forEach((command, index) => {
    // A segment is a loop run once, so that `break` leaves it and the next one runs.
    if (starts.has(index)) lines.push("while :; do");
    const line = commandLine(command.argv);
    if (command.secretInput !== undefined) {
      // Its bytes, and only those, from the channel's input (see channelInput).
      lines.push(`head -c ${Buffer.byteLength(command.secretInput)} | ${line}`);
    } else if (command.stdin === undefined) {
      lines.push(`${line} </dev/null`);
    } else {
      const delimiter = `EOF_${nonce}`;
      if (command.stdin.split("\n").includes(delimiter)) {
        throw new Error("command input contains the batch delimiter");
      }
      const body = command.stdin.endsWith("\n") ? command.stdin : `${command.stdin}\n`;
      lines.push(`${line} <<'${delimiter}'\n${body}${delimiter}`);
    }
    lines.push(endFraming(nonce, index));
    const inSegment = index < changesEnd;
    if (stopOnError && !command.mayFail && (!segmented || inSegment)) {
      lines.push(inSegment ? `[ "$r" -eq 0 ] || break` : `[ "$r" -eq 0 ] || exit "$r"`);
    }
    if (ends.has(index + 1)) lines.push("break; done");
  });
  if (tail < commands.length) lines.push(...concurrentLines(commands, tail, nonce));
  return lines.join("\n") + "\n";
}

/**
 * Splits the framed stdout and stderr of a batch back into one outcome per command. Commands whose
 * end marker never came did not run (or their shell died); the last command that started but never
 * finished gets whatever output followed the previous marker.
 */
export function parseBatchOutput(
  commands: readonly RemoteCommand[],
  nonce: string,
  stdout: string,
  stderr: string,
): { outcomes: CommandOutcome[]; trailingStdout: string; trailingStderr: string } {
  let out = stdout;
  const prefix = `${pgidMarker(nonce)} `;
  if (out.startsWith(prefix)) {
    const lineEnd = out.indexOf("\n");
    out = lineEnd < 0 ? "" : out.slice(lineEnd + 1);
  }
  let err = stderr;
  const outcomes: CommandOutcome[] = [];
  for (let index = 0; index < commands.length; index++) {
    const end = marker(nonce, index);
    const outAt = out.indexOf(`\n${end} `);
    const errAt = err.indexOf(`\n${end}\n`);
    if (outAt < 0) {
      outcomes.push({ argv: [...commands[index].argv], ran: false, exitCode: null, stdout: "", stderr: "" });
      continue;
    }
    const statusEnd = out.indexOf("\n", outAt + end.length + 2);
    const statusText = out.slice(outAt + end.length + 2, statusEnd < 0 ? undefined : statusEnd);
    const exitCode = Number.parseInt(statusText, 10);
    outcomes.push({
      argv: [...commands[index].argv],
      ran: true,
      exitCode: Number.isNaN(exitCode) ? null : exitCode,
      stdout: out.slice(0, outAt),
      stderr: errAt < 0 ? err : err.slice(0, errAt),
    });
    out = statusEnd < 0 ? "" : out.slice(statusEnd + 1);
    err = errAt < 0 ? "" : err.slice(errAt + end.length + 2);
  }
  return { outcomes, trailingStdout: out, trailingStderr: err };
}

/**
 * At most this many bytes of script in one round trip, where a script is shared. An exec's command
 * travels in one SSH packet, and the packets every implementation must take are up to 32,768 bytes
 * (RFC 4253, section 6.1; OpenSSH takes more, ssh2-based servers do not): room is left for the
 * framing of the packet and for wrapping the script (`sudo`). A single command larger than this
 * still goes, alone.
 */
export const SCRIPT_BYTES = 24 * 1024;

/** How many bytes {@link batchScript} makes of these commands (its nonce is always 24 characters). */
export function scriptBytes(
  commands: readonly RemoteCommand[],
  stopOnError: boolean,
  segmentEnds: readonly number[] = [],
): number {
  return Buffer.byteLength(batchScript(commands, "0".repeat(24), stopOnError, segmentEnds));
}

/**
 * Splits the commands of a shared read into round trips that can run at once on one connection:
 * the reads with their concurrent probes when these are at most {@link CONCURRENT_AT_ONCE}; with
 * more, the reads alone and each run of that many probes on a channel of its own, so that the reads
 * come back without waiting for the probes. A range whose script would pass {@link SCRIPT_BYTES}
 * (a hub's many distinct reads) is halved until it does not. A hub's refresh probes every tunnel;
 * one script for all of them would grow past what an SSH server and `sh -c` take and run them in
 * waves one after another. Returns `[start, end)` ranges, in order.
 */
export function roundTripRanges(commands: readonly RemoteCommand[]): Array<[number, number]> {
  const tail = concurrentTail(commands);
  const ranges: Array<[number, number]> = [];
  const add = (start: number, end: number): void => {
    if (end - start > 1 && scriptBytes(commands.slice(start, end), false) > SCRIPT_BYTES) {
      const middle = start + Math.floor((end - start) / 2);
      add(start, middle);
      add(middle, end);
    } else ranges.push([start, end]);
  };
  let start = 0;
  let end =
    commands.length - tail > CONCURRENT_AT_ONCE && tail > 0
      ? tail
      : Math.min(commands.length, tail + CONCURRENT_AT_ONCE);
  while (start < commands.length) {
    add(start, end);
    start = end;
    end = Math.min(commands.length, end + CONCURRENT_AT_ONCE);
  }
  return ranges.length ? ranges : [[0, 0]];
}

/**
 * Merges several requests for one router into one command list, each distinct command once, and
 * says where each request's commands ended up (`positions[request][i]`). Concurrent probes go last,
 * so that every requester's probes run together (reads only: their order does not matter).
 */
export function mergeCommands(requests: ReadonlyArray<readonly RemoteCommand[]>): {
  commands: RemoteCommand[];
  positions: number[][];
} {
  const commands: RemoteCommand[] = [];
  const seen = new Map<string, number>();
  const positions = requests.map((request) => request.map(() => -1));
  for (const probes of [false, true]) {
    requests.forEach((request, r) =>
      request.forEach((command, i) => {
        if ((command.concurrent === true) !== probes) return;
        const key = `${commandLine(command.argv)}\u0000${command.stdin ?? ""}`;
        let at = seen.get(key);
        if (at === undefined) {
          at = commands.length;
          seen.set(key, at);
          commands.push(command);
        }
        positions[r][i] = at;
      }),
    );
  }
  return { commands, positions };
}
