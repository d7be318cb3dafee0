import { readFileSync } from "fs";
import * as path from "path";
import { isMissingDevice, parseGreKey, parseIpAddr, parseIpLink } from "../../commands/iproute2/parseIp";

/** Output recorded on lab routers by test/fixtures/record.sh. */
function fixture(name: string): string {
  return readFileSync(path.join(__dirname, "../fixtures/ip", name), "utf8");
}

describe("parseGreKey", () => {
  it.each([
    ["0.0.0.1", 1],
    ["0.0.0.0", 0],
    ["0.0.1.0", 256],
    ["255.255.255.255", 4294967295],
    [undefined, undefined],
  ])("reads %s as %s", (text, key) => {
    expect(parseGreKey(text)).toBe(key);
  });
  it("refuses what is not a dotted quad", () => {
    expect(() => parseGreKey("1")).toThrow('unexpected GRE key "1" in ip output');
  });
});

describe("parseIpLink on recorded router output", () => {
  it("reads a freshly booted router: no GRE devices", () => {
    const links = parseIpLink(fixture("link-fresh.json"));
    expect(links.map((l) => [l.name, l.kind, l.up])).toEqual([
      ["lo", undefined, true],
      ["eth0", undefined, true],
      ["eth1", undefined, true],
      ["lan0", "veth", true],
    ]);
  });

  it("reads keyed, unkeyed, down and foreign devices", () => {
    const byName = Object.fromEntries(parseIpLink(fixture("link-tunnels.json")).map((l) => [l.name, l]));
    expect(byName.gre0).toEqual({
      ifindex: byName.gre0.ifindex,
      name: "gre0",
      kind: "gre",
      up: false,
      mtu: 1476,
      local: "any",
      remote: "any",
      ttl: 0,
    });
    expect(byName.gre1).toEqual({
      ifindex: byName.gre1.ifindex,
      name: "gre1",
      kind: "gre",
      up: true,
      mtu: 1472,
      local: "198.51.100.11",
      remote: "198.51.100.12",
      ttl: 255,
      ikey: 1,
      okey: 1,
    });
    expect(byName.gre2).toMatchObject({ up: false, mtu: 1400, ttl: 64, ikey: 5, okey: 6 });
    expect(byName.gre3).toMatchObject({ up: false, ttl: 0 });
    expect(byName.gre3.ikey).toBeUndefined();
    expect(byName.gre3.okey).toBeUndefined();
    expect(byName.dummy7).toMatchObject({ kind: "dummy", up: false });
    expect(byName.gretap0.kind).toBe("gretap");
  });

  it("reads one device, and nothing from empty output", () => {
    expect(parseIpLink(fixture("link-gre1.json")).map((l) => l.name)).toEqual(["gre1"]);
    expect(parseIpLink("")).toEqual([]);
  });

  it("says what it got when the output is not JSON", () => {
    expect(() => parseIpLink('Device "x" does not exist.')).toThrow(
      'ip -j -d link show did not print JSON: Device "x" does not exist.',
    );
  });
});

describe("parseIpAddr on recorded router output", () => {
  it("reads a point-to-point tunnel address with its peer", () => {
    expect(parseIpAddr(fixture("addr-gre1.json"))).toEqual([
      {
        device: "gre1",
        family: "inet",
        local: "10.10.10.2",
        peer: "10.10.10.1",
        prefixLength: 32,
        scope: "global",
      },
      { device: "gre1", family: "inet6", local: "fe80::200:5efe:c633:640b", prefixLength: 64, scope: "link" },
    ]);
  });

  it("reads the router's own addresses", () => {
    const inet = parseIpAddr(fixture("addr-fresh.json")).filter((a) => a.family === "inet");
    expect(inet).toEqual([
      { device: "lo", family: "inet", local: "127.0.0.1", prefixLength: 8, scope: "host" },
      { device: "eth0", family: "inet", local: "169.254.100.11", prefixLength: 24, scope: "global" },
      { device: "eth1", family: "inet", local: "198.51.100.11", prefixLength: 24, scope: "global" },
      { device: "lan0", family: "inet", local: "10.2.1.1", prefixLength: 24, scope: "global" },
    ]);
  });
});

describe("isMissingDevice", () => {
  it("recognizes iproute2's words for a missing device", () => {
    expect(isMissingDevice(fixture("link-missing.txt"))).toBe(true);
    expect(isMissingDevice('Cannot find device "gre1"')).toBe(true);
    expect(isMissingDevice("RTNETLINK answers: File exists")).toBe(false);
  });
});
