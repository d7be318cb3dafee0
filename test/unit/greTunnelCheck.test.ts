import { greTunnelProvider } from "../../providers/greTunnel/lifecycle";
import { diffGreTunnel } from "../../providers/greTunnel/diff";
import { endSpecs, withLiveConnections, type GreTunnelOutputs } from "../../providers/greTunnel/spec";
import { withoutSecrets } from "../../transport/connection";
import { type NormalizedGreTunnel } from "../../model/greTunnel";
import { UNKNOWN } from "../../schemas/unknown";
import { checkRaw } from "../support/rawCalls";

const routerA = {
  host: "169.254.100.11",
  privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n",
  name: "routerA",
};
const routerB = {
  host: "169.254.100.12",
  privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n",
  name: "routerB",
};

/** The field note's tunnel, as a user writes it. */
function fieldNote(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "gre1",
    key: 1,
    endpoints: [
      { connection: routerA, local: "198.51.100.11", address: "10.10.10.2" },
      { connection: routerB, local: "198.51.100.12", address: "10.10.10.1" },
    ],
    ...overrides,
  };
}

function endpoint(i: 0 | 1, changes: Record<string, unknown>): Record<string, unknown> {
  const endpoints = [...(fieldNote().endpoints as Record<string, unknown>[])];
  endpoints[i] = { ...endpoints[i], ...changes };
  return fieldNote({ endpoints });
}

async function failures(news: Record<string, unknown>) {
  const result = await checkRaw(greTunnelProvider, { ...news, __provider: "serialized" });
  return result.failures ?? [];
}

