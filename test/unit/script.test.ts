import { execFileSync, spawnSync } from "child_process";
import { readFileSync } from "fs";
import { healthPings } from "../../commands/health/tunnelHealth";
import {
  batchScript,
  commandLine,
  concurrentTail,
  mergeCommands,
  roundTripRanges,
  SCRIPT_BYTES,
  scriptBytes,
  parseBatchOutput,
  parseProcessGroup,
  shellQuote,
} from "../../transport/script";
import { type RemoteCommand } from "../../model/command";
import { framedRun, parseScript } from "../support/sim/simScript";

describe("shellQuote", () => {
  it.each([
    ["gre1", "gre1"],
    ["10.10.10.1/32", "10.10.10.1/32"],
    ["", "''"],
    ["gre1;reboot", "'gre1;reboot'"],
    ["$(id)", "'$(id)'"],
    ["`id`", "'`id`'"],
    ["a b", "'a b'"],
    ["it's", "'it'\\''s'"],
    ["line1\nline2", "'line1\nline2'"],
    ["*", "'*'"],
    ["~root", "'~root'"],
  ])("quotes %j as %s", (input, expected) => {
    expect(shellQuote(input)).toBe(expected);
  });

  it.each([["gre1;reboot"], ["$(id)"], ["`id`"], ["a b\nc"], ["it's"], ["\\"], ["*"], ["$HOME"], ["-n"]])(
    "a real sh receives %j unchanged",
    (arg) => {
      const out = execFileSync("sh", ["-c", `printf '%s' ${shellQuote(arg)}`], { encoding: "utf8" });
      expect(out).toBe(arg);
    },
  );
});

describe("commandLine", () => {
  it("joins quoted words", () => {
    expect(commandLine(["ip", "tunnel", "add", "gre1", "mode", "gre"])).toBe("ip tunnel add gre1 mode gre");
    expect(commandLine(["ip", "link", "show", "dev", "x y"])).toBe("ip link show dev 'x y'");
  });
  it("refuses an empty argv", () => {
    expect(() => commandLine([])).toThrow("a remote command needs at least a program name");
  });
});

describe("batchScript", () => {
  const nonce = "abcdef0123456789";

  it("frames each command with the nonce and stops on error", () => {
    expect(batchScript([{ argv: ["ip", "-j", "link", "show"] }, { argv: ["true"] }], nonce, true)).toBe(
      [
        `read -r _ _ _ _ g _ </proc/$$/stat 2>/dev/null && printf '%s %s\\n' '@@${nonce}:pgid@@' "$g"`,
        "ip -j link show </dev/null",
        `r=$?; printf '\\n%s %s\\n' '@@${nonce}:0@@' "$r"; printf '\\n%s\\n' '@@${nonce}:0@@' >&2`,
        `[ "$r" -eq 0 ] || exit "$r"`,
        "true </dev/null",
        `r=$?; printf '\\n%s %s\\n' '@@${nonce}:1@@' "$r"; printf '\\n%s\\n' '@@${nonce}:1@@' >&2`,
        `[ "$r" -eq 0 ] || exit "$r"`,
        "",
      ].join("\n"),
    );
  });

  it("feeds stdin through a here-document named by the nonce", () => {
    expect(batchScript([{ argv: ["ip", "-batch", "-"], stdin: "link set gre1 up" }], nonce, false)).toBe(
      [
        `read -r _ _ _ _ g _ </proc/$$/stat 2>/dev/null && printf '%s %s\\n' '@@${nonce}:pgid@@' "$g"`,
        `ip -batch - <<'EOF_${nonce}'`,
        "link set gre1 up",
        `EOF_${nonce}`,
        `r=$?; printf '\\n%s %s\\n' '@@${nonce}:0@@' "$r"; printf '\\n%s\\n' '@@${nonce}:0@@' >&2`,
        "",
      ].join("\n"),
    );
  });

  it("refuses a weak nonce and input that contains the delimiter", () => {
    expect(() => batchScript([{ argv: ["true"] }], "x", true)).toThrow(
      "a batch nonce must be at least 8 letters or digits",
    );
    expect(() => batchScript([{ argv: ["cat"], stdin: `a\nEOF_${nonce}\nb` }], nonce, true)).toThrow(
      "command input contains the batch delimiter",
    );
  });
});

