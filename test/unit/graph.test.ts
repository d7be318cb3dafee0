/**
 * `npm run graph`: a deployed stack's routers and tunnels from its state, as SVG rendered by
 * Graphviz (WebAssembly). The states are the dev stack's on the lab as the stand-in engine wrote
 * them after `up` and after routerB's end was deleted and refreshed (secrets cut out of the
 * fixtures); the same resources in `pulumi stack export`'s form read the same.
 */
import { readFileSync } from "fs";
import * as path from "path";
import { parseArgs, renderStack } from "../../graph/cli";
import { networkGraph, STATE_COLOURS } from "../../graph/networkGraph";
import { parseStackState } from "../../graph/stackState";

const FIXTURES = path.resolve(__dirname, "../fixtures/graph");
const UP = path.join(FIXTURES, "dev-up.json");
const DELETED = path.join(FIXTURES, "dev-end-deleted.json");

/** The texts an SVG shows, and the colours its edges are drawn in. */
function shown(svg: string): { texts: string[]; strokes: string[] } {
  const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&#45;/g, "-"));
  const edges = [...svg.matchAll(/<g id="edge\d+" class="edge">[^]*?<path [^>]*stroke="(#[0-9a-f]+)"/g)];
  return { texts, strokes: edges.map((m) => m[1]) };
}

/** The stand-in engine's state in the form `pulumi stack export` writes. */
function asPulumiExport(file: string): string {
  const state = JSON.parse(readFileSync(file, "utf8")) as {
    resources: Array<{ urn: string; type: string; id: string; outputs: unknown; custom: boolean }>;
  };
  return JSON.stringify({
    version: 3,
    deployment: {
      manifest: { time: "2026-12-05T10:00:00Z", magic: "", version: "v3.248.0" },
      resources: state.resources.map((r) => ({
        urn: r.urn,
        custom: r.custom,
        id: r.id,
        type: r.type,
        outputs: r.outputs,
      })),
    },
  });
}

describe("the network graph", () => {
  it("finds the routers and the tunnel, its ends' interfaces and addresses, and its state", () => {
    const up = networkGraph(parseStackState(readFileSync(UP, "utf8"), UP));
    expect(up.routers).toEqual([
      { id: "169.254.100.11:22", label: "routerA" },
      { id: "169.254.100.12:22", label: "routerB" },
    ]);
    expect(up.tunnels).toEqual([
      expect.objectContaining({
        resource: "routerA-routerB-gre1",
        mode: "gre",
        key: "key 1",
        ends: [
          { router: "169.254.100.11:22", interface: "gre1", address: "10.10.10.2" },
          { router: "169.254.100.12:22", interface: "gre1", address: "10.10.10.1" },
        ],
        state: "up",
        problems: [],
      }),
    ]);
    const deleted = networkGraph(parseStackState(readFileSync(DELETED, "utf8"), DELETED));
    expect(deleted.tunnels[0].state).toBe("down");
    expect(deleted.tunnels[0].problems).toContain("routerB (root@169.254.100.12:22): gre1 is missing");
  });

  it("reads `pulumi stack export` output as the stand-in engine's state, and keeps no secret", () => {
    const exported = parseStackState(asPulumiExport(UP), "export.json");
    expect(exported).toEqual(parseStackState(readFileSync(UP, "utf8"), UP));
    expect(JSON.stringify(exported)).not.toContain("ciphertext");
    expect(() => parseStackState('{"version": 2}', "old.json")).toThrow(
      "old.json: neither `pulumi stack export` output (version 3) nor a stand-in engine state (version 1)",
    );
    expect(() => parseStackState("not json", "bad.json")).toThrow(/^bad\.json: not JSON/);
  });

  it("draws every router and tunnel as SVG, and an unhealthy tunnel in another colour", async () => {
    const healthy = shown(await renderStack({ state: UP, cwd: FIXTURES }));
    expect(healthy.texts).toEqual(
      expect.arrayContaining([
        "routerA",
        "routerB",
        "gre1 10.10.10.2",
        "gre1 10.10.10.1",
        "gre, key 1",
        "up",
      ]),
    );
    expect(healthy.strokes).toEqual([STATE_COLOURS.up]);
    const broken = shown(await renderStack({ state: DELETED, cwd: FIXTURES }));
    expect(broken.texts).toEqual(expect.arrayContaining(["routerA", "routerB", "down", "loss 100%"]));
    expect(broken.strokes).toEqual([STATE_COLOURS.down]);
    expect(STATE_COLOURS.down).not.toBe(STATE_COLOURS.up);
  });

  it.each<[string[], string]>([
    [[], "give either --stack or --state"],
    [["--stack", "dev", "--state", "x.json"], "give either --stack or --state"],
    [["--stack"], "--stack needs a value"],
    [["--colour", "red"], "unknown argument --colour"],
  ])("refuses %j: %s", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
});
