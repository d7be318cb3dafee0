/**
 * A simulated router for the fleet benchmark: an in-memory model of the kernel state the providers
 * touch (links, GRE tunnels, addresses, routes, modules, sysctls, files), answering each command
 * the way the lab's real routers do. Output is built from recorded router output
 * (`test/fixtures/`): the same JSON objects, the same /proc/modules lines, the same ping summaries,
 * with this router's values put in. Commands it does not model fail loudly (exit 127), so a provider
 * that starts sending something new is noticed, not answered wrongly.
 *
 * @packageDocumentation
 */
import { readFileSync } from "fs";
import * as path from "path";
import { simulatedPing, type PingRequest } from "./simPing";

/** What one command did, and how long it kept the router busy beyond its process cost (a ping). */
export interface SimOutcome {
  stdout: string;
  stderr: string;
  exitCode: number;
  waitMs?: number;
}

/** One router of the fleet: where it is, as the stack declares it. */
export interface SimRouterPlan {
  name: string;
  /** Underlay address (IPv4, /15 of 198.18.0.0). */
  underlay: string;
  /** LAN prefix behind it (10.x.y.0/24) and its gateway address. */
  lanPrefix: string;
  lanGateway: string;
}

interface SimAddress {
  local: string;
  peer?: string;
  prefixlen: number;
}

/** A GRE tunnel end (mode gre), as the kernel keeps it. */
interface SimTunnel {
  ifindex: number;
  local: string;
  remote: string;
  ikey?: number;
  okey?: number;
  ttl: number;
  mtu: number;
  up: boolean;
  addresses: SimAddress[];
}

interface SimRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol: string;
  metric: number;
  table: number;
  src?: string;
}

const FIXTURES = path.resolve(__dirname, "../../fixtures");
const fixture = (file: string) => readFileSync(path.join(FIXTURES, file), "utf8");

/** The recorded `ip -d -j addr show` of a lab router with ip_gre loaded and gre1 up. */
type IpObject = Record<string, unknown> & { ifname: string; ifindex: number; addr_info: unknown[] };
let recordedLinks: IpObject[] | undefined;
function recorded(): IpObject[] {
  recordedLinks ??= JSON.parse(fixture("ip/observe-routerA-gre1-key1.json")) as IpObject[];
  return recordedLinks;
}
const template = (name: string): IpObject => structuredClone(recorded().find((l) => l.ifname === name)!);

/** The recorded /proc/modules lines: name → size, users (who depends on it), permanent. */
interface ModuleLine {
  size: string;
  users: string[];
  permanent: boolean;
  refcount: number;
}
let catalog: Map<string, ModuleLine> | undefined;
function modules(): Map<string, ModuleLine> {
  if (catalog) return catalog;
  catalog = new Map();
  for (const file of ["ip/proc-modules-fresh.txt", "ip/proc-modules-ip_gre-ip6_gre.txt"]) {
    for (const line of fixture(file).split("\n").filter(Boolean)) {
      const [name, size, refcount, users] = line.split(/\s+/);
      const list = users.split(",").filter((u) => u !== "" && u !== "-");
      if (!catalog.has(name) || file.includes("fresh"))
        catalog.set(name, {
          size,
          users: list.filter((u) => u !== "[permanent]"),
          permanent: list.includes("[permanent]"),
          refcount: Number(refcount) - list.filter((u) => u !== "[permanent]").length,
        });
    }
  }
  return catalog;
}
/** Modules `name` needs loaded first (those whose recorded users include it). */
const dependenciesOf = (name: string) =>
  [...modules().entries()].filter(([, m]) => m.users.includes(name)).map(([n]) => n);
/** Modules a fresh lab router has loaded. */
const FRESH_MODULES = ["ipv6", "crc_ccitt", "veth"];
/** Loadable modules the simulation knows (the others: "not found", as modprobe says). */
const LOADABLE = ["ip_gre", "ip_tunnel", "gre", "ip6_gre", "ip6_tunnel", "tunnel6", "bridge", "stp", "llc"];
const SYSCTLS: Record<string, string> = { "net.ipv4.ip_forward": "0", "net.ipv6.conf.all.forwarding": "0" };

const ok = (stdout = ""): SimOutcome => ({ stdout, stderr: "", exitCode: 0 });
const fail = (stderr: string, exitCode = 1): SimOutcome => ({
  stdout: "",
  stderr: stderr.endsWith("\n") ? stderr : `${stderr}\n`,
  exitCode,
});
const dotted = (key: number) => [key >>> 24, (key >>> 16) & 255, (key >>> 8) & 255, key & 255].join(".");

