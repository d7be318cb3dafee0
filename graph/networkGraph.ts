/**
 * A deployed network as a picture: its routers, the tunnels between them (each router's interface
 * name and tunnel address, the key, the mode) and each tunnel's health, from the GreTunnel
 * resources of a stack's state; then as Graphviz DOT, coloured by health. Pure.
 *
 * @packageDocumentation
 */
import { tunnelDrift, tunnelState, type TunnelEndState, type TunnelState } from "../model/endState";
import type { StackResource } from "./stackState";

/** GreTunnel's type token, as Pulumi records a dynamic resource with its own type. */
export const GRE_TUNNEL_TYPE = "pulumi-nodejs:dynamic/gre:GreTunnel";

/** A router: where it is reached, and its name. */
export interface GraphRouter {
  id: string;
  label: string;
}

/** One end of a tunnel in the picture. */
export interface GraphEnd {
  router: string;
  interface: string;
  address: string | null;
}

/** A tunnel between two routers, with its state and what is wrong. */
export interface GraphTunnel {
  resource: string;
  mode: string;
  key: string | null;
  ends: [GraphEnd, GraphEnd];
  state: TunnelState;
  /** The health's loss and round trip, when pinged. */
  health: string | null;
  /** What differs or fails, naming the routers. */
  problems: string[];
}

/** The picture's content. */
export interface NetworkGraph {
  routers: GraphRouter[];
  tunnels: GraphTunnel[];
}

/** The colour of each state: green carries traffic, orange drifted, red carries nothing, grey unread. */
export const STATE_COLOURS: Record<TunnelState, string> = {
  up: "#2e7d32",
  drift: "#ef6c00",
  "no-traffic": "#c62828",
  down: "#c62828",
  unknown: "#757575",
};

interface Endpoint {
  name?: string;
  address?: string;
  connection?: { host?: string; port?: number; name?: string };
}

interface TunnelOutputs {
  name?: string;
  mode?: string;
  key?: number | { input: number; output: number };
  endpoints?: Endpoint[];
  ends?: TunnelEndState[];
  health?: { reachable: boolean; loss: number; rttMs: number | null } | null;
  drift?: string[];
}

function routerOf(end: Endpoint): GraphRouter {
  const host = end.connection?.host ?? "?";
  return { id: `${host}:${end.connection?.port ?? 22}`, label: end.connection?.name ?? host };
}

function keyText(key: TunnelOutputs["key"]): string | null {
  if (key === undefined) return null;
  return typeof key === "number" ? `key ${key}` : `ikey ${key.input} okey ${key.output}`;
}

/** The routers and tunnels of a stack's GreTunnel resources. */
export function networkGraph(resources: readonly StackResource[]): NetworkGraph {
  const routers = new Map<string, GraphRouter>();
  const tunnels: GraphTunnel[] = [];
  for (const resource of resources.filter((r) => r.type === GRE_TUNNEL_TYPE)) {
    const t = resource.outputs as TunnelOutputs;
    const endpoints = t.endpoints ?? [];
    if (endpoints.length !== 2) continue;
    const problems = tunnelDrift(t.ends, t.drift);
    const ends = endpoints.map((e): GraphEnd => {
      const router = routerOf(e);
      if (!routers.has(router.id)) routers.set(router.id, router);
      return { router: router.id, interface: e.name ?? t.name ?? "?", address: e.address ?? null };
    }) as [GraphEnd, GraphEnd];
    tunnels.push({
      resource: resource.name,
      mode: t.mode ?? "gre",
      key: keyText(t.key),
      ends,
      state: tunnelState(t.ends, t.health, problems),
      health: t.health
        ? `loss ${t.health.loss}%${t.health.rttMs === null ? "" : `, ${t.health.rttMs} ms`}`
        : null,
      problems,
    });
  }
  return { routers: [...routers.values()], tunnels };
}

/** A DOT string literal. */
function quoted(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** The graph as Graphviz DOT: routers as boxes, tunnels as edges coloured by state, a legend. */
export function toDot(graph: NetworkGraph, title: string): string {
  const lines = [
    "graph network {",
    `  graph [label=${quoted(title)}, labelloc=t, fontname="Helvetica", rankdir=LR, nodesep=0.6];`,
    '  node [shape=box, style="rounded,filled", fillcolor="#eceff1", fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=10, penwidth=2.5];',
  ];
  graph.routers.forEach((router, i) =>
    lines.push(`  r${i} [label=${quoted(router.label)}, tooltip=${quoted(router.id)}];`),
  );
  const node = (id: string) => `r${graph.routers.findIndex((r) => r.id === id)}`;
  for (const t of graph.tunnels) {
    const side = (e: GraphEnd) => `${e.interface}${e.address ? ` ${e.address}` : ""}`;
    const label = [`${t.mode}${t.key ? `, ${t.key}` : ""}`, t.state, ...(t.health ? [t.health] : [])].join(
      "\n",
    );
    const tooltip = [t.resource, ...t.problems].join("\n");
    lines.push(
      `  ${node(t.ends[0].router)} -- ${node(t.ends[1].router)} [label=${quoted(label)}, taillabel=${quoted(side(t.ends[0]))}, ` +
        `headlabel=${quoted(side(t.ends[1]))}, color=${quoted(STATE_COLOURS[t.state])}, fontcolor=${quoted(STATE_COLOURS[t.state])}, ` +
        `tooltip=${quoted(tooltip)}${t.state === "up" ? "" : ', style="dashed"'}];`,
    );
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}
