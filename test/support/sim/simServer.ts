/**
 * The simulated fleet's SSH side: one ssh2 server per simulated router on loopback, each with its
 * own host key, accepting the fleet's one client key, answering every exec from its router's
 * in-memory model. Costs are those of real routers far away: a network round-trip time (every byte
 * each way is delayed by half of it, through a loopback relay, so SSH's own handshake pays it as it
 * would), the router's CPU per SSH connection (key exchange, sshd's fork) and per process started,
 * one at a time per router (a router has one small CPU).
 *
 * @packageDocumentation
 */
import { timingSafeEqual } from "crypto";
import { createServer, connect, type AddressInfo, type Server as NetServer, type Socket } from "net";
import { Server, utils, type Connection } from "ssh2";
import { generateKeyPair } from "../../../tools/sshKeys";
import { processesStarted } from "./processCost";
import { SimRouter, type SimFleet, type SimRouterPlan } from "./simRouter";
import { framedRun, parseScript } from "./simScript";

/** What a simulated router costs. */
export interface SimCosts {
  /** Network round-trip time between the engine's machine and each router, ms. */
  rttMs: number;
  /** Router CPU per SSH connection accepted (sshd's fork and key exchange), ms. */
  connectionMs: number;
  /** Router CPU per process started (the shell of each exec, each command not a builtin), ms. */
  processMs: number;
}

/** Counters the fleet keeps of what reached it. */
export interface FleetCounts {
  connections: number;
  execs: number;
  commands: number;
}

/** A running simulated router. */
export interface SimEndpoint {
  router: SimRouter;
  /** Where to connect (the relay's port when there is a round-trip time). */
  port: number;
  /** The router's host public key, as a `hostKey` pin takes it. */
  hostKey: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A relay on loopback that delays every chunk, each way, by `oneWayMs`. */
function delayRelay(target: number, oneWayMs: number, sockets: Set<Socket>): NetServer {
  return createServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    sockets.add(client).add(upstream);
    const pipe = (from: Socket, to: Socket) => {
      from.on("data", (chunk) => setTimeout(() => to.writable && to.write(chunk), oneWayMs));
      from.on("end", () => setTimeout(() => to.end(), oneWayMs));
      from.on("error", () => to.destroy());
      from.on("close", () => {
        sockets.delete(from);
        setTimeout(() => to.destroy(), oneWayMs);
      });
    };
    pipe(client, upstream);
    pipe(upstream, client);
  });
}

/** The simulated fleet: routers by name and underlay, their SSH servers, and counts. */
export class SimulatedFleet implements SimFleet {
  readonly endpoints = new Map<string, SimEndpoint>();
  readonly counts: FleetCounts = { connections: 0, execs: 0, commands: 0 };
  /** Commands no model answers (exit 127): a provider sending something the fleet does not know. */
  readonly unknown: string[] = [];
  private readonly underlays = new Map<string, SimRouter>();
  private readonly servers: NetServer[] = [];
  private readonly clients = new Set<Connection>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly costs: SimCosts,
    readonly clientKey: { private: string; public: string },
  ) {}

  /** Starts `plans.length` simulated routers. */
  static async start(plans: SimRouterPlan[], costs: SimCosts): Promise<SimulatedFleet> {
    const fleet = new SimulatedFleet(costs, generateKeyPair());
    for (const [index, plan] of plans.entries()) await fleet.add(plan, index + 1);
    return fleet;
  }

  byUnderlay(address: string): SimRouter | undefined {
    return this.underlays.get(address);
  }

  router(name: string): SimRouter {
    return this.endpoints.get(name)!.router;
  }

  private async add(plan: SimRouterPlan, index: number): Promise<void> {
    const router = new SimRouter(plan, this, index);
    this.underlays.set(plan.underlay, router);
    const host = generateKeyPair();
    const allowed = utils.parseKey(this.clientKey.public);
    if (allowed instanceof Error) throw allowed;
    // The router's one CPU: work is done one piece after another.
    let busyUntil = 0;
    const cpu = async (ms: number) => {
      const start = Math.max(Date.now(), busyUntil);
      busyUntil = start + ms;
      await sleep(busyUntil - Date.now());
    };
    let processGroup = 1000;
    const server = new Server({ hostKeys: [host.private] }, (client) => {
      this.counts.connections++;
      this.clients.add(client);
      client.on("close", () => this.clients.delete(client));
      client.on("error", () => undefined);
      client.on("authentication", (ctx) => {
        const good =
          ctx.method === "publickey" &&
          ctx.key.algo === allowed.type &&
          timingSafeEqual(ctx.key.data, allowed.getPublicSSH()) &&
          (!ctx.signature || allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true);
        if (!good) return ctx.reject(["publickey"]);
        // Once per connection: sshd's fork and key exchange, on the router's CPU.
        if (ctx.signature) void cpu(this.costs.connectionMs).then(() => ctx.accept());
        else ctx.accept();
      });
      client.on("ready", () => {
        client.on("session", (accept) => {
          const session = accept();
          session.on("exec", (acceptExec, _reject, info) => {
            const channel = acceptExec();
            void (async () => {
              this.counts.execs++;
              const script = parseScript(info.command);
              this.counts.commands += script.commands.length;
              // As the benchmark counts them: the shell, each non-builtin, the concurrent probes' helpers.
              const processes = processesStarted(
                script.commands.map((c) => ({
                  argv: c.argv,
                  concurrent: c.concurrent,
                  mayFail: c.concurrent,
                })),
              );
              await cpu(processes * this.costs.processMs);
              // Commands one after another take the sum of their waits; concurrent ones the longest,
              // per wave of 32.
              let waitMs = 0;
              let concurrentMs = 0;
              const result = framedRun(
                script,
                (command) => {
                  const outcome = router.run(command.argv, command.stdin);
                  if (outcome.exitCode === 127) this.unknown.push(`${plan.name}: ${command.argv.join(" ")}`);
                  if (command.concurrent) concurrentMs = Math.max(concurrentMs, outcome.waitMs ?? 0);
                  else waitMs += outcome.waitMs ?? 0;
                  return outcome;
                },
                processGroup++,
              );
              const waves = Math.ceil(script.commands.filter((c) => c.concurrent).length / 32);
              waitMs += concurrentMs * waves;
              if (waitMs > 0) await sleep(waitMs);
              if (result.stdout) channel.write(result.stdout);
              if (result.stderr) channel.stderr.write(result.stderr);
              channel.exit(result.exitCode);
              channel.end();
            })();
          });
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    this.servers.push(server as unknown as NetServer);
    let port = (server.address() as AddressInfo).port;
    if (this.costs.rttMs > 0) {
      const relay = delayRelay(port, this.costs.rttMs / 2, this.sockets);
      await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", () => resolve()));
      this.servers.push(relay);
      port = (relay.address() as AddressInfo).port;
    }
    this.endpoints.set(plan.name, {
      router,
      port,
      hostKey: host.public.trim().split(/\s+/).slice(0, 2).join(" "),
    });
  }

  /** Stops every server and cuts every connection. */
  async close(): Promise<void> {
    this.clients.forEach((c) => c.end());
    this.sockets.forEach((s) => s.destroy());
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