/** The fleet the routers share: where a ping across the underlay or a tunnel arrives. */
export interface SimFleet {
  byUnderlay(address: string): SimRouter | undefined;
}

/** A fault a test sets on a router: the next commands it matches fail with its outcome instead of running. */
export interface SimFault {
  matches(argv: readonly string[], stdin: string | undefined): boolean;
  outcome: SimOutcome;
}

export class SimRouter {
  /** Faults that commands meet before they run (tests set them; the benchmark has none). */
  readonly faults: SimFault[] = [];
  readonly modulesLoaded: string[] = [...FRESH_MODULES];
  readonly sysctls: Record<string, string> = { ...SYSCTLS };
  readonly tunnels = new Map<string, SimTunnel>();
  readonly routes: SimRoute[] = [];
  readonly files = new Map<string, string>();
  /** The mode of each file written with one (`chmod`'s octal form). */
  readonly fileModes = new Map<string, string>();
  /** The keyfiles NetworkManager was told to load, per `nmcli connection load`. */
  readonly keyfileLoads: string[][] = [];
  /** `systemctl is-enabled` per unit (a unit not listed is not installed): none brings the network up. */
  readonly units: Record<string, string> = { "systemd-networkd.service": "disabled" };
  /** Whether /etc/network/interfaces sources interfaces.d (Debian's default file does). */
  sourcesInterfacesD = true;
  private nextIndex = 5;
  private readonly base: IpObject[];

  constructor(
    readonly plan: SimRouterPlan,
    private readonly fleet: SimFleet,
    index: number,
  ) {
    const [lo, eth0, eth1, lan0] = ["lo", "eth0", "eth1", "lan0"].map(template);
    const inet = (link: IpObject, local: string, prefixlen: number) => {
      const info = link.addr_info as Array<Record<string, unknown>>;
      const v4 = info.find((a) => a.family === "inet")!;
      Object.assign(v4, { local, prefixlen });
    };
    inet(eth0, `169.254.${100 + (index >> 8)}.${index & 255}`, 16);
    inet(eth1, plan.underlay, 15);
    inet(lan0, plan.lanGateway, 24);
    this.base = [lo, eth0, eth1, lan0];
  }

  /** Everything a command could have changed, for "as before" comparisons. */
  snapshot(): string {
    return JSON.stringify({
      modules: this.modulesLoaded,
      sysctls: this.sysctls,
      tunnels: [...this.tunnels.entries()].map(([n, t]) => [n, { ...t, ifindex: 0 }]),
      routes: this.routes,
      files: [...this.files.entries()],
    });
  }

  private loaded(name: string): boolean {
    return this.modulesLoaded.includes(name);
  }

