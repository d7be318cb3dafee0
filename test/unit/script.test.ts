import { execFileSync, spawnSync } from "child_process";
import { readFileSync } from "fs";
import {
  batchScript,
  commandLine,
  parseBatchOutput,
  parseProcessGroup,
  shellQuote,
  type RemoteCommand,
} from "../../transport/script";

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
