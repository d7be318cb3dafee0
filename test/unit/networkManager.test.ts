/**
 * The NetworkManager files that bring a tunnel and its routes back at boot: the `ip-tunnel` keyfile
 * (checked by NetworkManager's own parser, `nmcli --offline`, where the host has it: CI installs
 * it), the dispatcher scripts that give the device pulumi-gre's addresses and routes, their names
 * and modes, and when NetworkManager is told to reread.
 */
import { spawnSync } from "child_process";
import {
  loadKeyfiles,
  networkManagerMode,
  routeDispatcher,
  routeDispatcherFile,
  tunnelDispatcher,
  tunnelDispatcherFile,
  tunnelKeyfile,
  tunnelKeyfileContent,
} from "../../commands/networkManager/networkManager";
import {
  persistChanges,
  routeBootFiles,
  tunnelBootFiles,
  tunnelBootPaths,
} from "../../commands/bootStack/persistedFiles";
import { writeFile } from "../../commands/files/bootFile";
import { fieldNoteEndA, ip6greEndA } from "./fieldNoteEnds";

const WRITTEN_BY =
  "# Written by pulumi-gre: pulumi up rewrites this file and pulumi destroy removes it; edits show as drift.";

const IP6GRE = ip6greEndA({ ttl: 64 });

const GRETAP = fieldNoteEndA({ name: "tap1", mode: "gretap", bridge: "br-l2", addresses: [] });

/** NetworkManager's parser: the keyfile as NetworkManager would store it, or its error. */
function nmcliOffline(keyfile: string): { status: number | null; stdout: string; stderr: string } {
  const id = /^id=(.*)$/m.exec(keyfile)![1];
  return spawnSync("nmcli", ["--offline", "connection", "modify", "connection.id", id], {
    input: keyfile,
    encoding: "utf8",
  });
}

/** A keyfile's `key=value` lines by section, comments and blank lines left out. */
function settings(keyfile: string): Record<string, string> {
  let section = "";
  const found: Record<string, string> = {};
  for (const line of keyfile.split("\n")) {
    if (/^\[.*\]$/.test(line)) section = line.slice(1, -1);
    else if (line.includes("=") && !line.startsWith("#")) {
      const [key, ...value] = line.split("=");
      found[`${section}.${key}`] = value.join("=");
    }
  }
  return found;
}

const hasNmcli = spawnSync("nmcli", ["--version"]).status === 0;

describe("a NetworkManager keyfile of a tunnel end", () => {
  it("is a file of ours in system-connections, read only when it is root's alone", () => {
    expect(tunnelKeyfile("gre1")).toBe("/etc/NetworkManager/system-connections/pulumi-gre-gre1.nmconnection");
    expect(networkManagerMode(tunnelKeyfile("gre1"))).toBe("0600");
    expect(networkManagerMode(tunnelDispatcherFile("gre1"))).toBe("0755");
    expect(networkManagerMode("/etc/systemd/network/50-pulumi-gre-gre1.netdev")).toBeUndefined();
  });

  it("creates the field note's device and leaves its addresses to the dispatcher", () => {
    expect(tunnelKeyfileContent(fieldNoteEndA({ mtu: 1400 }))).toBe(
      [
        WRITTEN_BY,
        "[connection]",
        "id=pulumi-gre-gre1",
        "type=ip-tunnel",
        "interface-name=gre1",
        "autoconnect=true",
        "",
        "[ip-tunnel]",
        "mode=2",
        "local=198.51.100.11",
        "remote=198.51.100.12",
        "input-key=1",
        "output-key=1",
        "ttl=255",
        "mtu=1400",
        "",
        "[ipv4]",
        "method=disabled",
        "",
        "[ipv6]",
        "method=ignore",
      ].join("\n") + "\n",
    );
  });

  it.each([
    ["gre", fieldNoteEndA({ mtu: 1400 }), { "ip-tunnel.mode": "2", "ip-tunnel.input-key": "1" }],
    [
      "ip6gre (iproute2's encapsulation limit, no key)",
      IP6GRE,
      { "ip-tunnel.mode": "8", "ip-tunnel.encapsulation-limit": "4" },
    ],
    ["gretap", GRETAP, { "ip-tunnel.mode": "10" }],
    ["ip6gretap", { ...IP6GRE, name: "t6", mode: "ip6gretap" as const }, { "ip-tunnel.mode": "11" }],
  ])("%s: NetworkManager's parser keeps every setting", (_what, spec, expected) => {
    const ours = settings(tunnelKeyfileContent(spec));
    expect(ours).toMatchObject(expected);
    if (!hasNmcli) {
      // CI installs NetworkManager (tools/bootstrap.sh): there this check always runs.
      expect(process.env.CI).not.toBe("true");
      return;
    }
    const parsed = nmcliOffline(tunnelKeyfileContent(spec));
    expect([parsed.status, parsed.stderr]).toEqual([0, ""]);
    // NetworkManager adds a uuid (from the file's name when it reads one) and an empty proxy section.
    expect(settings(parsed.stdout)).toMatchObject(
      Object.fromEntries(Object.entries(ours).filter(([key]) => key !== "connection.autoconnect")),
    );
  });
});