  /** Runs one command (argv as received, stdin if any). */
  run(argv: string[], stdin: string | undefined): SimOutcome {
    const fault = this.faults.find((f) => f.matches(argv, stdin));
    if (fault) return fault.outcome;
    const [program, ...args] = argv;
    switch (program) {
      case "ip":
        return this.ip(args, stdin);
      case "test":
        return this.test(args);
      case "cat":
        return this.cat(args);
      case "sysctl":
        return this.sysctl(args);
      case "modprobe":
        return this.modprobe(args);
      case "modinfo":
        return this.modinfo(args);
      case "rmmod":
        return this.rmmod(args);
      case "mkdir":
      case "rmdir":
      case "networkctl":
      case "kill":
      case "true":
        return ok();
      case "tee": {
        this.files.set(args[args.length - 1], stdin ?? "");
        return ok(stdin ?? "");
      }
      // A file written whole, as commands/files/bootFile.ts writes them (`sh -c SCRIPT NAME PATH`).
      case "sh":
        // What brings the network up at boot, as commands/bootStack/bootStack.ts reads it.
        if (args[0] === "-c" && args[2] === "pulumi-gre-boot-stack")
          return ok(
            args
              .slice(3)
              .map((u) => `${u} ${this.units[u] ?? "not-found"}\n`)
              .join("")
              .concat(`interfaces.d ${this.sourcesInterfacesD ? "sourced" : "not-sourced"}\n`),
          );
        // NetworkManager, running, loads our keyfiles (commands/networkManager/networkManager.ts).
        if (args[0] === "-c" && args[2] === "pulumi-gre-nm-load") {
          this.keyfileLoads.push(args.slice(3));
          return ok();
        }
        if (args[0] !== "-c" || args[2] !== "pulumi-gre-write-file" || args.length < 4 || args.length > 5)
          return fail(`sh ${args.join(" ")}: not simulated`, 127);
        this.files.set(args[3], stdin ?? "");
        if (args[4] === undefined) this.fileModes.delete(args[3]);
        else this.fileModes.set(args[3], args[4]);
        return ok();
      case "rm":
        for (const file of args.slice(args.indexOf("--") + 1)) {
          this.files.delete(file);
          this.fileModes.delete(file);
        }
        return ok();
      case "grep": {
        // grep -r -H --include=GLOB "" DIR...: every file of the folders (all are ours here).
        const dirs = args.slice(args.indexOf("") + 1);
        const lines = [...this.files.entries()]
          .filter(([file]) => dirs.some((dir) => file.startsWith(`${dir}/`)))
          .flatMap(([file, text]) =>
            // Every line, the empty ones too, as `grep -H ""` prints them.
            (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n").map((l) => `${file}:${l}`),
          );
        return lines.length ? ok(lines.join("\n") + "\n") : { stdout: "", stderr: "", exitCode: 1 };
      }
      case "ping":
        return this.ping(this.pingRequest(args));
      default:
        return fail(`sh: 1: ${program}: not found (not simulated)`, 127);
    }
  }

  private test(args: string[]): SimOutcome {
    const module = /^\/sys\/module\/([a-z0-9_]+)$/.exec(args[1] ?? "");
    if (args[0] === "-d" && module) return this.loaded(module[1]) ? ok() : { ...ok(), exitCode: 1 };
    // No other files on a simulated router.
    if (args[0] === "-x" || args[0] === "-e" || args[0] === "-f") return { ...ok(), exitCode: 1 };
    return fail(`test ${args.join(" ")}: not simulated`, 127);
  }

  private cat(args: string[]): SimOutcome {
    const file = args[args.length - 1];
    if (file === "/proc/modules") return ok(this.procModules());
    const text = this.files.get(file);
    return text === undefined ? fail(`cat: ${file}: No such file or directory`) : ok(text);
  }

  private sysctl(args: string[]): SimOutcome {
    const words = args.filter((a) => a !== "--");
    if (words[0] === "-n" && words[1] in this.sysctls) return ok(`${this.sysctls[words[1]]}\n`);
    if (words[0] === "-w") {
      const [key, value] = words[1].split("=");
      if (!(key in this.sysctls))
        return fail(
          `sysctl: cannot stat /proc/sys/${key.replace(/\./g, "/")}: No such file or directory`,
          255,
        );
      this.sysctls[key] = value;
      return ok(`${key} = ${value}\n`);
    }
    return fail(
      `sysctl: cannot stat /proc/sys/${(words[1] ?? "").replace(/\./g, "/")}: No such file or directory`,
      255,
    );
  }

  private modprobe(args: string[]): SimOutcome {
    const name = args[args.length - 1].replace(/-/g, "_");
    if (!LOADABLE.includes(name) && !this.loaded(name))
      return fail(`modprobe: FATAL: Module ${name} not found in directory /lib/modules/6.1.176`);
    const load = (m: string) => {
      if (this.loaded(m)) return;
      dependenciesOf(m).forEach(load);
      this.modulesLoaded.unshift(m);
    };
    load(name);
    return ok();
  }

  private modinfo(args: string[]): SimOutcome {
    const name = args[args.length - 1].replace(/-/g, "_");
    if (!LOADABLE.includes(name) && !FRESH_MODULES.includes(name))
      return fail(`modinfo: ERROR: Module ${name} not found.`);
    return ok(`/lib/modules/6.1.176/kernel/net/ipv4/${name}.ko\n`);
  }

  private usersOf(name: string): string[] {
    return this.modulesLoaded.filter((m) => dependenciesOf(m).includes(name));
  }

  /** A tunnel deleted, and the routes through it with it; false when there was none. */
  private removeTunnel(name: string): boolean {
    if (!this.tunnels.delete(name)) return false;
    this.dropRoutesOf(name);
    return true;
  }

  private rmmod(args: string[]): SimOutcome {
    const name = args[args.length - 1];
    if (!this.loaded(name)) return fail(`rmmod: ERROR: Module ${name} is not currently loaded`);
    const inUse = this.usersOf(name).length > 0;
    if (inUse || modules().get(name)?.permanent) return fail(`rmmod: ERROR: Module ${name} is in use`);
    this.modulesLoaded.splice(this.modulesLoaded.indexOf(name), 1);
    // As the kernel does: a GRE device holds no reference on ip_gre, and unloading it deletes them all.
    if (name === "ip_gre") for (const tunnel of [...this.tunnels.keys()]) this.removeTunnel(tunnel);
    return ok();
  }

  private procModules(): string {
    return this.modulesLoaded
      .map((name, i) => {
        const line = modules().get(name)!;
        const users = this.usersOf(name);
        const list = [...users, ...(line.permanent ? ["[permanent]"] : [])];
        const refcount = line.refcount + users.length;
        const address = (0x70a00000 + i * 0x8000).toString(16).padStart(16, "0");
        return `${name} ${line.size} ${refcount} ${list.length ? `${list.join(",")},` : "-"} Live 0x${address}`;
      })
      .join("\n")
      .concat("\n");
  }

  // ---- ip ----

  private ip(args: string[], stdin: string | undefined): SimOutcome {
    if (args[0] === "-batch" && args[1] === "-") return this.ipBatch(stdin ?? "");
    const options: string[] = [];
    while (args[0]?.startsWith("-")) options.push(args.shift()!);
    const [object, verb, ...rest] = args;
    const family = options.includes("-6") ? "ipv6" : "ipv4";
    if (object === "addr" && verb === "show" && options.includes("-j")) return ok(this.addrShow());
    if (object === "link" && verb === "show" && options.includes("-j")) {
      const links = JSON.parse(this.addrShow()) as IpObject[];
      return ok(JSON.stringify(links.map(({ addr_info: _, ...link }) => link)) + "\n");
    }
    if (object === "route" && verb === "show" && options.includes("-j"))
      return ok(family === "ipv6" ? "[]\n" : this.routeShow());
    if (object === "route" && verb === "get") return this.routeGet(rest);
    return this.ipChange(object, verb, rest, family);
  }

  private ipBatch(script: string): SimOutcome {
    const lines = script.split("\n").filter((l) => l.trim() !== "");
    for (let i = 0; i < lines.length; i++) {
      const [object, verb, ...rest] = lines[i].trim().split(/\s+/);
      const result = this.ipChange(object, verb, rest, "ipv4");
      if (result.exitCode !== 0) return fail(`${result.stderr}Command failed -:${i + 1}`, 1);
    }
    return ok();
  }

  private ipChange(object: string, verb: string, rest: string[], family: "ipv4" | "ipv6"): SimOutcome {
    const word = (key: string) => {
      const at = rest.indexOf(key);
      return at < 0 ? undefined : rest[at + 1];
    };
    if (object === "tunnel" && (verb === "add" || verb === "change")) {
      const name = word("name")!;
      if (!this.loaded("ip_gre")) return fail("ip: ioctl 0x89f1 failed: No such device", 1);
      const existing = this.tunnels.get(name);
      if (verb === "add" && (existing || ["gre0", "gretap0", "erspan0"].includes(name)))
        return fail(`add tunnel "gre0" failed: File exists`);
      if (verb === "change" && !existing) return fail(`change tunnel "${name}" failed: No such device`);
      if (word("mode") !== "gre") return fail(`mode ${word("mode")}: not simulated`, 127);
      const ikey = word("ikey") === undefined ? undefined : Number(word("ikey"));
      const okey = word("okey") === undefined ? undefined : Number(word("okey"));
      const tunnel: SimTunnel = {
        ifindex: existing?.ifindex ?? this.nextIndex++,
        local: word("local")!,
        remote: word("remote")!,
        ikey,
        okey,
        ttl: Number(word("ttl") ?? 0),
        mtu: existing?.mtu ?? (ikey !== undefined || okey !== undefined ? 1472 : 1476),
        up: existing?.up ?? false,
        addresses: existing?.addresses ?? [],
      };
      this.tunnels.set(name, tunnel);
      return ok();
    }
    if (object === "tunnel" && verb === "del") {
      const name = word("name")!;
      if (!this.removeTunnel(name)) return fail(`delete tunnel "${name}" failed: No such device`);
      return ok();
    }
    if (object === "link" && verb === "del") {
      const name = word("dev")!;
      if (!this.removeTunnel(name)) return fail(`Cannot find device "${name}"`);
      return ok();
    }
    if (object === "link" && verb === "set") {
      const tunnel = this.tunnels.get(word("dev")!);
      if (!tunnel) return this.isBase(word("dev")!) ? ok() : fail(`Cannot find device "${word("dev")}"`);
      if (word("mtu") !== undefined) tunnel.mtu = Number(word("mtu"));
      if (rest.includes("up")) tunnel.up = true;
      if (rest.includes("down")) {
        tunnel.up = false;
        this.dropRoutesOf(word("dev")!);
      }
      return ok();
    }
    if (object === "addr" && (verb === "replace" || verb === "add" || verb === "del")) {
      const tunnel = this.tunnels.get(word("dev")!);
      if (!tunnel) return fail(`Cannot find device "${word("dev")}"`);
      const [local, length] = rest[0].split("/");
      const peerWord = word("peer");
      const [peer, peerLength] = peerWord ? peerWord.split("/") : [];
      const address: SimAddress = {
        local,
        ...(peer ? { peer } : {}),
        prefixlen: Number(peerLength ?? length ?? (local.includes(":") ? 128 : 32)),
      };
      const at = tunnel.addresses.findIndex((a) => a.local === local);
      if (verb === "del") {
        if (at < 0) return fail("RTNETLINK answers: Cannot assign requested address", 2);
        tunnel.addresses.splice(at, 1);
      } else if (at >= 0) {
        if (verb === "add") return fail("RTNETLINK answers: File exists", 2);
        tunnel.addresses[at] = address;
      } else tunnel.addresses.push(address);
      return ok();
    }
    if (object === "addr" && verb === "flush") {
      const tunnel = this.tunnels.get(word("dev")!);
      if (!tunnel) return fail(`Cannot find device "${word("dev")}"`);
      tunnel.addresses = tunnel.addresses.filter((a) => (family === "ipv6") !== a.local.includes(":"));
      return ok();
    }
    if (object === "route" && (verb === "replace" || verb === "del"))
      return this.routeChange(verb, rest, word);
    return fail(`ip ${object} ${verb}: not simulated`, 127);
  }

  private isBase(name: string): boolean {
    return this.base.some((l) => l.ifname === name);
  }

  private dropRoutesOf(dev: string): void {
    for (let i = this.routes.length - 1; i >= 0; i--)
      if (this.routes[i].dev === dev) this.routes.splice(i, 1);
  }

  private routeChange(verb: string, rest: string[], word: (key: string) => string | undefined): SimOutcome {
    const slot = (r: SimRoute) =>
      r.dst === rest[0] &&
      r.metric === Number(word("metric") ?? 0) &&
      r.table === Number(word("table") ?? 254);
    const at = this.routes.findIndex(slot);
    if (verb === "del") {
      if (at < 0 || (word("proto") !== undefined && this.routes[at].protocol !== word("proto")))
        return fail("RTNETLINK answers: No such process", 2);
      this.routes.splice(at, 1);
      return ok();
    }
    const dev = word("dev") ?? this.deviceTowards(word("via"));
    const tunnel = dev === undefined ? undefined : this.tunnels.get(dev);
    if (!dev || (!tunnel && !this.isBase(dev))) return fail("Error: Nexthop has invalid gateway.", 2);
    if (tunnel && !tunnel.up) return fail("Error: Nexthop device is not up.", 2);
    const route: SimRoute = {
      dst: rest[0],
      ...(word("via") ? { gateway: word("via") } : {}),
      dev,
      protocol: word("proto") ?? "3",
      metric: Number(word("metric") ?? 0),
      table: Number(word("table") ?? 254),
      ...(word("src") ? { src: word("src") } : {}),
    };
    if (at >= 0) this.routes[at] = route;
    else this.routes.push(route);
    return ok();
  }

  private deviceTowards(gateway: string | undefined): string | undefined {
    if (!gateway) return undefined;
    for (const [name, t] of this.tunnels)
      if (t.up && t.addresses.some((a) => a.peer === gateway)) return name;
    return undefined;
  }

  private routeGet(rest: string[]): SimOutcome {
    const [destination] = rest;
    const from = rest[rest.indexOf("from") + 1];
    if (!this.fleet.byUnderlay(destination)) return fail("RTNETLINK answers: Network is unreachable", 2);
    return ok(`${destination} from ${from} dev eth1 uid 0 \n    cache \n`);
  }

  private addrShow(): string {
    const links: IpObject[] = [...this.base.map((l) => structuredClone(l))];
    if (this.loaded("ip_gre")) links.push(...["gre0", "gretap0", "erspan0"].map(template));
    for (const [name, t] of this.tunnels) {
      const link = template("gre1");
      const info = (link.linkinfo as { info_data: Record<string, unknown> }).info_data;
      info.remote = t.remote;
      info.local = t.local;
      info.ttl = t.ttl;
      delete info.ikey;
      delete info.okey;
      if (t.ikey !== undefined) info.ikey = dotted(t.ikey);
      if (t.okey !== undefined) info.okey = dotted(t.okey);
      const linkLocal = (link.addr_info as Array<Record<string, unknown>>).find((a) => a.family === "inet6")!;
      Object.assign(link, {
        ifindex: t.ifindex,
        ifname: name,
        mtu: t.mtu,
        address: t.local,
        broadcast: t.remote,
        flags: t.up ? ["POINTOPOINT", "NOARP", "UP", "LOWER_UP"] : ["POINTOPOINT", "NOARP"],
        operstate: t.up ? "UNKNOWN" : "DOWN",
        addr_info: [
          ...t.addresses.map((a) => ({
            family: a.local.includes(":") ? "inet6" : "inet",
            local: a.local,
            ...(a.peer ? { address: a.peer } : {}),
            prefixlen: a.prefixlen,
            scope: "global",
            label: name,
            valid_life_time: 4294967295,
            preferred_life_time: 4294967295,
          })),
          ...(t.up ? [linkLocal] : []),
        ],
      });
      links.push(link);
    }
    links.sort((a, b) => a.ifindex - b.ifindex);
    return JSON.stringify(links) + "\n";
  }

  private routeShow(): string {
    const connected = (dst: string, dev: string, src: string) => ({
      dst,
      dev,
      protocol: "2",
      scope: "253",
      prefsrc: src,
      flags: [],
    });
    const base = [
      connected(this.plan.lanPrefix, "lan0", this.plan.lanGateway),
      connected("198.18.0.0/15", "eth1", this.plan.underlay),
    ];
    const peers = [...this.tunnels.entries()].flatMap(([name, t]) =>
      t.up
        ? t.addresses
            .filter((a) => a.peer && !a.local.includes(":"))
            .map((a) => connected(a.prefixlen === 32 ? a.peer! : `${a.peer}/${a.prefixlen}`, name, a.local))
        : [],
    );
    const ours = this.routes.map((r) => ({
      dst: r.dst,
      ...(r.gateway ? { gateway: r.gateway } : {}),
      dev: r.dev,
      ...(r.table === 254 ? {} : { table: String(r.table) }),
      protocol: r.protocol,
      ...(r.metric ? { metric: r.metric } : {}),
      ...(r.src ? { prefsrc: r.src } : {}),
      flags: [],
    }));
    return JSON.stringify([...base, ...peers, ...ours]) + "\n";
  }

  // ---- ping ----

  private pingRequest(args: string[]): PingRequest {
    const value = (flag: string) => {
      const at = args.indexOf(flag);
      return at < 0 ? undefined : args[at + 1];
    };
    return {
      from: value("-I")!,
      to: args[args.length - 1],
      count: Number(value("-c") ?? 1),
      intervalSeconds: Number(value("-i") ?? 1),
      size: Number(value("-s") ?? 56),
      dontFragment: value("-M") === "do",
    };
  }

  /** Whether a ping from `from` to `to` of `size` bytes crosses, as far as this router's side goes. */
  pathFrom(request: PingRequest): boolean {
    if (request.from === this.plan.underlay) return this.fleet.byUnderlay(request.to) !== undefined;
    for (const t of this.tunnels.values()) {
      const address = t.addresses.find((a) => a.local === request.from && a.peer === request.to);
      if (!address || !t.up) continue;
      const peer = this.fleet.byUnderlay(t.remote);
      const end =
        peer && [...peer.tunnels.values()].find((p) => p.local === t.remote && p.remote === t.local);
      if (!end || !end.up || end.ikey !== t.okey || end.okey !== t.ikey) return false;
      if (!end.addresses.some((a) => a.local === request.to && a.peer === request.from)) return false;
      return !request.dontFragment || request.size + 28 <= Math.min(t.mtu, end.mtu);
    }
    return false;
  }

  /** The ping's answer, from the recorded ping output. */
  ping(request: PingRequest): SimOutcome {
    return simulatedPing(request, this.pathFrom(request));
  }
}
