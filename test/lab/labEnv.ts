/**
 * What lab tests share: whether they can run here, a lab that is booted once per test run (and
 * stopped at the end if the run booted it), and connections to its routers.
 */
import { existsSync, writeFileSync } from "fs";
import * as path from "path";
import {
  inventoryRouter,
  labConnection,
  readInventory,
  type Inventory,
  type InventoryRouter,
} from "../../lab/inventory";
import { repoRoot } from "../../tools/repoRoot";
import { Lab } from "../../lab/lab";
import { fieldNoteState, type FieldNoteState } from "../../lab/routerState";
import { runOnRouter } from "../../transport";
import type { Connection } from "../../model/connection";
import type { CommandOutcome } from "../../model/command";

/** The file that says this test run booted the lab (so its teardown stops it). */
export const STARTED_MARKER = path.join(repoRoot(), ".lab", "started-by-tests");

/** Why lab tests cannot run here, or undefined when they can. */
export function labSkipReason(): string | undefined {
  return Lab.prerequisites();
}

/**
 * `describe` for tests that need lab routers. Without root or the lab's packages they are skipped
 * with the reason in their name; under CI (CI=true) that is a failure instead: CI must run them.
 */
export function describeOnLab(name: string, body: () => void): void {
  const reason = labSkipReason();
  if (!reason) {
    describe(name, body);
  } else if (process.env.CI === "true") {
    describe(name, () => {
      it("runs on the lab", () => {
        throw new Error(`lab tests must run under CI, but cannot: ${reason}`);
      });
    });
  } else {
    describe.skip(`${name} [lab tests skipped: ${reason}]`, body);
  }
}

let booted: Promise<Inventory> | undefined;

/** Boots the default two-router lab unless a lab is up already; returns its inventory. */
export function ensureLab(): Promise<Inventory> {
  if (!booted) {
    booted = (async () => {
      const lab = new Lab(repoRoot(), () => undefined);
      let wasUp = lab.isUp();
      // A lab up with routerB behind a NAT (`up --nat`) is not the one the suites expect.
      // Nor one whose routers boot another way (`up --boot`).
      const unusual = (r: InventoryRouter) => r.role === "nat" || (r.boot ?? "networkd") !== "networkd";
      if (wasUp && readInventory().routers.some(unusual)) {
        await lab.down(true);
        wasUp = false;
      }
      // A lab that is up with more routers (after a benchmark) serves as well: tests use A and B.
      if (wasUp) return readInventory();
      const inventory = await lab.up(2);
      if (!wasUp && !existsSync(STARTED_MARKER)) {
        writeFileSync(STARTED_MARKER, `${process.pid}\n`);
      }
      return inventory;
    })();
  }
  return booted;
}

/** A lab router as tests use it: its inventory entry and a transport connection. */
export interface LabSide {
  router: InventoryRouter;
  connection: Connection;
}

/** The inventory entry and a transport connection for a lab router. */
export async function labRouter(name: string): Promise<LabSide> {
  const inventory = await ensureLab();
  const router = inventoryRouter(inventory, name);
  return { router, connection: labConnection(router) };
}

/** Runs one command on a lab router; what it did (a failure is the test's to judge). */
export async function runOn(side: LabSide, ...argv: string[]): Promise<CommandOutcome> {
  return (await runOnRouter(side.connection, [{ argv }], { check: false })).outcomes[0];
}

/** Runs one command on a lab router; its exit status. */
export async function runStatus(side: LabSide, ...argv: string[]): Promise<number | null> {
  return (await runOn(side, ...argv)).exitCode;
}

/** The command an operator types to give `side`'s gre1 (toward `peer`) another key, ikey and okey. */
export function rekeyByHand(side: LabSide, peer: LabSide, key: number): string[] {
  const [k, remote, local] = [String(key), peer.router.underlay, side.router.underlay];
  return [
    "ip",
    "tunnel",
    "change",
    "gre1",
    "mode",
    "gre",
    "remote",
    remote,
    "local",
    local,
    "ikey",
    k,
    "okey",
    k,
    "ttl",
    "255",
  ];
}

/** Runs one command on a lab router that must succeed (it says what failed). */
export async function mustRun(side: LabSide, ...argv: string[]): Promise<void> {
  const outcome = await runOn(side, ...argv);
  if (outcome.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${outcome.stderr}`);
}

/** What a router has of the field note's kind (links, addresses, routes, modules, sysctls). */
export function routerState(side: LabSide): Promise<FieldNoteState> {
  return fieldNoteState(side.connection);
}

/** Pings the PC behind `to` from the PC behind `from` (two probes); ping's exit status. */
export async function pingPcToPc(from: LabSide, to: LabSide): Promise<number | null> {
  const result = await runOnRouter(
    from.connection,
    [{ argv: ["ip", "netns", "exec", "pc", "ping", "-c", "2", "-W", "2", to.router.pc] }],
    { check: false },
  );
  return result.outcomes[0].exitCode;
}

/**
 * A router's state without what a loaded ip_gre brings — the module, and the kernel's fallback
 * devices gre0, gretap0, erspan0 —: KernelModule leaves ip_gre loaded unless told otherwise.
 */
export async function withoutModules(side: LabSide): Promise<Omit<FieldNoteState, "modules">> {
  const { modules: _modules, links, ...rest } = await fieldNoteState(side.connection);
  return { ...rest, links: links.filter((l) => !/^(gre0|gretap0|erspan0):/.test(l)) };
}

/** Pings PC to PC until it works (a router that booted configures its links a moment after sshd). */
export async function pingsWithin(a: LabSide, b: LabSide, seconds: number): Promise<boolean> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if ((await pingPcToPc(a, b)) === 0 && (await pingPcToPc(b, a)) === 0) return true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return false;
}

export { readInventory };
