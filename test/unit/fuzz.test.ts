/**
 * No input crashes the checks: generated inputs — valid ones with a part replaced by a hostile or
 * random value, and random values outright — reach the stack config's parser and every provider's
 * `check`, and each is accepted or refused with problems that name a path and a reason; none
 * throws anything else. Bounded: a fixed number of runs per property, each property stopped after
 * FUZZ_SECONDS (default 5) and passing with the runs made by then. fast-check prints the seed and
 * the smallest failing input; `FUZZ_SEED=N` replays it.
 */
import * as fc from "fast-check";
import { greTunnelProvider } from "../../providers/greTunnel/lifecycle";
import { kernelModuleProvider } from "../../providers/oneRouter/kernelModule";
import { sysctlProvider } from "../../providers/oneRouter/sysctl";
import { tunnelRouteProvider } from "../../providers/oneRouter/tunnelRoute";
import { parseStackConfig, readStackConfig, type StackConfigError } from "../../stacks/config";
import { checkRaw, type AnyProvider } from "../support/rawCalls";

const seconds = Number(process.env.FUZZ_SECONDS ?? 5);
const options = {
  numRuns: 2000,
  interruptAfterTimeLimit: seconds * 1000,
  ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}),
};

/** Values a hostile or careless user types where a value goes: each class once. */
const HOSTILE = [
  "",
  "-x",
  "--help",
  "::",
  "0",
  "0.0.0.0",
  "::ffff:127.0.0.1",
  "2002:c000:204::1",
  "2001:DB8:0::1",
  "fe80::1%eth0",
  "10.0.0.0/33",
  "10.0.0.1/24",
  "::/0",
  "0.0.0.0/0",
  "../../etc/shadow",
  "a\nb",
  "\u001b[31m",
  "\u202e",
  "$(id)",
  "csum",
  "__proto__",
  "constructor",
  "x".repeat(70_000),
  -1,
  0,
  1.5,
  2 ** 32,
  Number.NaN,
  true,
  null,
  [],
  {},
  { input: -1, output: "x" },
];

/** A value from the hostile pool or anything at all. */
const replacement = fc.oneof(fc.constantFrom(...HOSTILE), fc.anything({ maxDepth: 3 }));

/** The paths to every value in `value` (objects and arrays walked). */
function paths(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== "object") return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

/** `value` with the value at `path` replaced (or, at the top, `value` itself replaced). */
function replaced(value: unknown, path: Array<string | number>, by: unknown): unknown {
  if (path.length === 0) return by;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >;
  copy[path[0]] = replaced(copy[path[0]], path.slice(1), by);
  return copy;
}

/** Valid `base` with one to three of its parts replaced. */
function mutationsOf(base: unknown): fc.Arbitrary<unknown> {
  const all = paths(base);
  return fc
    .array(fc.tuple(fc.nat(all.length - 1), replacement), { minLength: 1, maxLength: 3 })
    .map((changes) => changes.reduce((v, [i, by]) => replaced(v, all[i], by), base));
}

const connection = {
  host: "169.254.100.12",
  privateKey: "key",
  name: "routerB",
  proxy: { host: "192.0.2.9" },
};
const BASES: Array<[string, AnyProvider, Record<string, unknown>]> = [
  [
    "GreTunnel",
    greTunnelProvider,
    {
      name: "gre1",
      mode: "gre",
      key: { input: 1, output: 2 },
      ttl: 255,
      mtu: 1400,
      tcpMss: "clamp",
      persist: true,
      endpoints: [
        {
          connection: { ...connection, host: "169.254.100.11" },
          local: "198.51.100.11",
          address: "10.10.10.2",
        },
        {
          connection,
          local: "198.51.100.12",
          remote: "198.51.100.11",
          address: "10.10.10.1",
          peerAddress: "10.10.10.2",
        },
      ],
    },
  ],
  ["KernelModule", kernelModuleProvider, { connection, name: "ip_gre", persist: true, unloadOnDelete: true }],
  [
    "Sysctl",
    sysctlProvider,
    { connection, key: "net.ipv4.conf.eth0/100.rp_filter", value: 2, persist: true },
  ],
  [
    "TunnelRoute",
    tunnelRouteProvider,
    {
      connection,
      destination: "10.1.1.0/24",
      metric: 5,
      table: "main",
      persist: true,
      tunnel: {
        name: "gre1",
        local: "198.51.100.12",
        remote: "198.51.100.11",
        address: "10.10.10.1",
        peerAddress: "10.10.10.2",
      },
    },
  ],
];

