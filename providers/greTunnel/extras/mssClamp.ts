/**
 * An end's MSS clamp (`tcpMss`): the firewall rule of ours that clamps TCP's MSS on packets out
 * of the tunnel — nftables where the kernel takes it, else iptables — marked with the tunnel's
 * name, in the IP family of the tunnel's addresses (IPv6 TCP in the ip6 table or ip6tables). Read
 * with the router's other tunnels' rules in the same processes; a rule of ours in the other family
 * (an IPv6 tunnel's, where 0.3 put it) is not wanted.
 *
 * @packageDocumentation
 */
import {
  clampDrift,
  effectiveMss,
  FAMILY_TOOLS,
  firewallReads,
  parseFirewall,
  planClamp,
  type Firewall,
  type FirewallView,
} from "../../../commands/firewall/mssClamp";
import type { TunnelEndSpec } from "../../../commands/iproute2/tunnelCommands";
import { clampUnit } from "../../../commands/firewall/bootClamp";
import type { IpFamily, TcpMss } from "../../../model/tunnel";
import { familyOf } from "../../../schemas/addresses";
import type { ExtrasWanted, TunnelEndExtra } from "./tunnelEndExtra";
import {
  bootUnitChanges,
  bootUnitDrift,
  bootUnitPersisted,
  bootUnitReads,
  bootUnitRestore,
  parseBootUnits,
  wantedUnit,
  type BootUnitsView,
  type WantedUnit,
} from "./bootUnits";

/** The clamp's part of an end's outputs. */
export interface MssClampState {
  /**
   * The clamp found (null: no rule of ours): where, what it sets, the MSS it gives, and whether
   * its boot unit is there as written and enabled (null: not read, or persist is off and there is none).
   */
  tcpMss: {
    /** Where the rule is: nftables, iptables or ip6tables. */
    firewall: Firewall;
    /** What it sets: `"clamp"`, a number, or `"other"` (a rule of ours changed by hand). */
    setting: TcpMss | "other";
    /** The MSS it gives: the number, or the path MTU's for a clamp (null when not known). */
    mss: number | null;
    /** Whether its boot unit is there as written and enabled (null: not read, or no persist). */
    persisted: boolean | null;
  } | null;
}

/** What each family's firewall holds for the tunnel, and (with persist) the clamp's boot unit. */
export type ClampView = Record<IpFamily, FirewallView> & { boot?: BootUnitsView };

/** The boot unit as wanted: with persist, for the rule in the firewall that holds it now. */
function unitOf(spec: TunnelEndSpec, wanted: ExtrasWanted, view: ClampView): WantedUnit {
  const family = familyOfEnd(spec);
  return wantedUnit(spec.name, wanted.tcpMss, wanted.persist, view[family].usable, family);
}

/** The family whose TCP the end's clamp is for: its tunnel addresses' (IPv4 when it has none). */
function familyOfEnd(spec: TunnelEndSpec): IpFamily {
  return (spec.addresses[0] && familyOf(spec.addresses[0].local)) ?? "ipv4";
}

/** The other family. */
const other = (family: IpFamily): IpFamily => (family === "ipv4" ? "ipv6" : "ipv4");

export const mssClamp: TunnelEndExtra<ClampView, MssClampState> = {
  key: "mssClamp",

  // The IPv4 firewall always (where every rule of 0.3 is); the IPv6 one only for a tunnel with IPv6
  // addresses, now or before: reading a firewall loads its kernel modules, which an IPv4 router
  // should not get for nothing.
  reads(_name, wanted, previous) {
    const wasThere = previous?.tcpMss !== undefined && previous.tcpMss !== null;
    if (wanted.tcpMss === undefined && !wasThere) return {};
    const atBoot = (w?: Partial<ExtrasWanted>) =>
      w?.persist === true && w.tcpMss !== undefined && w.tcpMss !== null;
    return {
      firewall: firewallReads("ipv4"),
      ...(wanted.ipv6 || previous?.ipv6 ? { firewall6: firewallReads("ipv6") } : {}),
      ...(atBoot(wanted) || atBoot(previous) ? bootUnitReads() : {}),
    };
  },

  parse(name, outcomes) {
    if (!outcomes.firewall) return undefined;
    return {
      ipv4: parseFirewall(name, outcomes.firewall),
      // Not read: no rule of ours can be there (none was ever written for this tunnel).
      ipv6: outcomes.firewall6
        ? parseFirewall(name, outcomes.firewall6, "ipv6")
        : { usable: undefined, rules: [], nftChains: [], family: "ipv6" },
      ...(outcomes.boot ? { boot: parseBootUnits(outcomes) } : {}),
    };
  },

  problems(spec, wanted, view) {
    const family = familyOfEnd(spec);
    const tools = FAMILY_TOOLS[family];
    return wanted.tcpMss !== undefined && !view[family].usable
      ? [
          `tcpMss: no firewall here can hold the clamp (nftables cannot use this kernel's ${tools.nft} family and no ${tools.plain} works); ` +
            `install nftables or ${tools.plain}`,
        ]
      : [];
  },

  changes(spec, wanted, view) {
    const family = familyOfEnd(spec);
    return [
      ...planClamp(spec.name, undefined, view[other(family)]),
      ...planClamp(spec.name, wanted.tcpMss, view[family]),
      ...(view.boot ? bootUnitChanges(clampUnit(spec.name), unitOf(spec, wanted, view), view.boot) : []),
    ];
  },

  drift(spec, wanted, view) {
    const family = familyOfEnd(spec);
    return [
      ...clampDrift(spec.name, wanted.tcpMss, view[family]),
      ...clampDrift(spec.name, undefined, view[other(family)]),
      ...(view.boot ? bootUnitDrift(clampUnit(spec.name), unitOf(spec, wanted, view), view.boot) : []),
    ];
  },

  state(spec, wanted, view, mtu) {
    const family = familyOfEnd(spec);
    const rule = view?.[family].rules[0] ?? view?.[other(family)].rules[0];
    // The boot unit as a persisted clamp has it: there as written and enabled.
    const persisted = view?.boot
      ? bootUnitPersisted(
          clampUnit(spec.name),
          unitOf(spec, { ...wanted, persist: true }, view),
          wanted.persist,
          view.boot,
        )
      : null;
    return {
      tcpMss: rule
        ? {
            firewall: rule.firewall,
            setting: rule.setting,
            mss: rule.setting === "other" ? null : effectiveMss(rule.setting, mtu, family),
            persisted,
          }
        : null,
    };
  },

  restore(name, before, now) {
    return (["ipv4", "ipv6"] as const)
      .flatMap((family) => {
        const rules = before[family].rules;
        const was = rules.length === 1 ? rules[0].setting : undefined;
        return planClamp(name, was === "other" ? undefined : was, now[family]);
      })
      .concat(before.boot && now.boot ? bootUnitRestore(clampUnit(name), before.boot, now.boot) : []);
  },
};
