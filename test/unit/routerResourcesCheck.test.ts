/** check of KernelModule, Sysctl and TunnelRoute: bad input is a failure naming the property, with nothing run. */
import { kernelModuleProvider } from "../../providers/oneRouter/kernelModule";
import { sysctlProvider } from "../../providers/oneRouter/sysctl";
import { tunnelRouteProvider } from "../../providers/oneRouter/tunnelRoute";
import { checkRaw, type AnyProvider } from "../support/rawCalls";

const connection = { host: "169.254.100.12", privateKey: "key", name: "routerB" };
/** The connection as check returns it: plain, its secrets apart in `credentials`. */
const sealed = {
  connection: { host: "169.254.100.12", name: "routerB" },
  credentials: { privateKey: "key" },
};
const tunnel = {
  name: "gre1",
  local: "198.51.100.12",
  remote: "198.51.100.11",
  address: "10.10.10.1",
  peerAddress: "10.10.10.2",
};

async function check(provider: AnyProvider, news: Record<string, unknown>) {
  return checkRaw(provider, { ...news, __provider: "serialized" });
}

describe("KernelModule check", () => {
  it("fills in the defaults", async () => {
    expect(await check(kernelModuleProvider, { connection, name: "ip_gre" })).toEqual({
      inputs: { ...sealed, name: "ip_gre", persist: false, unloadOnDelete: false },
    });
  });
  it("spells a module as the kernel does: ip-gre is ip_gre (one file, marker and id)", async () => {
    expect(await check(kernelModuleProvider, { connection, name: "ip-gre" })).toEqual({
      inputs: { ...sealed, name: "ip_gre", persist: false, unloadOnDelete: false },
    });
  });
  it.each([["ip_gre;reboot"], ["$(id)"], ["../ip_gre"], [""]])("refuses the name %j", async (name) => {
    expect((await check(kernelModuleProvider, { connection, name })).failures).toEqual([
      {
        property: "name",
        reason: "must be a kernel module name: letters, digits, `_` or `-`, starting with a letter or digit",
      },
    ]);
  });
});

describe("Sysctl check", () => {
  it("takes a number as the value sysctl prints", async () => {
    expect(
      (await check(sysctlProvider, { connection, key: "net.ipv4.ip_forward", value: 1 })).inputs,
    ).toEqual({
      ...sealed,
      key: "net.ipv4.ip_forward",
      value: "1",
      persist: false,
      restoreOnDelete: true,
    });
  });
  it("sets a key outside net.* only when it says allowAnyKey, and keeps that in its inputs", async () => {
    const news = { connection, key: "kernel.panic", value: 10 };
    expect((await check(sysctlProvider, news)).failures?.map((f) => f.property)).toEqual(["key"]);
    expect((await check(sysctlProvider, { ...news, allowAnyKey: true })).inputs).toMatchObject({
      key: "kernel.panic",
      value: "10",
      allowAnyKey: true,
    });
    // Not said: not in the inputs (a state written before it existed reads the same).
    const plain = (await check(sysctlProvider, { connection, key: "net.ipv4.ip_forward", value: 1 })).inputs;
    expect(plain).not.toHaveProperty("allowAnyKey");
  });
  it.each<[Record<string, unknown>, { property: string; reason: string }]>([
    [
      { key: "net.ipv4.ip_forward;reboot", value: 1 },
      { property: "key", reason: "must be a sysctl name such as net.ipv4.ip_forward" },
    ],
    [
      { key: "../../etc/passwd", value: 1 },
      { property: "key", reason: "must be a sysctl name such as net.ipv4.ip_forward" },
    ],
    [
      { key: "net.ipv4.ip_forward", value: "1\nreboot" },
      { property: "value", reason: "must be a whole number, or a value on one line without `=`" },
    ],
    [
      { key: "net.ipv4.ip_forward", value: 1.5 },
      { property: "value", reason: "must be a whole number, or a value on one line without `=`" },
    ],
    [
      { key: "net.ipv4.ip_forward", value: "a=b" },
      { property: "value", reason: "must be a whole number, or a value on one line without `=`" },
    ],
  ])("refuses %j", async (news, failure) => {
    expect((await check(sysctlProvider, { connection, ...news })).failures).toEqual([failure]);
  });
});