describe("batch framing through a real sh", () => {
  const nonce = "0123456789abcdef01234567";
  function run(commands: RemoteCommand[], stopOnError: boolean) {
    const shell = spawnSync("sh", ["-c", batchScript(commands, nonce, stopOnError)], { encoding: "utf8" });
    return { status: shell.status, ...parseBatchOutput(commands, nonce, shell.stdout, shell.stderr) };
  }

  it("splits output, errors and statuses of each command", () => {
    const commands: RemoteCommand[] = [
      { argv: ["printf", "%s", "no newline"] },
      { argv: ["sh", "-c", "echo out; echo err >&2; exit 3"] },
      { argv: ["cat"], stdin: "line one\nline two\n" },
    ];
    const result = run(commands, false);
    expect(result.status).toBe(0);
    expect(result.outcomes).toEqual([
      { argv: commands[0].argv, ran: true, exitCode: 0, stdout: "no newline", stderr: "" },
      { argv: commands[1].argv, ran: true, exitCode: 3, stdout: "out\n", stderr: "err\n" },
      { argv: commands[2].argv, ran: true, exitCode: 0, stdout: "line one\nline two\n", stderr: "" },
    ]);
  });

  it("runs a trailing run of concurrent probes together, their outcomes in order as if run one after another", () => {
    const probe = (seconds: string, text: string, status: number): RemoteCommand => ({
      argv: ["sh", "-c", `sleep ${seconds}; echo ${text}; echo ${text}-err >&2; exit ${status}`],
      mayFail: true,
      concurrent: true,
    });
    const commands: RemoteCommand[] = [
      { argv: ["printf", "%s", "first"] },
      ...Array.from({ length: 40 }, (_, i) => probe(i % 2 ? "0.3" : "0.1", `p${i}`, i % 3)),
    ];
    expect(batchScript(commands, nonce, true)).toContain("mktemp -d");
    const started = Date.now();
    const result = run(commands, true);
    // 40 probes of up to 0.3 s, 32 at a time: two waves, not 8 s one after another.
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.status).toBe(0);
    expect(result.outcomes[0]).toMatchObject({ exitCode: 0, stdout: "first" });
    expect(result.outcomes.slice(1).map((o) => [o.ran, o.exitCode, o.stdout, o.stderr])).toEqual(
      Array.from({ length: 40 }, (_, i) => [true, i % 3, `p${i}\n`, `p${i}-err\n`]),
    );
  });

  it("runs concurrent probes one after another where no temporary folder can be made", () => {
    const commands: RemoteCommand[] = [1, 2].map((i) => ({
      argv: ["echo", `p${i}`],
      mayFail: true,
      concurrent: true,
    }));
    const shell = spawnSync("sh", ["-c", batchScript(commands, nonce, true)], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, TMPDIR: "/nonexistent/folder" },
    });
    const parsed = parseBatchOutput(commands, nonce, shell.stdout, shell.stderr);
    expect(parsed.outcomes.map((o) => [o.exitCode, o.stdout])).toEqual([
      [0, "p1\n"],
      [0, "p2\n"],
    ]);
  });

  it("leaves probes that come before other commands, and lone probes, in sequence", () => {
    const probe: RemoteCommand = { argv: ["ping", "x"], mayFail: true, concurrent: true };
    expect(concurrentTail([probe, { argv: ["true"] }])).toBe(2);
    expect(concurrentTail([{ argv: ["true"] }, probe])).toBe(2);
    expect(concurrentTail([{ argv: ["true"] }, probe, probe])).toBe(1);
    // Only reads without input that may fail run alongside others.
    expect(concurrentTail([probe, { ...probe, mayFail: false }])).toBe(2);
  });

  it("stops at the first failure and marks the rest as not run", () => {
    const commands: RemoteCommand[] = [
      { argv: ["true"] },
      { argv: ["sh", "-c", "echo bad >&2; exit 4"] },
      { argv: ["echo", "never"] },
    ];
    const result = run(commands, true);
    expect(result.status).toBe(4);
    expect(result.outcomes.map((o) => [o.ran, o.exitCode, o.stderr])).toEqual([
      [true, 0, ""],
      [true, 4, "bad\n"],
      [false, null, ""],
    ]);
  });

  it("stops only the failing segment of several requesters' changes; the next segment and the reads run", () => {
    const commands: RemoteCommand[] = [
      // Segment 0: fails at its second change; its third does not run.
      { argv: ["echo", "a1"] },
      { argv: ["sh", "-c", "echo a2 >&2; exit 2"] },
      { argv: ["echo", "a3"] },
      // Segment 1: a change allowed to fail, then one that runs; with input.
      { argv: ["false"], mayFail: true },
      { argv: ["cat"], stdin: "b2\n" },
      // The reads after every segment (they may fail, and never stop anything).
      { argv: ["sh", "-c", "exit 5"], mayFail: true },
      { argv: ["echo", "read"], mayFail: true },
    ];
    const shell = spawnSync("sh", ["-c", batchScript(commands, nonce, true, [3, 5])], { encoding: "utf8" });
    const parsed = parseBatchOutput(commands, nonce, shell.stdout, shell.stderr);
    expect(shell.status).toBe(0);
    expect(parsed.outcomes.map((o) => [o.ran, o.exitCode, o.stdout || o.stderr])).toEqual([
      [true, 0, "a1\n"],
      [true, 2, "a2\n"],
      [false, null, ""],
      [true, 1, ""],
      [true, 0, "b2\n"],
      [true, 5, ""],
      [true, 0, "read\n"],
    ]);
    // The simulated routers read the same script the same way.
    const script = parseScript(batchScript(commands, nonce, true, [3, 5]));
    expect(script.commands.map((c) => [c.segment, c.stopsOnError])).toEqual([
      [0, true],
      [0, true],
      [0, true],
      [1, false],
      [1, true],
      [undefined, false],
      [undefined, false],
    ]);
    const simulated = framedRun(
      script,
      (c) => {
        const r = spawnSync(c.argv[0], c.argv.slice(1), { input: c.stdin ?? "", encoding: "utf8" });
        return { stdout: r.stdout, stderr: r.stderr, exitCode: r.status ?? 1 };
      },
      7,
    );
    expect(parseBatchOutput(commands, nonce, simulated.stdout, simulated.stderr).outcomes).toEqual(
      parsed.outcomes,
    );
  });

  it("starts with the shell's process group, which parsing leaves out of the outputs", () => {
    const shell = spawnSync("sh", ["-c", batchScript([{ argv: ["true"] }], nonce, true)], {
      encoding: "utf8",
    });
    // The child shell stays in this process's group (field 5 of /proc/self/stat).
    const ownGroup = Number(readFileSync("/proc/self/stat", "utf8").split(" ")[4]);
    expect(parseProcessGroup(nonce, shell.stdout)).toBe(ownGroup);
    expect(parseProcessGroup(nonce, "no marker\n")).toBeUndefined();
    expect(parseBatchOutput([{ argv: ["true"] }], nonce, shell.stdout, shell.stderr).outcomes[0].stdout).toBe(
      "",
    );
  });

  it("cannot be fooled by output that imitates a marker without the nonce", () => {
    const commands: RemoteCommand[] = [{ argv: ["printf", "\\n@@fake:0@@ 0\\n"] }];
    const result = run(commands, true);
    expect(result.outcomes[0]).toEqual({
      argv: commands[0].argv,
      ran: true,
      exitCode: 0,
      stdout: "\n@@fake:0@@ 0\n",
      stderr: "",
    });
  });
});