describe("GreTunnel check", () => {
  it("fills in the field note's defaults", async () => {
    const result = await checkRaw(greTunnelProvider, { ...fieldNote(), __provider: "serialized" });
    expect(result.failures).toBeUndefined();
    expect(result.inputs).toEqual({
      name: "gre1",
      key: 1,
      ttl: 255,
      persist: false,
      verify: true,
      // The connections' secrets apart, in credentials (a secret property of its own).
      endpoints: [
        {
          connection: withoutSecrets(routerA),
          local: "198.51.100.11",
          remote: "198.51.100.12",
          address: "10.10.10.2",
          peerAddress: "10.10.10.1",
        },
        {
          connection: withoutSecrets(routerB),
          local: "198.51.100.12",
          remote: "198.51.100.11",
          address: "10.10.10.1",
          peerAddress: "10.10.10.2",
        },
      ],
      credentials: [{ privateKey: routerA.privateKey }, { privateKey: routerB.privateKey }],
    });
    expect(JSON.stringify((result.inputs as NormalizedGreTunnel).endpoints)).not.toContain("PRIVATE KEY");
  });

  const NAME = "must be 1 to 15 letters, digits, `_`, `.` or `-` (a Linux interface name)";
  const IP = "must be an IPv4 or IPv6 address such as 198.51.100.11 or 2001:db8::11, without prefix length";
  const V6_IN_GRE =
    "is an IPv6 address, but mode gre runs over IPv4 (use ip6gre or ip6gretap for an IPv6 underlay)";
  it.each<[string, Record<string, unknown>, Array<{ property: string; reason: string }>]>([
    [
      "a name longer than 15 characters",
      fieldNote({ name: "gre-tunnel-to-hq" }),
      [{ property: "name", reason: NAME }],
    ],
    [
      "a name with a shell separator",
      fieldNote({ name: "gre1;reboot" }),
      [{ property: "name", reason: NAME }],
    ],
    [
      "a name with a command substitution",
      fieldNote({ name: "$(id)" }),
      [{ property: "name", reason: NAME }],
    ],
    ["a name with a newline", fieldNote({ name: "gre1\nreboot" }), [{ property: "name", reason: NAME }]],
    ["a name with a space", fieldNote({ name: "gre 1" }), [{ property: "name", reason: NAME }]],
    ["an empty name", fieldNote({ name: "" }), [{ property: "name", reason: NAME }]],
    ["the name `..`", fieldNote({ name: ".." }), [{ property: "name", reason: "must not be `.` or `..`" }]],
    [
      "an invalid address",
      endpoint(0, { local: "300.1.1.1" }),
      [{ property: "endpoints[0].local", reason: IP }],
    ],
    [
      "an address with a prefix length",
      endpoint(1, { address: "10.10.10.1/30" }),
      [{ property: "endpoints[1].address", reason: IP }],
    ],
    [
      "an IPv6 underlay in mode gre",
      endpoint(1, { local: "2001:db8::2" }),
      [{ property: "endpoints[1].local", reason: V6_IN_GRE }],
    ],
    [
      "an IPv6 remote in mode gre",
      endpoint(0, { remote: "2001:db8::2" }),
      [{ property: "endpoints[0].remote", reason: V6_IN_GRE }],
    ],
    [
      "an IPv4 underlay in mode ip6gre",
      fieldNote({ mode: "ip6gre" }),
      ["endpoints[0].local", "endpoints[1].local"].map((property) => ({
        property,
        reason: "is an IPv4 address, but mode ip6gre runs over IPv6 (use gre or gretap for an IPv4 underlay)",
      })),
    ],
    [
      "tunnel addresses of two families",
      endpoint(0, { peerAddress: "fd00::1" }),
      [
        {
          property: "endpoints[0].peerAddress",
          reason: "is IPv6 but address is IPv4: both ends of the tunnel's addresses are one family",
        },
      ],
    ],
    [
      "a mode GRE does not have",
      fieldNote({ mode: "vxlan" }),
      [{ property: "mode", reason: "must be one of gre, gretap, ip6gre, ip6gretap" }],
    ],
    [
      "a bridge on a gre tunnel",
      endpoint(0, { bridge: "br0" }),
      [
        {
          property: "endpoints[0].bridge",
          reason: "only an Ethernet tunnel (gretap, ip6gretap) joins a bridge; mode gre carries IP packets",
        },
        {
          property: "endpoints[0].address",
          reason: "must be left out with bridge: a bridge port has no address of its own (give it to br0)",
        },
      ],
    ],
    [
      "a gre end without an address",
      endpoint(0, { address: undefined }),
      [{ property: "endpoints[0].address", reason: "is required" }],
    ],
    [
      "a gretap bridged on one end only",
      fieldNote({
        mode: "gretap",
        endpoints: [
          {
            ...(fieldNote().endpoints as Array<Record<string, unknown>>)[0],
            address: undefined,
            bridge: "br-l2",
          },
          (fieldNote().endpoints as unknown[])[1],
        ],
      }),
      [
        {
          property: "endpoints[1].bridge",
          reason:
            "is needed on both ends or neither: a bridged end and an addressed end do not talk to each other",
        },
      ],
    ],
    [
      "a persisted bridge port",
      fieldNote({
        mode: "gretap",
        persist: true,
        endpoints: (fieldNote().endpoints as Array<Record<string, unknown>>).map((e) => ({
          ...e,
          address: undefined,
          peerAddress: undefined,
          bridge: "br-l2",
        })),
      }),
      [
        {
          property: "persist",
          reason:
            "cannot bring back a bridge port at boot: systemd-networkd joins a link only to a bridge it creates itself; set persist: false and let the bridge's own configuration take the port",
        },
      ],
    ],
    [
      "an MSS clamp on an Ethernet tunnel",
      fieldNote({ mode: "gretap", tcpMss: "clamp" }),
      [
        {
          property: "tcpMss",
          reason:
            "applies to routed tunnels (gre, ip6gre): a gretap tunnel carries Ethernet frames through a bridge, so clamp where that traffic is routed",
        },
      ],
    ],
    ["a negative key", fieldNote({ key: -1 }), [{ property: "key", reason: "must be 0 or more" }]],
    [
      "a key past 32 bits",
      fieldNote({ key: 4294967296 }),
      [{ property: "key", reason: "must be at most 4294967295" }],
    ],
    ["a fractional key", fieldNote({ key: 1.5 }), [{ property: "key", reason: "must be a whole number" }]],
    [
      "a key pair out of range",
      fieldNote({ key: { input: 1, output: 4294967296 } }),
      [{ property: "key.output", reason: "must be at most 4294967295" }],
    ],
    [
      "ttl 0",
      fieldNote({ ttl: 0 }),
      [
        {
          property: "ttl",
          reason:
            'must be 1 or more: `ip` reads ttl 0 as "inherit" (each packet keeps its own TTL), which is not a fixed TTL',
        },
      ],
    ],
    ["ttl 256", fieldNote({ ttl: 256 }), [{ property: "ttl", reason: "must be at most 255" }]],
    ["an MTU below 68", fieldNote({ mtu: 60 }), [{ property: "mtu", reason: "must be 68 or more" }]],
    [
      "both endpoints on the same router",
      endpoint(1, { connection: { ...routerB, host: "169.254.100.11" } }),
      [
        {
          property: "endpoints[1].connection.host",
          reason: "both endpoints are on the same router (169.254.100.11); a tunnel joins two routers",
        },
      ],
    ],
    [
      "local equal to remote",
      endpoint(0, { remote: "198.51.100.11" }),
      [{ property: "endpoints[0].remote", reason: "local and remote are the same address" }],
    ],
    [
      "both ends on one underlay address",
      endpoint(1, { local: "198.51.100.11" }),
      [
        { property: "endpoints[1].local", reason: "both endpoints have the same underlay address" },
        { property: "endpoints[0].local", reason: "local and remote are the same address" },
        { property: "endpoints[1].local", reason: "local and remote are the same address" },
      ],
    ],
    [
      "the two tunnel addresses equal",
      endpoint(1, { address: "10.10.10.2" }),
      [{ property: "endpoints[1].address", reason: "the two tunnel addresses are equal" }],
    ],
    [
      "a tunnel address equal to an underlay address",
      endpoint(0, { address: "198.51.100.11" }),
      [
        {
          property: "endpoints[0].address",
          reason: "a tunnel address must differ from the underlay addresses",
        },
      ],
    ],
    [
      "one endpoint",
      fieldNote({ endpoints: [(fieldNote().endpoints as unknown[])[0]] }),
      [{ property: "endpoints", reason: "a tunnel has exactly two endpoints" }],
    ],
    [
      "a property that does not exist",
      fieldNote({ keepalive: 10 }),
      [
        {
          property: "keepalive",
          reason:
            "is not a known property (known: name, mode, key, ttl, mtu, tcpMss, persist, ipsec, endpoints, credentials, verify)",
        },
      ],
    ],
    [
      "an MSS clamp that is neither clamp nor a number",
      fieldNote({ tcpMss: "1436" }),
      [{ property: "tcpMss", reason: 'must be "clamp" (to the path MTU) or a number of bytes' }],
    ],
    [
      "an MSS below what IPv4 guarantees",
      fieldNote({ tcpMss: 500 }),
      [{ property: "tcpMss", reason: "must be 536 or more" }],
    ],
    [
      "the field note's MSS 1436 with mtu 1400",
      fieldNote({ tcpMss: 1436, mtu: 1400 }),
      [
        {
          property: "tcpMss",
          reason:
            "is more than mtu 1400 allows (1400 − 40 bytes of IPv4 and TCP headers = 1360): segments would still not fit the tunnel",
        },
      ],
    ],
    [
      "a persisted tunnel with key 0",
      fieldNote({ key: 0, persist: true }),
      [
        {
          property: "key",
          reason:
            "0 cannot be persisted: systemd-networkd reads key 0 as no key; choose another key or persist: false",
        },
      ],
    ],
    [
      "persist that is not a boolean",
      fieldNote({ persist: "yes" }),
      [{ property: "persist", reason: "must be true or false" }],
    ],
    [
      "a connection without a host",
      endpoint(0, { connection: { user: "root" } }),
      [
        {
          property: "endpoints[0].connection.host",
          reason: "is required",
        },
      ],
    ],
    [
      "a host with shell characters",
      endpoint(0, { connection: { host: "r1;reboot" } }),
      [{ property: "endpoints[0].connection.host", reason: "must be a host name or an IP address" }],
    ],
    [
      "a host-key pin that is not a fingerprint",
      endpoint(0, { connection: { ...routerA, hostKey: "ssh-ed25519" } }),
      [
        {
          property: "endpoints[0].connection.hostKey",
          reason:
            "must be an OpenSSH SHA256 fingerprint (SHA256:<43 characters>) or a public key line (ssh-ed25519 AAAA…)",
        },
      ],
    ],
    [
      "a pre-shared key too short to be one",
      fieldNote({ ipsec: { psk: "short-key" } }),
      [{ property: "ipsec.psk", reason: "a pre-shared key of at least 16 characters" }],
    ],
    [
      "an IPsec proposal that strongSwan could read as anything but algorithm keywords",
      fieldNote({ ipsec: { psk: "a-key-of-sixteen-or-more", proposals: ["aes256 --debug"] } }),
      [
        {
          property: "ipsec.proposals[0]",
          reason:
            "a strongSwan proposal: lowercase algorithm keywords joined by '-' (e.g. aes256gcm16-prfsha384-x25519)",
        },
      ],
    ],
    [
      "an IPsec tunnel whose name has a dot",
      fieldNote({ name: "gre.1", ipsec: { psk: "a-key-of-sixteen-or-more" } }),
      [
        {
          property: "name",
          reason:
            "with ipsec, letters, digits, `_` and `-` only: strongSwan reads `.` in a connection name as a separator",
        },
      ],
    ],
    [
      "an IPsec end whose own name has a dot",
      {
        ...endpoint(1, { name: "gre.hub" }),
        ipsec: { psk: "a-key-of-sixteen-or-more" },
      },
      [
        {
          property: "endpoints[1].name",
          reason:
            "with ipsec, letters, digits, `_` and `-` only: strongSwan reads `.` in a connection name as a separator",
        },
      ],
    ],
    [
      "an end's own name that iproute2 reads as a keyword",
      endpoint(0, { name: "remote" }),
      [{ property: "endpoints[0].name", reason: expect.stringContaining("iproute2") }],
    ],
    [
      "three endpoints",
      fieldNote({
        endpoints: [
          ...(fieldNote().endpoints as unknown[]),
          { connection: { host: "169.254.100.13" }, local: "198.51.100.13" },
        ],
      }),
      [{ property: "endpoints", reason: "a tunnel has exactly two endpoints" }],
    ],
  ])("refuses %s", async (_title, news, expected) => {
    expect(await failures(news)).toEqual(expected);
  });

  it("fills in the IPsec proposals, and never repeats a pre-shared key in a failure", async () => {
    const psk = "a-pre-shared-key-of-enough-length";
    const checked = await checkRaw(greTunnelProvider, {
      ...fieldNote({ ipsec: { psk } }),
      __provider: "serialized",
    });
    expect(checked.inputs?.ipsec).toEqual({
      psk,
      proposals: ["aes256gcm16-prfsha384-x25519"],
      espProposals: ["aes256gcm16-x25519"],
    });
    const refused = await failures(fieldNote({ ipsec: { psk, proposals: [] } }));
    expect(refused).toEqual([{ property: "ipsec.proposals", reason: "at least one proposal" }]);
    expect(JSON.stringify(refused)).not.toContain(psk);
  });

  it("keeps an end's own interface name only when it differs from the tunnel's", async () => {
    const news = fieldNote({
      endpoints: [
        { name: "gre-routerB", connection: routerA, local: "198.51.100.11", address: "10.10.10.2" },
        { name: "gre1", connection: routerB, local: "198.51.100.12", address: "10.10.10.1" },
      ],
    });
    const result = await checkRaw(greTunnelProvider, { ...news, __provider: "serialized" });
    expect(result.failures).toBeUndefined();
    const endpoints = (result.inputs as unknown as NormalizedGreTunnel).endpoints;
    expect(endpoints.map((e) => e.name)).toEqual(["gre-routerB", undefined]);
    expect(
      endSpecs(withLiveConnections(result.inputs as unknown as NormalizedGreTunnel)).map((e) => e.name),
    ).toEqual(["gre-routerB", "gre1"]);
  });

  it("never repeats a secret in a failure", async () => {
    const secret = "hunter2-very-secret";
    const result = await failures(
      endpoint(0, { connection: { host: "169.254.100.11", password: secret, port: "22" } }),
    );
    expect(result).toEqual([{ property: "endpoints[0].connection.port", reason: "must be a number" }]);
    expect(JSON.stringify(result)).not.toContain(secret);
  });

  it("lets values unknown during a preview through, to be checked when known", async () => {
    const news = endpoint(1, { connection: { host: UNKNOWN, port: UNKNOWN }, local: UNKNOWN });
    const result = await checkRaw(greTunnelProvider, { ...news, __provider: "serialized" });
    expect(result.failures).toBeUndefined();
  });
});