describe("TunnelRoute check", () => {
  it("routes through the tunnel's peer address by default (the field note's route)", async () => {
    expect(
      (await check(tunnelRouteProvider, { connection, destination: "10.2.1.0/24", tunnel })).inputs,
    ).toEqual({
      ...sealed,
      destination: "10.2.1.0/24",
      via: "10.10.10.2",
      metric: 0,
      table: 254,
      takeOver: false,
      allowCapture: false,
      persist: false,
      tunnel,
    });
  });

  it.each<[string, Record<string, unknown>, Array<{ property: string; reason: string }>]>([
    [
      "a destination that contains the tunnel's underlay peer (recursive routing)",
      { destination: "198.51.100.0/24", tunnel },
      [
        {
          property: "destination",
          reason:
            "contains 198.51.100.11, the tunnel's underlay peer: the tunnel's own GRE packets would be routed into the tunnel (recursive routing); route the LAN behind the peer, not its underlay address",
        },
      ],
    ],
    [
      "a default route through the tunnel",
      { destination: "0.0.0.0/0", tunnel },
      [
        {
          property: "destination",
          reason:
            "contains 169.254.100.12, the address this router is reached at over SSH: the route would capture the management path and lock Pulumi out of the router; set allowCapture: true if that is meant",
        },
        {
          property: "destination",
          reason:
            "contains 198.51.100.11, the tunnel's underlay peer: the tunnel's own GRE packets would be routed into the tunnel (recursive routing); route the LAN behind the peer, not its underlay address",
        },
      ],
    ],
    [
      "a prefix length past 32",
      { destination: "10.2.1.0/33", via: "10.10.10.2" },
      [
        {
          property: "destination",
          reason: "must be an IPv4 or IPv6 prefix such as 10.2.1.0/24 or 2001:db8:1::/64",
        },
      ],
    ],
    [
      "an address instead of a prefix",
      { destination: "10.2.1.5", via: "10.10.10.2" },
      [
        {
          property: "destination",
          reason: "must be an IPv4 or IPv6 prefix such as 10.2.1.0/24 or 2001:db8:1::/64",
        },
      ],
    ],
    [
      "a host part in the prefix",
      { destination: "10.2.1.7/24", via: "10.10.10.2" },
      [{ property: "destination", reason: "is not a network address; did you mean 10.2.1.0/24?" }],
    ],
    [
      "a next hop outside the tunnel's addresses",
      { destination: "10.2.1.0/24", via: "10.10.10.9", tunnel },
      [
        {
          property: "via",
          reason:
            "is outside the tunnel's addresses: a route through gre1 goes via its peer address 10.10.10.2",
        },
      ],
    ],
    [
      "another device than the tunnel's",
      { destination: "10.2.1.0/24", device: "eth1", tunnel },
      [{ property: "device", reason: "is not the tunnel's interface gre1" }],
    ],
    [
      "no next hop, device or tunnel",
      { destination: "10.2.1.0/24" },
      [{ property: "via", reason: "give a next hop (via), a device, or the tunnel the route goes through" }],
    ],
    [
      "the local table",
      { destination: "10.2.1.0/24", via: "10.10.10.2", table: 255 },
      [{ property: "table", reason: "must not be the local table (255)" }],
    ],
    [
      "a device with shell characters",
      { destination: "10.2.1.0/24", device: "gre1;reboot" },
      [
        {
          property: "device",
          reason: "must be 1 to 15 letters, digits, `_`, `.` or `-` (a Linux interface name)",
        },
      ],
    ],
  ])("refuses %s", async (_title, news, failures) => {
    expect((await check(tunnelRouteProvider, { connection, ...news })).failures).toEqual(failures);
  });
});
