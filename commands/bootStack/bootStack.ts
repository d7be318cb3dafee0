/**
 * What brings a router's network up at boot: systemd-networkd, NetworkManager or ifupdown, as the
 * router's systemd has them enabled (`systemctl is-enabled`, which reads the unit files and needs
 * no running systemd). `persist` is promised only where the files pulumi-gre writes are read at
 * boot; elsewhere it is refused, naming what was found. Pure: the read, its parsing and the verdict.
 *
 * @packageDocumentation
 */
import type { CommandOutcome, RemoteCommand } from "../../model/command";

/** The units that may bring the network up at boot, and what each is. */
export const BOOT_UNITS = {
  "systemd-networkd.service": "systemd-networkd",
  "NetworkManager.service": "NetworkManager",
  "networking.service": "ifupdown",
} as const;

/** A unit of {@link BOOT_UNITS}. */
export type BootUnit = keyof typeof BOOT_UNITS;

/** A network stack that can bring a link up at boot. */
export type BootStack = (typeof BOOT_UNITS)[BootUnit];

/**
 * NetworkManager's dispatcher, which runs the scripts that give a tunnel its addresses at boot:
 * D-Bus starts it through this alias, which `systemctl enable NetworkManager` makes.
 */
export const DISPATCHER_UNIT = "NetworkManager-dispatcher.service";

/** What a router has: each unit's `systemctl is-enabled` state ("not-found" when it has none). */
export interface BootStackFound {
  units: Record<BootUnit, string>;
  /** {@link DISPATCHER_UNIT}'s state. */
  dispatcher: string;
  /** Whether /etc/network/interfaces sources /etc/network/interfaces.d/* (where ifupdown's stanzas of ours go). */
  sourcesInterfacesD: boolean;
}

/** The name a process list shows for the read (its `$0`). */
const READ_NAME = "pulumi-gre-boot-stack";

/** The line of /etc/network/interfaces that reads every file of interfaces.d (Debian's default). */
export const SOURCE_LINE = "source /etc/network/interfaces.d/*";

/**
 * Prints `UNIT STATE` per unit (a unit systemctl does not know, or a router without systemctl,
 * prints `not-found`), then `interfaces.d sourced` or `not-sourced`. A constant script: the unit
 * names arrive as arguments, never as shell code.
 */
const READ_SCRIPT =
  'for u; do s=$(systemctl is-enabled -- "$u" 2>/dev/null) || [ -n "$s" ] || s=not-found; echo "$u $s"; done; ' +
  "if grep -qsxE '[[:space:]]*source[[:space:]]+/etc/network/interfaces\\.d/\\*[[:space:]]*' /etc/network/interfaces; " +
  "then echo 'interfaces.d sourced'; else echo 'interfaces.d not-sourced'; fi";

/** The read of {@link BootStackFound}, in one process. */
export function readBootStack(): RemoteCommand {
  return {
    argv: ["sh", "-c", READ_SCRIPT, READ_NAME, ...Object.keys(BOOT_UNITS), DISPATCHER_UNIT],
    mayFail: true,
  };
}

/** Parses {@link readBootStack}'s output (a unit it does not print is "not-found"). */
export function parseBootStack(outcome: Pick<CommandOutcome, "stdout">): BootStackFound {
  const units = Object.fromEntries(Object.keys(BOOT_UNITS).map((u) => [u, "not-found"])) as Record<
    BootUnit,
    string
  >;
  let sourcesInterfacesD = false;
  let dispatcher = "not-found";
  for (const line of outcome.stdout.split("\n")) {
    const [unit, state] = line.trim().split(/\s+/);
    if (unit === "interfaces.d") sourcesInterfacesD = state === "sourced";
    else if (unit === DISPATCHER_UNIT && state) dispatcher = state;
    else if (Object.hasOwn(BOOT_UNITS, unit) && state) units[unit as BootUnit] = state;
  }
  return { units, dispatcher, sourcesInterfacesD };
}

/** Whether systemd starts a unit in this state at boot. */
function startsAtBoot(state: string): boolean {
  return state === "enabled" || state === "enabled-runtime" || state === "alias";
}

/** The stacks enabled at boot, in the order {@link BOOT_UNITS} lists them. */
export function enabledStacks(found: BootStackFound): BootStack[] {
  return (Object.keys(BOOT_UNITS) as BootUnit[])
    .filter((unit) => startsAtBoot(found.units[unit]))
    .map((unit) => BOOT_UNITS[unit]);
}

/** What was found, for a message: `systemd-networkd.service disabled, networking.service (ifupdown) enabled, …`. */
export function describeBootStack(found: BootStackFound): string {
  return (Object.keys(BOOT_UNITS) as BootUnit[])
    .map((unit) => {
      const label =
        BOOT_UNITS[unit] === unit.replace(/\.service$/, "") ? unit : `${unit} (${BOOT_UNITS[unit]})`;
      const state = found.units[unit];
      return `${label} ${state === "not-found" ? "not installed" : state}`;
    })
    .join(", ")
    .concat(
      startsAtBoot(found.units["networking.service"]) && !found.sourcesInterfacesD
        ? ` (but /etc/network/interfaces has no \`${SOURCE_LINE}\` line)`
        : "",
      startsAtBoot(found.units["NetworkManager.service"]) && !startsAtBoot(found.dispatcher)
        ? ` (but ${DISPATCHER_UNIT} is ${found.dispatcher === "not-found" ? "not installed" : found.dispatcher})`
        : "",
    );
}

/** The stacks whose files pulumi-gre writes. */
export const SUPPORTED_STACKS: readonly BootStack[] = ["systemd-networkd", "NetworkManager", "ifupdown"];

/** Whether the files of `stack` are read at boot on this router as it is set up. */
function readsOurFiles(stack: BootStack, found: BootStackFound): boolean {
  if (stack === "ifupdown") return found.sourcesInterfacesD;
  if (stack === "NetworkManager") return startsAtBoot(found.dispatcher);
  return true;
}

/**
 * The stack that `persist` writes for on this router: the first enabled one, in the order of
 * {@link BOOT_UNITS}, whose files would be read at boot (ifupdown's only where the interfaces file
 * sources interfaces.d, NetworkManager's only with its dispatcher); undefined when there is none.
 */
export function persistStack(found: BootStackFound): BootStack | undefined {
  return enabledStacks(found).find(
    (stack) => SUPPORTED_STACKS.includes(stack) && readsOurFiles(stack, found),
  );
}

/**
 * Why `persist` cannot bring `what` back at boot on this router (undefined: it can): nothing
 * pulumi-gre writes for is enabled. Names what was found and what to do.
 */
export function bootStackProblem(found: BootStackFound, what: string): string | undefined {
  if (persistStack(found) !== undefined) return undefined;
  return (
    `persist: nothing on this router would bring ${what} back at boot: pulumi-gre writes ` +
    `${SUPPORTED_STACKS.slice(0, -1).join(", ")} or ${SUPPORTED_STACKS.at(-1)} files, and found ${describeBootStack(found)}; ` +
    "enable systemd-networkd (systemctl enable systemd-networkd), or NetworkManager with its dispatcher " +
    `(systemctl enable NetworkManager), or ifupdown's networking.service with \`${SOURCE_LINE}\` ` +
    "in /etc/network/interfaces, or set persist: false"
  );
}