describe("endSpecs", () => {
  function normalized(key: NormalizedGreTunnel["key"]): NormalizedGreTunnel {
    return {
      name: "gre1",
      key,
      ttl: 255,
      persist: false,
      verify: true,
      endpoints: [
        {
          connection: routerA,
          local: "198.51.100.11",
          remote: "198.51.100.12",
          address: "10.10.10.2",
          peerAddress: "10.10.10.1",
        },
        {
          connection: routerB,
          local: "198.51.100.12",
          remote: "198.51.100.11",
          address: "10.10.10.1",
          peerAddress: "10.10.10.2",
        },
      ],
      credentials: [{}, {}],
    };
  }
  it.each<[string, NormalizedGreTunnel["key"], Array<[number | undefined, number | undefined]>]>([
    [
      "one key for both directions",
      1,
      [
        [1, 1],
        [1, 1],
      ],
    ],
    [
      "mirrored input and output keys",
      { input: 5, output: 6 },
      [
        [5, 6],
        [6, 5],
      ],
    ],
    [
      "no key",
      undefined,
      [
        [undefined, undefined],
        [undefined, undefined],
      ],
    ],
  ])("gives each end its keys: %s", (_title, key, expected) => {
    expect(endSpecs(normalized(key)).map((s) => [s.ikey, s.okey])).toEqual(expected);
  });
});

