/**
 * The stack program on Pulumi's runtime with a recording monitor: which resources, with which
 * inputs and dependencies, a configuration yields, and that a bad configuration yields none.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, readStackConfig } from "../../stacks/config";
import { configConnections, declareNetwork, type ConnectionResolver } from "../../stacks/program";
import { installMonitor, reveal, runProgram, type Registration } from "../../tools/engine/monitor";
import { loadProject } from "../../tools/engine/engine";
import { IpForwarding } from "../../resources/sysctl";
import { GreTunnel, TunnelRoutes } from "../../index";

const ROOT = path.resolve(__dirname, "../..");

/** Connections as the lab's inventory would give them, without a lab. */
const labLike: ConnectionResolver = (name) =>
  pulumi.secret({
    name,
    host: name === "routerA" ? "169.254.100.11" : "169.254.100.12",
    port: 22,
    user: "root",
    proxyCommand: ["ip", "netns", "exec", "grelab-test", "socat", "-", "TCP:%h:%p"],
    hostKey: "SHA256:" + "A".repeat(43),
    privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----\n",
  });

/** Runs `declare` as a stack and returns what it registered, with secrets revealed but noted. */
async function registrations(
  config: Record<string, string>,
  declare: () => unknown,
  secretKeys: string[] = [],
): Promise<{ resources: Registration[]; outputs: unknown }> {
  const resources: Registration[] = [];
  installMonitor(
    async (r) => {
      resources.push(r);
      return { id: r.custom ? `${r.name}-id` : undefined, state: r.inputs };
    },
    { main: ROOT, project: "pulumi-gre", stack: "dev", preview: false, config, secretKeys },
  );
  const outputs = await pulumi.runtime.runInPulumiStack(async () => declare());
  // Registrations that wait on other resources' outputs (the routes on the tunnel's) finish later.
  await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
  return { resources, outputs };
}

function summary(r: Registration) {
  const { plain, secret } = reveal(r.inputs);
  delete plain.__provider;
  return {
    type: r.type,
    name: r.name,
    inputs: plain,
    secret,
    dependencies: r.dependencies.map((d) => d.split("::").pop()),
  };
}

