/**
 * `npm run lab -- up|down|status|exec|restart|stop|start`: the lab of GRE-capable routers.
 *
 * @packageDocumentation
 */
import { parseArgs, type ParseArgsConfig } from "util";
import { repoRoot } from "../tools/repoRoot";
import { Lab, LabError } from "./lab";
import { MAX_ROUTERS } from "./topology";
import { BOOT_FLAVOURS, DEFAULT_BOOT, parseBoot } from "./bootFlavours";

const USAGE = `usage: npm run lab -- <command>

  up [--routers N] [--nat ROUTER] [--boot [ROUTER=]FLAVOUR]...
                           boot N routers (default 2, at most ${MAX_ROUTERS}): routerA, routerB, …;
                           with --nat, ROUTER sits behind one more router doing NAT (natB for
                           routerB), as the field note's failing topology; with --boot, what
                           brings the network up at boot, on every router or on ROUTER:
                           ${Object.keys(BOOT_FLAVOURS).join(", ")} (default ${DEFAULT_BOOT}; none: networkd
                           installed but disabled, nothing reads network files at boot)
  down                     stop every router; remove the namespace, taps, bridges and router files
  status                   say what runs
  exec ROUTER -- CMD...    run CMD on ROUTER (on its PC: ROUTER:pc; its L2 PC: ROUTER:l2) and return its exit status
  restart ROUTER           power-cycle one router (its kernel state is lost, like a reboot)
  stop ROUTER | start ROUTER
  underlay-mtu BYTES       give the underlay between the routers a smaller MTU (a WAN hop that
                           silently drops larger packets; 1500 as booted)
  rtt MS                   put the routers a WAN apart: MS more round-trip time to each router's
                           SSH and between routers across the underlay (netem; 0 as booted)

The lab needs root. Files live under .lab/ (git-ignored): the lab's SSH key, inventory.json, router
consoles. Routers are user-mode Linux kernels in the network namespace the status line names.`;

/** The arguments of one command: strict, so a mistyped flag is an error, never ignored. */
function parse(args: string[], options: NonNullable<ParseArgsConfig["options"]> = {}) {
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}

/** Fails unless exactly `count` positionals were given. */
function positionals(given: string[], count: number, usage: string): string[] {
  if (given.length !== count) throw new LabError(`usage: npm run lab -- ${usage}`);
  return given;
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const lab = new Lab(repoRoot());
  switch (command) {
    case "up": {
      const { values, positionals: extra } = parse(rest, {
        routers: { type: "string" },
        nat: { type: "string" },
        boot: { type: "string", multiple: true },
      });
      positionals(extra, 0, "up [--routers N] [--nat ROUTER] [--boot [ROUTER=]FLAVOUR]...");
      const count = values.routers === undefined ? 2 : Number(values.routers);
      if (!Number.isInteger(count))
        throw new LabError(`--routers takes a whole number, not ${values.routers}`);
      await lab.up(count, values.nat as string | undefined, parseBoot((values.boot as string[]) ?? []));
      lab.status().forEach((line) => console.log(line));
      return 0;
    }
    case "down":
      positionals(parse(rest).positionals, 0, "down");
      await lab.down();
      return 0;
    case "status":
      positionals(parse(rest).positionals, 0, "status");
      lab.status().forEach((line) => console.log(line));
      return 0;
    case "exec": {
      // Everything after `--` is the command, passed as it is.
      const dash = rest.indexOf("--");
      if (dash !== 1 || rest.length < 3)
        throw new LabError("usage: npm run lab -- exec ROUTER[:pc|:l2] -- CMD...");
      return lab.exec(rest[0], rest.slice(dash + 1));
    }
    case "restart":
    case "stop":
    case "start": {
      const [name] = positionals(parse(rest).positionals, 1, `${command} ROUTER`);
      if (command === "restart") await lab.restart(name);
      else if (command === "stop") await lab.stop(name);
      else await lab.start(name);
      return 0;
    }
    case "underlay-mtu": {
      const [bytes] = positionals(parse(rest).positionals, 1, "underlay-mtu BYTES");
      lab.underlayMtu(Number(bytes));
      return 0;
    }
    case "rtt": {
      const [ms] = positionals(parse(rest).positionals, 1, "rtt MS");
      lab.wanDelay(Number(ms));
      return 0;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`unknown lab command ${command}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(
      error instanceof LabError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? 2 : 1,
    );
  },
);
