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
import type { IpFamily, TcpMss } from "../../../model/tunnel";
import { familyOf } from "../../../schemas/addresses";
import type { TunnelEndExtra } from "./tunnelEndExtra";

/** The clamp's part of an end's outputs. */
export interface MssClampState {
  /** The clamp found: where, what it sets, and the MSS it gives (null: no rule of ours). */
  tcpMss: { firewall: Firewall; setting: TcpMss | "other"; mss: number | null } | null;
}

/** What each family's firewall holds for the tunnel. */
export type ClampView = Record<IpFamily, FirewallView>;

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
  reads(wanted, previous) {
    const wasThere = previous?.tcpMss !== undefined && previous.tcpMss !== null;
    if (wanted.tcpMss === undefined && !wasThere) return {};
    return {
      firewall: firewallReads("ipv4"),
      ...(wanted.ipv6 || previous?.ipv6 ? { firewall6: firewallReads("ipv6") } : {}),
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
    ];
  },

  drift(spec, wanted, view) {
    const family = familyOfEnd(spec);
    return [
      ...clampDrift(spec.name, wanted.tcpMss, view[family]),
      ...clampDrift(spec.name, undefined, view[other(family)]),
    ];
  },

  state(spec, _wanted, view, mtu) {
    const family = familyOfEnd(spec);
    const rule = view?.[family].rules[0] ?? view?.[other(family)].rules[0];
    return {
      tcpMss: rule
        ? {
            firewall: rule.firewall,
            setting: rule.setting,
            mss: rule.setting === "other" ? null : effectiveMss(rule.setting, mtu, family),
          }
        : null,
    };
  },

  restore(name, before, now) {
    return (["ipv4", "ipv6"] as const).flatMap((family) => {
      const rules = before[family].rules;
      const was = rules.length === 1 ? rules[0].setting : undefined;
      return planClamp(name, was === "other" ? undefined : was, now[family]);
    });
  },
};