describe("the stack program", () => {
  it("declares the field note from Pulumi.dev.yaml: modules, forwarding, the tunnel after both modules, routes after the tunnel", async () => {
    const { config } = loadProject(ROOT, "dev");
    const stackConfig = parseStackConfig({
      routers: JSON.parse(config["pulumi-gre:routers"]),
      tunnels: JSON.parse(config["pulumi-gre:tunnels"]),
      settings: JSON.parse(config["pulumi-gre:settings"]),
    });
    const { resources, outputs } = await registrations(config, () => declareNetwork(stackConfig, labLike));
    const connA = {
      name: "routerA",
      host: "169.254.100.11",
      port: 22,
      user: "root",
      proxyCommand: ["ip", "netns", "exec", "grelab-test", "socat", "-", "TCP:%h:%p"],
      hostKey: "SHA256:" + "A".repeat(43),
      privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----\n",
    };
    const connB = { ...connA, name: "routerB", host: "169.254.100.12" };
    const plain = ({ privateKey: _key, ...rest }: typeof connA) => rest;
    // The tunnel's remote comes from its provider's check; this monitor answers with the inputs.
    const tunnelOf = (local: string, address: string, peerAddress: string) => ({
      name: "gre1",
      local,
      address,
      peerAddress,
    });
    // Registration order depends on timing; the dependencies say what must come first.
    const byName = (x: { name: string }, y: { name: string }) => x.name.localeCompare(y.name);
    expect(resources.map(summary).sort(byName)).toEqual(
      [
        { type: "pulumi:pulumi:Stack", name: "pulumi-gre-dev", inputs: {}, secret: [], dependencies: [] },
        {
          type: "pulumi-nodejs:dynamic/gre:KernelModule",
          name: "routerA-ip_gre",
          inputs: {
            connection: plain(connA),
            credentials: { privateKey: connA.privateKey },
            name: "ip_gre",
            persist: false,
            unloadOnDelete: true,
          },
          secret: ["credentials"],
          dependencies: [],
        },
        {
          type: "pulumi-nodejs:dynamic/gre:KernelModule",
          name: "routerB-ip_gre",
          inputs: {
            connection: plain(connB),
            credentials: { privateKey: connB.privateKey },
            name: "ip_gre",
            persist: false,
            unloadOnDelete: true,
          },
          secret: ["credentials"],
          dependencies: [],
        },
        {
          type: "pulumi-nodejs:dynamic/gre:Sysctl",
          name: "routerA-ip_forward",
          inputs: {
            connection: plain(connA),
            credentials: { privateKey: connA.privateKey },
            key: "net.ipv4.ip_forward",
            value: 1,
            persist: false,
          },
          secret: ["credentials"],
          dependencies: [],
        },
        {
          type: "pulumi-nodejs:dynamic/gre:Sysctl",
          name: "routerB-ip_forward",
          inputs: {
            connection: plain(connB),
            credentials: { privateKey: connB.privateKey },
            key: "net.ipv4.ip_forward",
            value: 1,
            persist: false,
          },
          secret: ["credentials"],
          dependencies: [],
        },
        {
          type: "pulumi-nodejs:dynamic/gre:GreTunnel",
          name: "routerA-routerB-gre1",
          inputs: {
            name: "gre1",
            key: 1,
            ttl: 255,
            persist: false,
            // The endpoints plain (hosts, users, addresses); their secrets apart, in credentials.
            endpoints: [
              {
                connection: plain(connA),
                local: "198.51.100.11",
                address: "10.10.10.2",
                peerAddress: "10.10.10.1",
              },
              {
                connection: plain(connB),
                local: "198.51.100.12",
                address: "10.10.10.1",
                peerAddress: "10.10.10.2",
              },
            ],
            credentials: [{ privateKey: connA.privateKey }, { privateKey: connB.privateKey }],
          },
          secret: ["credentials"],
          dependencies: ["routerA-ip_gre", "routerB-ip_gre"],
        },
        {
          type: "gre:index:TunnelRoutes",
          name: "routerA-routerB-gre1-routes",
          inputs: {},
          secret: [],
          dependencies: [],
        },
        {
          type: "pulumi-nodejs:dynamic/gre:TunnelRoute",
          name: "routerA-routerB-gre1-routes-routerA-10.1.1.0_24",
          inputs: {
            connection: plain(connA),
            credentials: { privateKey: connA.privateKey },
            destination: "10.1.1.0/24",
            persist: false,
            tunnel: tunnelOf("198.51.100.11", "10.10.10.2", "10.10.10.1"),
          },
          secret: ["credentials"],
          dependencies: ["routerA-routerB-gre1"],
        },
        {
          type: "pulumi-nodejs:dynamic/gre:TunnelRoute",
          name: "routerA-routerB-gre1-routes-routerB-10.2.1.0_24",
          inputs: {
            connection: plain(connB),
            credentials: { privateKey: connB.privateKey },
            destination: "10.2.1.0/24",
            persist: false,
            tunnel: tunnelOf("198.51.100.12", "10.10.10.1", "10.10.10.2"),
          },
          secret: ["credentials"],
          dependencies: ["routerA-routerB-gre1"],
        },
      ].sort(byName),
    );
    expect(outputs).toEqual({
      tunnels: [
        {
          id: "routerA-routerB-gre1",
          interface: "gre1",
          interfaces: { routerA: "gre1", routerB: "gre1" },
          routers: ["routerA", "routerB"],
          mode: "gre",
          addresses: { routerA: "10.10.10.2", routerB: "10.10.10.1" },
          key: 1,
          ttl: 255,
          state: "unknown",
          drift: [],
          ipsec: null,
          health: null,
        },
      ],
      routers: {
        routerA: {
          underlay: "198.51.100.11",
          underlay6: null,
          lans: ["10.2.1.0/24"],
          reachable: ["10.1.1.0/24"],
          tunnels: ["routerA-routerB-gre1"],
        },
        routerB: {
          underlay: "198.51.100.12",
          underlay6: null,
          lans: ["10.1.1.0/24"],
          reachable: ["10.2.1.0/24"],
          tunnels: ["routerA-routerB-gre1"],
        },
      },
    });
  });

  it("TunnelRoutes takes its LANs and router names as outputs (a stack reference's), and routes through each end's own interface", async () => {
    const hq = { host: "203.0.113.10", privateKey: "KEY-HQ" };
    const branch = { host: "203.0.113.20", privateKey: "KEY-BRANCH" };
    const { resources } = await registrations({}, () => {
      const tunnel = new GreTunnel("hq-branch1", {
        name: "gre-branch1",
        key: 7,
        endpoints: [
          {
            connection: hq,
            local: "198.51.100.10",
            remote: "198.51.100.20",
            address: "10.10.10.1",
            peerAddress: "10.10.10.2",
          },
          {
            name: "gre-hq",
            connection: branch,
            local: "198.51.100.20",
            remote: "198.51.100.10",
            address: "10.10.10.2",
            peerAddress: "10.10.10.1",
          },
        ],
      });
      // As StackReference.getOutput gives them: outputs, known in a preview.
      const lans = pulumi.output([["10.1.1.0/24"], ["10.2.1.0/24", "10.2.2.0/24"]] as const);
      new TunnelRoutes("hq-branch1-routes", {
        tunnel,
        lans: lans.apply(([a, b]) => [a, pulumi.output(b)] as const),
        routers: [pulumi.output("hq"), "branch1"],
        metric: pulumi.output(50),
      });
    });
    const routes = resources
      .filter((r) => r.type === "pulumi-nodejs:dynamic/gre:TunnelRoute")
      .map(summary)
      .map((r) => [
        r.name,
        r.inputs.destination,
        (r.inputs.tunnel as { name: string }).name,
        r.inputs.metric,
        r.dependencies,
      ]);
    expect(routes.sort()).toEqual([
      ["hq-branch1-routes-branch1-10.1.1.0_24", "10.1.1.0/24", "gre-hq", 50, ["hq-branch1"]],
      ["hq-branch1-routes-hq-10.2.1.0_24", "10.2.1.0/24", "gre-branch1", 50, ["hq-branch1"]],
      ["hq-branch1-routes-hq-10.2.2.0_24", "10.2.2.0/24", "gre-branch1", 50, ["hq-branch1"]],
    ]);
  });

  it("IpForwarding enables the families it is given: one Sysctl per family, a second one its child; a bad list is refused", async () => {
    const connection = { host: "203.0.113.10", privateKey: "key" };
    const { resources } = await registrations({}, () => {
      new IpForwarding("r-v4", { connection });
      new IpForwarding("r-v6", { connection, families: ["ipv6"], persist: true });
      new IpForwarding("r-both", { connection, families: ["ipv4", "ipv6"] });
    });
    const sysctls = resources
      .filter((r) => r.type.endsWith("gre:Sysctl"))
      .map((r) => [
        r.name,
        reveal(r.inputs).plain.key,
        reveal(r.inputs).plain.persist,
        r.parent.split("::").pop(),
      ])
      .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
    expect(sysctls).toEqual([
      ["r-both", "net.ipv4.ip_forward", undefined, "pulumi-gre-dev"],
      ["r-both-ipv6", "net.ipv6.conf.all.forwarding", undefined, "r-both"],
      ["r-v4", "net.ipv4.ip_forward", undefined, "pulumi-gre-dev"],
      ["r-v6", "net.ipv6.conf.all.forwarding", true, "pulumi-gre-dev"],
    ]);
    for (const families of [[], ["ipv4", "ipv4"], ["ipx"]])
      expect(() => new IpForwarding("bad", { connection, families: families as never })).toThrow(
        /^IpForwarding bad: families must/,
      );
  });

  it("reaches a real router with the key from a secret config value, and sudo", async () => {
    const raw = {
      routers: {
        edge1: {
          connection: {
            host: "203.0.113.10",
            user: "netops",
            sudo: true,
            hostKey: "SHA256:" + "B".repeat(43),
            privateKeySecret: "edgeKey",
          },
          underlay: "198.51.100.21",
          lans: ["10.21.0.0/16"],
        },
        edge2: {
          connection: { host: "203.0.113.20", user: "netops", sudo: true },
          underlay: "198.51.100.22",
          lans: ["10.22.0.0/16"],
        },
      },
      tunnels: [
        {
          name: "gre-edge",
          key: 7,
          ends: [
            { router: "edge1", address: "10.255.0.1" },
            { router: "edge2", address: "10.255.0.2" },
          ],
        },
      ],
    };
    const config = { "pulumi-gre:edgeKey": "EDGE1 KEY", "pulumi-gre:sshPrivateKey": "DEFAULT KEY" };
    const noLab = () => {
      throw new Error("no lab here");
    };
    const { resources } = await registrations(
      config,
      () => declareNetwork(parseStackConfig(raw), configConnections(new pulumi.Config("pulumi-gre"), noLab)),
      ["pulumi-gre:edgeKey", "pulumi-gre:sshPrivateKey"],
    );
    const modules = resources
      .filter((r) => r.type.endsWith(":KernelModule"))
      .map(summary)
      .sort((x, y) => x.name.localeCompare(y.name));
    expect(modules.map((m) => [m.name, m.secret, m.inputs.connection])).toEqual([
      [
        "edge1-ip_gre",
        ["credentials"],
        {
          name: "edge1",
          host: "203.0.113.10",
          user: "netops",
          sudo: true,
          hostKey: "SHA256:" + "B".repeat(43),
        },
      ],
      ["edge2-ip_gre", ["credentials"], { name: "edge2", host: "203.0.113.20", user: "netops", sudo: true }],
    ]);
  });

  it("gives a tunnel's ipsec its pre-shared key from the secret config value it names, secret as a whole", async () => {
    const { config } = loadProject(ROOT, "dev");
    const tunnels = JSON.parse(config["pulumi-gre:tunnels"]) as Array<Record<string, unknown>>;
    tunnels[0].ipsec = { pskSecret: "gre1Psk", espProposals: ["aes128gcm16-ecp256"] };
    const withPsk = {
      ...config,
      "pulumi-gre:tunnels": JSON.stringify(tunnels),
      "pulumi-gre:gre1Psk": "a pre-shared key from config",
    };
    const stackConfig = readStackConfig(withPsk);
    const { resources } = await registrations(withPsk, () => declareNetwork(stackConfig, labLike), [
      "pulumi-gre:gre1Psk",
    ]);
    const tunnel = summary(resources.find((r) => r.type.endsWith(":GreTunnel"))!);
    expect(tunnel.secret).toEqual(expect.arrayContaining(["credentials", "ipsec"]));
    expect(tunnel.inputs.ipsec).toEqual({
      psk: "a pre-shared key from config",
      espProposals: ["aes128gcm16-ecp256"],
    });
  });

  it("gives each end of a tunnel its own interface name from the config, routes through it, and says so in the outputs", async () => {
    const { config } = loadProject(ROOT, "dev");
    const tunnels = JSON.parse(config["pulumi-gre:tunnels"]) as Array<{
      ends: Array<Record<string, unknown>>;
    }>;
    tunnels[0].ends[0].name = "gre-routerB";
    tunnels[0].ends[1].name = "gre-routerA";
    const named = { ...config, "pulumi-gre:tunnels": JSON.stringify(tunnels) };
    const { resources, outputs } = await registrations(named, () =>
      declareNetwork(readStackConfig(named), labLike),
    );
    const tunnel = summary(resources.find((r) => r.type.endsWith(":GreTunnel"))!);
    expect((tunnel.inputs.endpoints as Array<{ name?: string }>).map((e) => e.name)).toEqual([
      "gre-routerB",
      "gre-routerA",
    ]);
    const routes = resources.filter((r) => r.type.endsWith(":TunnelRoute")).map(summary);
    expect(routes.map((r) => [r.name, (r.inputs.tunnel as { name: string }).name]).sort()).toEqual([
      ["routerA-routerB-gre1-routes-routerA-10.1.1.0_24", "gre-routerB"],
      ["routerA-routerB-gre1-routes-routerB-10.2.1.0_24", "gre-routerA"],
    ]);
    expect((outputs as { tunnels: Array<{ interfaces: unknown }> }).tunnels[0].interfaces).toEqual({
      routerA: "gre-routerB",
      routerB: "gre-routerA",
    });
  });

  it("declares nothing on or toward a decommissioned router: its tunnels, their routes, its modules and forwarding leave the stack", async () => {
    const { config } = loadProject(ROOT, "dev");
    const routers = JSON.parse(config["pulumi-gre:routers"]);
    routers.routerB.decommissioned = true;
    const stackConfig = parseStackConfig({
      routers,
      tunnels: JSON.parse(config["pulumi-gre:tunnels"]),
      settings: JSON.parse(config["pulumi-gre:settings"]),
    });
    const { resources } = await registrations(config, () => declareNetwork(stackConfig, labLike));
    // The field note's only tunnel touches routerB: nothing is left but the stack.
    expect(resources.filter((r) => r.custom).map((r) => r.name)).toEqual([]);
    routers.routerB.decommissioned = false;
    const kept = await registrations(config, () =>
      declareNetwork(parseStackConfig({ ...stackConfig, routers }), labLike),
    );
    expect(kept.resources.filter((r) => r.custom).length).toBeGreaterThan(0);
  });

  it("declares nothing when the configuration is bad, and says why", async () => {
    const { config } = loadProject(ROOT, "dev");
    const tunnels = JSON.parse(config["pulumi-gre:tunnels"]);
    tunnels[0].ends[1].router = "routerC";
    const resources: Registration[] = [];
    installMonitor(
      async (r) => {
        resources.push(r);
        return { state: r.inputs };
      },
      {
        main: path.join(ROOT, "stacks"),
        project: "pulumi-gre",
        stack: "dev",
        preview: false,
        config: { ...config, "pulumi-gre:tunnels": JSON.stringify(tunnels) },
      },
    );
    await expect(runProgram(path.join(ROOT, "stacks"))).rejects.toThrow(
      'the stack configuration cannot be deployed:\n  pulumi-gre:tunnels[0].ends[1].router: no router "routerC" is declared under routers: the tunnel\'s peer is missing (declared: routerA, routerB)',
    );
    expect(resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});

describe("secrets in what the resources register", () => {
  it("keeps a connection secret however it was given — a plain-string key included — and never shows it in a diff", async () => {
    const { GreTunnel, KernelModule, Sysctl, TunnelRoute } = await import("../../index");
    const plain = { host: "203.0.113.10", privateKey: "PLAIN KEY TEXT", name: "edge" };
    const { resources } = await registrations({}, () => {
      new KernelModule("m", { connection: plain, name: "ip_gre" });
      new Sysctl("s", { connection: plain, key: "net.ipv4.ip_forward", value: 1 });
      new TunnelRoute("r", { connection: plain, destination: "10.9.0.0/16", device: "gre9" });
      new GreTunnel("t", {
        name: "gre9",
        endpoints: [
          { connection: plain, local: "198.51.100.11", address: "10.10.90.1" },
          { connection: { ...plain, host: "203.0.113.20" }, local: "198.51.100.12", address: "10.10.90.2" },
        ],
      });
    });
    expect(
      resources
        .filter((r) => r.custom)
        .map((r) => [r.name, reveal(r.inputs).secret])
        .sort(),
    ).toEqual([
      ["m", ["credentials"]],
      ["r", ["credentials"]],
      ["s", ["credentials"]],
      ["t", ["credentials"]],
    ]);
    // The tunnel's endpoints are plain, and hold no secret: the key is only in its credentials.
    const tunnel = reveal(resources.find((r) => r.name === "t")!.inputs);
    expect(tunnel.secret).not.toContain("endpoints");
    expect(JSON.stringify(tunnel.plain.endpoints)).not.toContain("PLAIN KEY TEXT");
    expect(JSON.stringify(tunnel.plain.credentials)).toContain("PLAIN KEY TEXT");
    // A changed key shows as Pulumi shows a secret property: masked on both sides.
    const { renderStepDiff, Secret } = await import("../../tools/engine/display");
    const shown = renderStepDiff(
      {
        op: "update",
        urn: "urn:pulumi:dev::p::pulumi-nodejs:dynamic/gre:KernelModule::m",
        type: "pulumi-nodejs:dynamic/gre:KernelModule",
        indent: 1,
        id: "m",
        old: { inputs: { connection: new Secret(plain) } },
        new: { inputs: { connection: new Secret({ ...plain, privateKey: "NEW KEY" }) } },
      },
      true,
    );
    expect(shown).toContain("      ~ connection: [secret] => [secret]\n");
    expect(shown).not.toMatch(/NEW KEY|PLAIN KEY TEXT/);
  });
});
