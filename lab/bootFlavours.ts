/**
 * How a lab router brings its network up at boot, as each distribution installs it
 * (`lab up --boot FLAVOUR` or `--boot ROUTER=FLAVOUR`): the unit its systemd has enabled, kept in
 * the router's own `/etc/systemd/system`, which its init script consults at every boot as systemd
 * would. What pulumi-gre reads (`systemctl is-enabled`) is then what the router really does.
 * strongSwan is enabled on every router, as its Debian package installs it.
 *
 * @packageDocumentation
 */
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "fs";
import * as path from "path";
import { LabError } from "./labError";

/** What brings a lab router's network up at boot. */
export const BOOT_FLAVOURS = {
  /** systemd-networkd enabled, as on Ubuntu (netplan) and systemd-based router images. */
  networkd: "systemd-networkd.service",
  /** ifupdown's networking.service enabled (networkd installed, disabled), as Debian installs. */
  ifupdown: "networking.service",
  /** NetworkManager and its dispatcher enabled (networkd installed, disabled), as Fedora and desktops install. */
  networkmanager: "NetworkManager.service",
  /** Nothing enabled that reads network files at boot: networkd installed but disabled. */
  none: undefined,
} as const;

/** A flavour of {@link BOOT_FLAVOURS}. */
export type BootFlavour = keyof typeof BOOT_FLAVOURS;

/** The flavour of a router no `--boot` names: what the lab has always booted. */
export const DEFAULT_BOOT: BootFlavour = "networkd";

/** What `--boot` asked: a flavour for every router, and flavours per router. */
export interface BootChoice {
  all?: BootFlavour;
  routers: Record<string, BootFlavour>;
}

function flavour(word: string, given: string): BootFlavour {
  if (!Object.hasOwn(BOOT_FLAVOURS, word))
    throw new LabError(`--boot ${given}: ${word} is not one of ${Object.keys(BOOT_FLAVOURS).join(", ")}`);
  return word as BootFlavour;
}

/** Reads `--boot` values: `FLAVOUR` (every router) or `ROUTER=FLAVOUR`, each at most once. */
export function parseBoot(values: readonly string[]): BootChoice {
  const choice: BootChoice = { routers: {} };
  for (const value of values) {
    const [router, word] = value.includes("=") ? value.split("=", 2) : [undefined, value];
    if (router === undefined) {
      if (choice.all !== undefined)
        throw new LabError(`--boot ${value}: a flavour for every router was given twice`);
      choice.all = flavour(word, value);
    } else {
      if (router in choice.routers) throw new LabError(`--boot ${value}: ${router} was given twice`);
      choice.routers[router] = flavour(word, value);
    }
  }
  return choice;
}

/** Gives each router of `plans` its flavour (a NAT router keeps none: it persists nothing). */
export function applyBoot(
  plans: Array<{ name: string; role: string; boot?: BootFlavour }>,
  choice: BootChoice,
): void {
  const names = plans.filter((p) => p.role === "router").map((p) => p.name);
  for (const router of Object.keys(choice.routers))
    if (!names.includes(router))
      throw new LabError(`--boot names ${router}, which is not one of ${names.join(", ")}`);
  for (const plan of plans)
    if (plan.role === "router") plan.boot = choice.routers[plan.name] ?? choice.all ?? DEFAULT_BOOT;
}

/** strongSwan's unit (Debian's `charon-systemd`): charon, then `swanctl --load-all`. */
export const STRONGSWAN_UNIT = "/lib/systemd/system/strongswan.service";

/** The NetworkManager daemon the flavour runs (Debian's `network-manager` package). */
export const NETWORK_MANAGER = "/usr/sbin/NetworkManager";

/**
 * What NetworkManager manages on a lab router: tunnels only. The lab's own links (management,
 * underlay, LAN, bridge) are set up by its init script, and no link gets an automatic DHCP profile.
 */
export const LAB_NM_CONF = `# The lab's: NetworkManager manages tunnels (its ip-tunnel devices) and leaves the lab's own links alone.
[main]
no-auto-default=*

[keyfile]
unmanaged-devices=except:type:iptunnel
`;

/**
 * Writes the router's `/etc/systemd/system` (kept under its persist folder): the flavour's unit
 * enabled as `systemctl enable` would, wanted by multi-user.target (for NetworkManager, with the
 * alias through which D-Bus starts its dispatcher); and the router's own NetworkManager folders.
 */
export function prepareBootFlavour(persistDir: string, boot: BootFlavour | undefined): void {
  const system = path.join(persistDir, "systemd-system");
  const wants = path.join(system, "multi-user.target.wants");
  mkdirSync(wants, { recursive: true });
  for (const folder of ["interfaces.d", "nm-connections", "nm-dispatcher", "nm-conf.d", "swanctl-conf.d"])
    mkdirSync(path.join(persistDir, folder), { recursive: true });
  writeFileSync(path.join(persistDir, "nm-conf.d", "lab.conf"), LAB_NM_CONF);
  const unit = boot === undefined ? undefined : BOOT_FLAVOURS[boot];
  if (unit !== undefined) symlinkSync(`/lib/systemd/system/${unit}`, path.join(wants, unit));
  // strongSwan as Debian's charon-systemd package leaves it: enabled (a router's, not a NAT's).
  if (boot !== undefined && existsSync(STRONGSWAN_UNIT))
    symlinkSync(STRONGSWAN_UNIT, path.join(wants, path.basename(STRONGSWAN_UNIT)));
  if (boot === "networkmanager") {
    if (!existsSync(NETWORK_MANAGER))
      throw new LabError(
        `--boot networkmanager: ${NETWORK_MANAGER} is missing (apt-get install network-manager)`,
      );
    symlinkSync(
      "/lib/systemd/system/NetworkManager-dispatcher.service",
      path.join(system, "dbus-org.freedesktop.nm-dispatcher.service"),
    );
  }
}