describe("diffGreTunnel (offline)", () => {
  async function checked(news: Record<string, unknown>): Promise<NormalizedGreTunnel> {
    const result = await checkRaw(greTunnelProvider, news);
    return result.inputs as unknown as NormalizedGreTunnel;
  }
  async function state(extra: Partial<GreTunnelOutputs> = {}): Promise<GreTunnelOutputs> {
    const end = { present: true, up: true, drift: [] };
    return {
      ...(await checked(fieldNote())),
      ends: [end, end],
      hostKeys: ["SHA256:a", "SHA256:b"],
      ...extra,
    } as unknown as GreTunnelOutputs;
  }

  it.each<
    [
      string,
      Record<string, unknown>,
      Partial<GreTunnelOutputs>,
      { changes: boolean; replaces: string[]; reasons: string[] },
    ]
  >([
    ["nothing changed", fieldNote(), {}, { changes: false, replaces: [], reasons: [] }],
    [
      "a new key changes in place",
      fieldNote({ key: 2 }),
      {},
      { changes: true, replaces: [], reasons: ["key"] },
    ],
    [
      "ttl and mtu change in place",
      fieldNote({ ttl: 64, mtu: 1400 }),
      {},
      { changes: true, replaces: [], reasons: ["ttl", "mtu"] },
    ],
    [
      "a new tunnel address changes in place",
      endpoint(0, { address: "10.10.10.6" }),
      {},
      {
        changes: true,
        replaces: [],
        reasons: ["endpoints[0].address", "endpoints[1].peerAddress"],
      },
    ],
    [
      "another mode replaces (a state from before modes is gre)",
      fieldNote({
        mode: "gretap",
        endpoints: (fieldNote().endpoints as Array<Record<string, unknown>>).map((e) => ({
          ...e,
          address: undefined,
          bridge: "br-l2",
        })),
      }),
      {},
      {
        changes: true,
        replaces: ["mode"],
        reasons: [
          "mode",
          "endpoints[0].address",
          "endpoints[0].peerAddress",
          "endpoints[0].bridge",
          "endpoints[1].address",
          "endpoints[1].peerAddress",
          "endpoints[1].bridge",
        ],
      },
    ],
    [
      "gre written out is no change",
      fieldNote({ mode: "gre" }),
      {},
      { changes: false, replaces: [], reasons: [] },
    ],
    [
      "an end's own name replaces (another device on that router)",
      endpoint(1, { name: "gre-hub" }),
      {},
      { changes: true, replaces: ["endpoints[1].name"], reasons: ["endpoints[1].name"] },
    ],
    [
      "an end named as the tunnel is no change",
      endpoint(1, { name: "gre1" }),
      {},
      { changes: false, replaces: [], reasons: [] },
    ],
    [
      "a new name replaces",
      fieldNote({ name: "gre2" }),
      {},
      { changes: true, replaces: ["name"], reasons: ["name"] },
    ],
    [
      "a new underlay address replaces",
      endpoint(1, { local: "198.51.100.112" }),
      {},
      {
        changes: true,
        replaces: ["endpoints[0].remote", "endpoints[1].local"],
        reasons: ["endpoints[0].remote", "endpoints[1].local"],
      },
    ],
    [
      "another router replaces",
      endpoint(1, { connection: { ...routerB, host: "169.254.100.13" } }),
      {},
      {
        changes: true,
        replaces: ["endpoints[1].connection.host"],
        reasons: ["endpoints[1].connection.host"],
      },
    ],
    [
      "a rotated key (credential) is an update",
      endpoint(0, { connection: { ...routerA, privateKey: "rotated" } }),
      {},
      {
        changes: true,
        replaces: [],
        reasons: ["endpoints[0].connection (credentials)"],
      },
    ],
    [
      "a drifted end is an update that names the router",
      fieldNote(),
      {
        ends: [
          { drift: [] },
          { drift: ["routerB (root@169.254.100.12:22): gre1 is missing"] },
        ] as unknown as GreTunnelOutputs["ends"],
      },
      { changes: true, replaces: [], reasons: ["routerB (root@169.254.100.12:22): gre1 is missing"] },
    ],
  ])("%s", async (_title, news, old, expected) => {
    const result = diffGreTunnel(
      withLiveConnections(await state(old)),
      withLiveConnections(await checked(news)),
    );
    expect(result).toEqual({ ...expected, deleteBeforeReplace: expected.replaces.length > 0 });
  });

  it("treats an unknown replace-triggering value as a replace", async () => {
    const news = await checked(fieldNote());
    const unknownName = { ...news, name: UNKNOWN };
    expect(diffGreTunnel(await state(), unknownName).replaces).toEqual(["name"]);
  });
});
