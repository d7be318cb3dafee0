import { batchStderr, batchable, failedBatchLine, groupIpCommands } from "../../commands/iproute2/ipBatch";
import { tunnelCreate, tunnelRemove } from "../../commands/iproute2/tunnelCommands";
import { fieldNoteEndA } from "./fieldNoteEnds";

describe("ip -batch", () => {
  const spec = fieldNoteEndA();

  it("turns the field note's three commands into one ip process", () => {
    expect(groupIpCommands(tunnelCreate(spec))).toEqual([
      {
        command: {
          argv: ["ip", "-batch", "-"],
          stdin:
            "tunnel add name gre1 mode gre remote 198.51.100.12 local 198.51.100.11 ikey 1 okey 1 ttl 255\naddr replace 10.10.10.2 dev gre1 peer 10.10.10.1\nlink set dev gre1 up\n",
        },
        lines: tunnelCreate(spec),
      },
    ]);
  });

  it("keeps a lone ip command, other programs, and their order", () => {
    const commands = [
      { argv: ["modprobe", "ip_gre"] },
      ...tunnelRemove("gre1"),
      { argv: ["sysctl", "-w", "net.ipv4.ip_forward=1"] },
      { argv: ["ip", "route", "flush", "cache"] },
    ];
    const grouped = groupIpCommands(commands);
    expect(grouped.map((g) => ("lines" in g ? `batch of ${g.lines.length}` : g.argv.join(" ")))).toEqual([
      "modprobe ip_gre",
      "batch of 2",
      "sysctl -w net.ipv4.ip_forward=1",
      "ip route flush cache",
    ]);
  });

  it.each([
    [{ argv: ["ip", "link", "set", "gre1", "up"] }, true],
    [{ argv: ["ip", "-j", "addr", "show"] }, false],
    [{ argv: ["ip", "link", "set", "gre 1", "up"] }, false],
    [{ argv: ["ip", "addr", "add", "10.0.0.1", "#comment"] }, false],
    [{ argv: ["ip", "-batch", "-"], stdin: "link show\n" }, false],
    [{ argv: ["tc", "qdisc", "show"] }, false],
  ])("batches %j: %s", (command, expected) => {
    expect(batchable(command)).toBe(expected);
  });

  it("finds the failed line in what ip -batch printed on a router", () => {
    const stderr = "RTNETLINK answers: File exists\nCommand failed -:3\n";
    expect(failedBatchLine(stderr)).toBe(3);
    expect(batchStderr(stderr)).toBe("RTNETLINK answers: File exists\n");
    expect(failedBatchLine("RTNETLINK answers: File exists\n")).toBeUndefined();
  });
});