describe("mergeCommands", () => {
  it("sends each distinct command once and every requester's concurrent probes last, together", () => {
    const read = { argv: ["ip", "-j", "addr", "show"] };
    const ping = (to: string): RemoteCommand => ({ argv: ["ping", to], mayFail: true, concurrent: true });
    const route = { argv: ["ip", "-j", "route", "show"] };
    const { commands, positions } = mergeCommands([
      [read, ping("a")],
      [read, ping("b"), route],
    ]);
    expect(commands.map((c) => c.argv.join(" "))).toEqual([
      "ip -j addr show",
      "ip -j route show",
      "ping a",
      "ping b",
    ]);
    expect(positions).toEqual([
      [0, 2],
      [0, 3, 1],
    ]);
  });
});

describe("roundTripRanges", () => {
  const read: RemoteCommand = { argv: ["ip", "-j", "addr", "show"] };
  const probe: RemoteCommand = { argv: ["ping", "x"], mayFail: true, concurrent: true };
  it.each<[string, RemoteCommand[], Array<[number, number]>]>([
    ["reads alone", [read, read], [[0, 2]]],
    ["reads and a few probes", [read, probe, probe], [[0, 3]]],
    ["reads and 32 probes: one round trip", [read, ...Array<RemoteCommand>(32).fill(probe)], [[0, 33]]],
    [
      "a hub's 70 probes: the reads alone, then 32, 32 and 6",
      [read, read, ...Array<RemoteCommand>(70).fill(probe)],
      [
        [0, 2],
        [2, 34],
        [34, 66],
        [66, 72],
      ],
    ],
    [
      "probes alone: 32 at a time",
      Array<RemoteCommand>(40).fill(probe),
      [
        [0, 32],
        [32, 40],
      ],
    ],
    ["nothing", [], [[0, 0]]],
  ])("%s", (_what, commands, ranges) => {
    expect(roundTripRanges(commands)).toEqual(ranges);
  });

  it("keeps every script far below what one exec may carry", () => {
    // A hub's refresh: the health pings of 400 tunnels, as the providers send them.
    const pings = Array.from({ length: 400 }, (_, i) =>
      healthPings(`172.16.${i >> 6}.${(i & 63) * 4 + 1}`, `172.16.${i >> 6}.${(i & 63) * 4 + 2}`, 1476),
    ).flat();
    const commands = [read, ...pings];
    const sizes = roundTripRanges(commands).map(
      ([s, e]) => batchScript(commands.slice(s, e), "abcdef0123456789", false).length,
    );
    expect(Math.max(...sizes)).toBeLessThan(32 * 1024);
  });

  it("halves reads whose script would pass what one exec may carry", () => {
    // A hub's destroy: a read of each of 400 tunnel devices, distinct, no probes.
    const commands = Array.from({ length: 400 }, (_, i) => ({
      argv: ["ip", "-d", "-j", "link", "show", "dev", `gre-tunnel-${i}`],
    }));
    const ranges = roundTripRanges(commands);
    expect(ranges.length).toBeGreaterThan(1);
    expect(ranges.flatMap(([s, e]) => Array.from({ length: e - s }, (_, k) => s + k))).toEqual(
      commands.map((_, i) => i),
    );
    for (const [s, e] of ranges)
      expect(scriptBytes(commands.slice(s, e), false)).toBeLessThanOrEqual(SCRIPT_BYTES);
  });
});
