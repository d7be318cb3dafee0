/**
 * `npm run lab -- up|down|status|exec|restart|stop|start`: the lab of GRE-capable routers.
 *
 * @packageDocumentation
 */
import { Lab, LabError } from "./lab";
import { repoRoot } from "./inventory";
import { MAX_ROUTERS } from "./topology";

const USAGE = `usage: npm run lab -- <command>

  up [--routers N]         boot N routers (default 2, at most ${MAX_ROUTERS}): routerA, routerB, …
  down                     stop every router; remove the namespace, taps, bridges and router files
  status                   say what runs
  exec ROUTER -- CMD...    run CMD on ROUTER (or on its PC: ROUTER:pc) and return its exit status
  restart ROUTER           power-cycle one router (its kernel state is lost, like a reboot)
  stop ROUTER | start ROUTER

The lab needs root. Files live under .lab/ (git-ignored): the lab's SSH key, inventory.json, router
consoles. Routers are user-mode Linux kernels in the network namespace the status line names.`;

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const lab = new Lab(repoRoot());
  switch (command) {
    case "up": {
      let count = 2;
      const at = rest.indexOf("--routers");
      if (at >= 0) {
        count = Number(rest[at + 1]);
        if (!Number.isInteger(count))
          throw new LabError(`--routers takes a whole number, not ${rest[at + 1]}`);
      }
      await lab.up(count);
      lab.status().forEach((line) => console.log(line));
      return 0;
    }
    case "down":
      lab.down();
      return 0;
    case "status":
      lab.status().forEach((line) => console.log(line));
      return 0;
    case "exec": {
      const dash = rest.indexOf("--");
      const target = rest[0];
      if (!target || dash !== 1) throw new LabError("usage: npm run lab -- exec ROUTER[:pc] -- CMD...");
      return lab.exec(target, rest.slice(dash + 1));
    }
    case "restart":
    case "stop":
    case "start": {
      const name = rest[0];
      if (!name) throw new LabError(`usage: npm run lab -- ${command} ROUTER`);
      if (command === "restart") await lab.restart(name);
      else if (command === "stop") lab.stop(name);
      else await lab.start(name);
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
    process.exit(1);
  },
);
