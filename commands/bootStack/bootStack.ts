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

/** What a router has: each unit's `systemctl is-enabled` state ("not-found" when it has none). */
export interface BootStackFound {
  units: Record<BootUnit, string>;
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
  return { argv: ["sh", "-c", READ_SCRIPT, READ_NAME, ...Object.keys(BOOT_UNITS)], mayFail: true };
}

/** Parses {@link readBootStack}'s output (a unit it does not print is "not-found"). */
export function parseBootStack(outcome: Pick<CommandOutcome, "stdout">): BootStackFound {
  const units = Object.fromEntries(Object.keys(BOOT_UNITS).map((u) => [u, "not-found"])) as Record<
    BootUnit,
    string
  >;
  let sourcesInterfacesD = false;
  for (const line of outcome.stdout.split("\n")) {
    const [unit, state] = line.trim().split(/\s+/);
    if (unit === "interfaces.d") sourcesInterfacesD = state === "sourced";
    else if (Object.hasOwn(BOOT_UNITS, unit) && state) units[unit as BootUnit] = state;
  }
  return { units, sourcesInterfacesD };
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
    );
}

/** The stacks whose files pulumi-gre writes. */
export const SUPPORTED_STACKS: readonly BootStack[] = ["systemd-networkd", "ifupdown"];

/**
 * The stack that `persist` writes for on this router: the first enabled one pulumi-gre writes for
 * (ifupdown only where the interfaces file sources interfaces.d); undefined when there is none.
 */
export function persistStack(found: BootStackFound): BootStack | undefined {
  return enabledStacks(found).find(
    (stack) => SUPPORTED_STACKS.includes(stack) && (stack !== "ifupdown" || found.sourcesInterfacesD),
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
    `${SUPPORTED_STACKS.join(" or ")} files, and found ${describeBootStack(found)}; ` +
    `enable systemd-networkd (systemctl enable systemd-networkd), or ifupdown's networking.service with \`${SOURCE_LINE}\` ` +
    "in /etc/network/interfaces, or set persist: false"
  );
}
