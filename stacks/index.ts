/**
 * The pulumi-gre stack (Pulumi.yaml points here): routers and tunnels from the stack's config,
 * validated before anything is declared. `Pulumi.dev.yaml` is the field note on the lab.
 *
 *   pulumi-gre:routers   routers: lab (or connection), underlay, lans
 *   pulumi-gre:tunnels   tunnels: name, key, ttl, mtu, ends (router, address, routes)
 *   pulumi-gre:settings  persist, unloadModulesOnDestroy, allowNoTunnels
 *
 * See README.md for the schema and an example for real routers.
 */
import * as pulumi from "@pulumi/pulumi";
import { inventoryRouter, labConnection, readInventory } from "../lab/inventory";
import { readStackConfig } from "./config";
import { configConnections, declareNetwork } from "./program";

const config = new pulumi.Config("pulumi-gre");
const network = declareNetwork(
  readStackConfig(pulumi.runtime.allConfig()),
  // The lab's one seam: its inventory file, read only when a router says `lab: NAME`.
  configConnections(config, (name) => labConnection(inventoryRouter(readInventory(), name))),
);

/** Per tunnel: id, interface, routers, addresses, key, ttl, state, drift. */
export const tunnels = network.tunnels;
/** Per router: underlay, lans, the prefixes it reaches through tunnels, its tunnels. */
export const routers = network.routers;
