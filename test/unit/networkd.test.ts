/**
 * The systemd-networkd files that bring a tunnel and its routes back at boot: their exact content
 * (what systemd-networkd 252 on the lab's routers turned back into the field note's tunnel), and
 * reading them back for drift.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import {
  netdevContent,
  networkContent,
  routeContent,
  routeFile,
  tunnelFiles,
} from "../../commands/networkd/networkd";
import { parsePersistedFiles, persistChanges, persistDrift } from "../../commands/bootStack/persistedFiles";
import type { TunnelEndSpec } from "../../commands/iproute2/tunnelCommands";
import { writeFile } from "../../commands/files/bootFile";
import { fieldNoteEndA } from "./fieldNoteEnds";
import { bootFiles } from "../../providers/greTunnel/extras/bootFiles";

const routerA: TunnelEndSpec = fieldNoteEndA({ mtu: 1400 });

const HEADER =
  "# Written by pulumi-gre: pulumi up rewrites this file and pulumi destroy removes it; edits show as drift.";

describe("the files of a tunnel end", () => {
  it("names them after the tunnel", () => {
    expect(tunnelFiles("gre1")).toEqual({
      netdev: "/etc/systemd/network/50-pulumi-gre-gre1.netdev",
      network: "/etc/systemd/network/50-pulumi-gre-gre1.network",
      dropIns: "/etc/systemd/network/50-pulumi-gre-gre1.network.d",
    });
  });

  it("writes the field note's tunnel as a .netdev", () => {
    expect(netdevContent(routerA)).toBe(
      [
        HEADER,
        "[NetDev]",
        "Name=gre1",
        "Kind=gre",
        "MTUBytes=1400",
        "",
        "[Tunnel]",
        "Local=198.51.100.11",
        "Remote=198.51.100.12",
        "InputKey=1",
        "OutputKey=1",
        "TTL=255",
        "Independent=yes",
        "",
      ].join("\n"),
    );
  });

  it("leaves out what the tunnel does not set (no keys, the kernel's MTU)", () => {
    const content = netdevContent({ ...routerA, ikey: undefined, okey: undefined, mtu: undefined });
    expect(content).not.toMatch(/Key=|MTUBytes=/);
  });

  it("writes its point-to-point address as a .network that never holds the boot up", () => {
    expect(networkContent(routerA)).toBe(
      [
        HEADER,
        "[Match]",
        "Name=gre1",
        "",
        "[Link]",
        "RequiredForOnline=no",
        "",
        "[Network]",
        "KeepConfiguration=yes",
        "ConfigureWithoutCarrier=yes",
        "",
        "[Address]",
        "Address=10.10.10.2/32",
        "Peer=10.10.10.1/32",
        "",
      ].join("\n"),
    );
  });
});

describe("a route's drop-in", () => {
  const route = {
    device: "gre1",
    destination: "10.1.1.0/24",
    gateway: "10.10.10.1",
    metric: 0,
    table: 254,
    protocol: 176,
  };

  it("lives beside the tunnel's .network, named after its slot", () => {
    expect(routeFile(route)).toBe(
      "/etc/systemd/network/50-pulumi-gre-gre1.network.d/pulumi-gre-route-10.1.1.0_24-t254-m0.conf",
    );
  });

  it("keeps pulumi-gre's protocol number, so the route is still recognisably ours after a boot", () => {
    expect(routeContent(route)).toBe(
      [
        HEADER,
        "[Route]",
        "Destination=10.1.1.0/24",
        "Gateway=10.10.10.1",
        "Metric=0",
        "Table=254",
        "Protocol=176",
        "",
      ].join("\n"),
    );
  });
});

describe("reading the files back", () => {
  const paths = tunnelFiles("gre1");
  const grep = [
    ...netdevContent(routerA)
      .trimEnd()
      .split("\n")
      .map((l) => `${paths.netdev}:${l}`),
    ...networkContent(routerA)
      .trimEnd()
      .split("\n")
      .map((l) => `${paths.network}:${l}`),
  ].join("\n");

  it("turns grep's PATH:LINE output back into each file's content", () => {
    const files = parsePersistedFiles(`${grep}\n`);
    expect(files.get(paths.netdev)).toBe(netdevContent(routerA));
    expect(files.get(paths.network)).toBe(networkContent(routerA));
  });

  it("finds nothing to change when the files are as wanted", () => {
    const files = parsePersistedFiles(grep);
    const wanted = [
      { path: paths.netdev, content: netdevContent(routerA) },
      { path: paths.network, content: networkContent(routerA) },
    ];
    expect(persistChanges(wanted, files)).toEqual([]);
    expect(persistDrift(wanted, files)).toEqual([]);
  });

  it.each<[string, string, string[], string[][]]>([
    [
      "a file edited by hand",
      grep.replace("TTL=255", "TTL=64"),
      [`${paths.netdev} was changed`],
      [writeFile(paths.netdev, "").argv, ["networkctl", "reload"]],
    ],
    [
      "a file removed",
      grep
        .split("\n")
        .filter((l) => !l.startsWith(paths.network))
        .join("\n"),
      [`${paths.network} is missing`],
      [writeFile(paths.network, "").argv, ["networkctl", "reload"]],
    ],
  ])("%s is drift, rewritten, and networkd rereads the files", (_title, output, drift, argv) => {
    const files = parsePersistedFiles(output);
    const wanted = [
      { path: paths.netdev, content: netdevContent(routerA) },
      { path: paths.network, content: networkContent(routerA) },
    ];
    expect(persistDrift(wanted, files)).toEqual(drift);
    expect(persistChanges(wanted, files).map((c) => c.argv)).toEqual(argv);
  });

  it("removes a drop-in and its folder once empty; networkd rereads only once the route is deleted too", () => {
    const file = routeFile({ device: "gre1", destination: "10.1.1.0/24", table: 254, metric: 0 });
    const files = parsePersistedFiles(`${file}:[Route]\n`);
    const removal = [
      ["rm", "-f", "--", file, `${file}.pulumi-gre.tmp`],
      ["rmdir", "--ignore-fail-on-non-empty", "--", paths.dropIns],
    ];
    // persist turned off: a reread now would take the configuration it made off the link.
    expect(persistChanges([{ path: file, content: undefined }], files).map((c) => c.argv)).toEqual(removal);
    expect(persistChanges([{ path: file, content: undefined }], files, true).map((c) => c.argv)).toEqual([
      ...removal,
      ["networkctl", "reload"],
    ]);
    expect(persistDrift([{ path: file, content: undefined }], files)).toEqual([
      `${file} should not be there`,
    ]);
  });
});

describe("a boot file written whole", () => {
  // The command as a router's shell runs it, here on this machine's /bin/sh.
  const run = (path: string, content: string, limit = "unlimited") => {
    const command = writeFile(path, content);
    // `ulimit -f`: a file may not grow past that many blocks, as on a disk that is full.
    return spawnSync("sh", ["-c", `ulimit -f ${limit}; exec "$@"`, "sh", ...command.argv], {
      input: command.stdin,
      encoding: "utf8",
    });
  };
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "gre-bootfile-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("replaces the file by a rename, with nothing left beside it", () => {
    const file = path.join(dir, "50-pulumi-gre-gre1.netdev");
    writeFileSync(file, "old\n");
    expect(run(file, "new\n").status).toBe(0);
    expect([readFileSync(file, "utf8"), readdirSync(dir)]).toEqual(["new\n", ["50-pulumi-gre-gre1.netdev"]]);
  });

  it("leaves the file as it was and no temporary file when the write fails", () => {
    const file = path.join(dir, "50-pulumi-gre-gre1.netdev");
    writeFileSync(file, "old\n");
    const failed = run(file, "new\n".repeat(1000), "0");
    expect(failed.status).not.toBe(0);
    expect([readFileSync(file, "utf8"), readdirSync(dir)]).toEqual(["old\n", ["50-pulumi-gre-gre1.netdev"]]);
  });

  it("takes a path as a value, never as shell code", () => {
    const file = path.join(dir, "a $(touch x); b");
    expect(run(file, "text\n").status).toBe(0);
    expect(readdirSync(dir)).toEqual(["a $(touch x); b"]);
  });
});

describe("a tunnel end's boot files undone", () => {
  const paths = tunnelFiles("gre1");
  const written = parsePersistedFiles(`${paths.netdev}:[NetDev]\n${paths.network}:[Match]\n`);
  const removal = [paths.netdev, paths.network].map((file) => [
    "rm",
    "-f",
    "--",
    file,
    `${file}.pulumi-gre.tmp`,
  ]);
  const restore = (deleting: boolean) =>
    bootFiles
      .restore("gre1", { files: parsePersistedFiles("") }, { files: written }, deleting)
      .map((c) => c.argv)
      .filter((argv) => argv[0] !== "rmdir");

  it("with its device: networkd rereads them, so it cannot configure the next gre1 from memory", () => {
    expect(restore(true)).toEqual([...removal, ["networkctl", "reload"]]);
  });

  it("with the device kept (it was there before): no reread, which would take its addresses off", () => {
    expect(restore(false)).toEqual(removal);
  });
});