/** Whether a check's answer is an acceptance or a refusal naming each problem's property and reason. */
function wellFormed(result: { inputs?: unknown; failures?: Array<{ property: string; reason: string }> }) {
  if (result.failures === undefined || result.failures.length === 0) return result.inputs !== undefined;
  return result.failures.every((f) => typeof f.property === "string" && f.reason.length > 0);
}

describe("no input crashes a provider's check", () => {
  it.each(BASES)(
    "%s: its valid inputs with parts replaced, and anything at all",
    async (_name, provider, base) => {
      const news = fc.oneof(
        { weight: 4, arbitrary: mutationsOf(base) },
        { weight: 1, arbitrary: fc.anything({ maxDepth: 4 }) },
      );
      await fc.assert(
        fc.asyncProperty(news, async (value) => {
          const inputs =
            value !== null && typeof value === "object" && !Array.isArray(value) ? value : { value };
          const result = await checkRaw(provider, { ...(inputs as object), __provider: "serialized" });
          expect(wellFormed(result)).toBe(true);
        }),
        options,
      );
    },
    (seconds + 30) * 1000,
  );
});

const ROUTERS = {
  routerA: {
    lab: "routerA",
    underlay: "198.51.100.11",
    underlay6: "2001:db8:1::11",
    lans: ["10.2.1.0/24", "2001:db8:a::/64"],
  },
  routerB: {
    connection: { host: "2001:db8:ff::12", privateKeySecret: "bKey", proxy: { host: "192.0.2.99" } },
    underlay: "198.51.100.12",
    underlay6: "2001:db8:1::12",
    lans: ["10.1.1.0/24"],
  },
};
const TUNNELS = [
  {
    name: "gre1",
    key: 1,
    tcpMss: 1400,
    ends: [
      { router: "routerA", address: "10.10.10.2", allowCapture: false },
      { router: "routerB", address: "10.10.10.1", routes: ["10.2.1.0/24", "2001:db8:a::/64"] },
    ],
  },
  {
    name: "tap6",
    mode: "ip6gretap",
    key: { input: 2, output: 3 },
    ends: [
      { router: "routerA", bridge: "br0" },
      { router: "routerB", bridge: "br0", local: "2001:db8:1::12" },
    ],
  },
];

/** The refusal a config gets, or undefined when it is accepted; anything else thrown fails the test. */
function refusal(run: () => unknown): StackConfigError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    const problems = (error as StackConfigError).problems;
    if (!Array.isArray(problems) || problems.length === 0) throw error;
    return error as StackConfigError;
  }
}

describe("no config crashes the stack's validation", () => {
  const config = { routers: ROUTERS, tunnels: TUNNELS, settings: { persist: false } };
  it(
    "the parsed config: valid with parts replaced",
    () => {
      fc.assert(
        fc.property(mutationsOf(config), (value) => {
          const raw = (value !== null && typeof value === "object" ? value : {}) as Parameters<
            typeof parseStackConfig
          >[0];
          const refused = refusal(() => parseStackConfig(raw));
          for (const p of refused?.problems ?? []) expect(p.reason.length).toBeGreaterThan(0);
        }),
        options,
      );
    },
    (seconds + 30) * 1000,
  );

  it(
    "the config text: each key's value replaced by any text",
    () => {
      const keys = ["routers", "tunnels", "settings", "bKey"];
      const text = fc.oneof(
        fc.string(),
        fc.json({ maxDepth: 4 }),
        fc.constantFrom("[]", "{}", "null", "{", "x".repeat(10)),
      );
      fc.assert(
        fc.property(fc.constantFrom(...keys), text, (key, value) => {
          const all: Record<string, string> = {
            "pulumi-gre:routers": JSON.stringify(ROUTERS),
            "pulumi-gre:tunnels": JSON.stringify(TUNNELS),
            "pulumi-gre:bKey": "-----BEGIN OPENSSH PRIVATE KEY-----",
            [`pulumi-gre:${key}`]: value,
          };
          refusal(() => readStackConfig(all));
        }),
        options,
      );
    },
    (seconds + 30) * 1000,
  );
});