describe("a NetworkManager dispatcher script", () => {
  it("of a tunnel end runs pulumi-gre's commands after the device exists, on its own up only", () => {
    expect(tunnelDispatcher(fieldNoteEndA({ mtu: 1400 }))).toBe(
      [
        "#!/bin/sh",
        WRITTEN_BY,
        '[ "$1" = gre1 ] && [ "$2" = up ] || exit 0',
        "set -e",
        "ip addr replace 10.10.10.2 dev gre1 peer 10.10.10.1",
        "ip link set dev gre1 mtu 1400 up",
      ].join("\n") + "\n",
    );
    expect(tunnelDispatcher(IP6GRE).split("\n").slice(4, 7)).toEqual([
      "ip link set dev g6 up",
      "ip -6 addr del fd00::2 dev g6 || true",
      "ip -6 addr add fd00::2 dev g6 peer fd00::1",
    ]);
    expect(tunnelDispatcher(GRETAP).split("\n").slice(4, 6)).toEqual([
      "ip link set dev tap1 master br-l2",
      "ip link set dev tap1 up",
    ]);
  });

  it("of a route runs after its tunnel's, with pulumi-gre's route", () => {
    const route = {
      device: "gre1",
      destination: "10.1.1.0/24",
      gateway: "10.10.10.1",
      metric: 0,
      table: 254,
    };
    const file = routeDispatcherFile(route);
    expect(file).toBe("/etc/NetworkManager/dispatcher.d/pulumi-gre-gre1-route-10.1.1.0_24-t254-m0");
    expect([file, tunnelDispatcherFile("gre1")].sort()[0]).toBe(tunnelDispatcherFile("gre1"));
    expect(routeDispatcher(route).split("\n").slice(2)).toEqual([
      '[ "$1" = gre1 ] && [ "$2" = up ] || exit 0',
      "set -e",
      "ip route replace 10.1.1.0/24 via 10.10.10.1 dev gre1 proto 176 metric 0 table 254",
      "",
    ]);
  });
});

describe("persist on a NetworkManager router", () => {
  const spec = fieldNoteEndA();
  const keyfile = tunnelKeyfile("gre1");

  it("wants the keyfile and the script, and no file of the other forms", () => {
    const wanted = tunnelBootFiles(spec, "NetworkManager");
    expect(wanted.filter((f) => f.content !== undefined).map((f) => f.path)).toEqual([
      keyfile,
      tunnelDispatcherFile("gre1"),
    ]);
    expect(wanted.map((f) => f.path)).toEqual(tunnelBootPaths("gre1"));
    const route = { device: "gre1", destination: "10.1.1.0/24", metric: 0, table: 254, protocol: 176 };
    expect(
      routeBootFiles(route, "NetworkManager")
        .filter((f) => f.content)
        .map((f) => f.path),
    ).toEqual([routeDispatcherFile(route)]);
  });

  it("writes each file in its mode and has NetworkManager load the keyfile (only where it runs)", () => {
    const changes = persistChanges(tunnelBootFiles(spec, "NetworkManager"), new Map());
    expect(changes).toEqual([
      writeFile(keyfile, tunnelKeyfileContent(spec), "0600"),
      writeFile(tunnelDispatcherFile("gre1"), tunnelDispatcher(spec), "0755"),
      loadKeyfiles([keyfile]),
    ]);
    expect(changes[0].argv.slice(-2)).toEqual([keyfile, "0600"]);
    expect(loadKeyfiles([keyfile]).argv.slice(3)).toEqual(["pulumi-gre-nm-load", keyfile]);
  });

  it("forgets the profile when the tunnel goes, not when persist is only turned off", () => {
    const there = new Map(
      tunnelBootFiles(spec, "NetworkManager")
        .filter((f) => f.content !== undefined)
        .map((f) => [f.path, f.content!]),
    );
    const off = persistChanges(tunnelBootFiles(spec, undefined), there);
    // NetworkManager deletes the device of a profile it forgets: the running tunnel stays until the next boot.
    expect(off.map((c) => c.argv[0])).toEqual(["rm", "rm"]);
    const deleted = persistChanges(tunnelBootFiles(spec, undefined), there, true);
    expect(deleted.at(-1)).toEqual(loadKeyfiles([keyfile]));
  });
});
