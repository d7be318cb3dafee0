/**
 * GreTunnel's inputs as the routers have them (what read returns, and Pulumi renders against the
 * program's): each kind of drift shows as the property it changed, on the end it changed.
 */
import type { NormalizedGreTunnel } from "../../model/greTunnel";
import { observedInputs } from "../../providers/greTunnel/observedInputs";
import type { GreEndState } from "../../providers/greTunnel/spec";

const declared: NormalizedGreTunnel = {
  name: "gre1",
  key: 1,
  ttl: 255,
  mtu: 1400,
  tcpMss: "clamp",
  persist: true,
  verify: true,
  endpoints: [
    {
      connection: { host: "169.254.100.11" },
      local: "198.51.100.11",
      remote: "198.51.100.12",
      address: "10.10.10.2",
      peerAddress: "10.10.10.1",
    },
    {
      connection: { host: "169.254.100.12" },
      local: "198.51.100.12",
      remote: "198.51.100.11",
      address: "10.10.10.1",
      peerAddress: "10.10.10.2",
    },
  ],
  credentials: [{}, {}],
};

/** An end as the outputs record it when it is as declared. */
function asDeclared(i: 0 | 1): GreEndState {
  const end = declared.endpoints[i];
  return {
    router: `router${"AB"[i]}`,
    host: end.connection.host,
    present: true,
    up: true,
    ifindex: 7,
    local: end.local,
    remote: end.remote,
    ikey: 1,
    okey: 1,
    ttl: 255,
    mtu: 1400,
    address: end.address!,
    peerAddress: end.peerAddress!,
    drift: [],
    persisted: true,
    tcpMss: { firewall: "nftables", setting: "clamp", mss: 1360, persisted: null },
    ipsec: null,
  };
}

const endB = (change: Partial<GreEndState>): [GreEndState, GreEndState] => [
  asDeclared(0),
  { ...asDeclared(1), ...change },
];
const withEndB = (change: Record<string, unknown>, drop: string[] = []) => {
  const b: Record<string, unknown> = { ...declared.endpoints[1], ...change };
  for (const key of drop) delete b[key];
  return { ...declared, endpoints: [declared.endpoints[0], b] };
};

describe("GreTunnel's observed inputs", () => {
  it.each<[string, [GreEndState, GreEndState], unknown]>([
    ["both ends as declared: the declared inputs", [asDeclared(0), asDeclared(1)], declared],
    [
      "routerB's gre1 gone: its end without tunnel addresses",
      endB({ present: false, persisted: true }),
      withEndB({}, ["address", "peerAddress"]),
    ],
    ["routerB's address removed", endB({ address: null }), withEndB({}, ["address"])],
    ["routerB's address changed", endB({ address: "10.10.10.9" }), withEndB({ address: "10.10.10.9" })],
    [
      "routerB's keys changed to 7: the key as seen from endpoints[0]",
      endB({ ikey: 7, okey: 7 }),
      { ...declared, key: 7 },
    ],
    [
      "routerB sends with key 7, receives with 1",
      endB({ ikey: 1, okey: 7 }),
      { ...declared, key: { input: 7, output: 1 } },
    ],
    ["routerB's TTL 64", endB({ ttl: 64 }), { ...declared, ttl: 64 }],
    ["routerB's boot files missing", endB({ persisted: false }), { ...declared, persist: false }],
    [
      "routerB's clamp unit missing or disabled",
      endB({ tcpMss: { firewall: "nftables", setting: "clamp", mss: 1360, persisted: false } }),
      { ...declared, persist: false },
    ],
    ["routerB's clamp missing", endB({ tcpMss: null }), (({ tcpMss: _tcpMss, ...rest }) => rest)(declared)],
  ])("%s", (_title, ends, expected) => {
    expect(observedInputs(declared, ends)).toStrictEqual(expected);
  });
});
