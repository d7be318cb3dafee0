/**
 * An end's MSS clamp (`tcpMss`): the firewall rule of ours that clamps TCP's MSS on packets out
 * of the tunnel — nftables where the kernel takes it, else iptables — marked with the tunnel's
 * name. Read with the router's other tunnels' rules in the same processes.
 *
 * @packageDocumentation
 */
import {
  clampDrift,
  effectiveMss,
  firewallReads,
  parseFirewall,
  planClamp,
  type Firewall,
  type FirewallView,
} from "../../../commands/firewall/mssClamp";
import type { TcpMss } from "../../../model/tunnel";
import type { TunnelEndExtra } from "./tunnelEndExtra";

/** The clamp's part of an end's outputs. */
export interface MssClampState {
  /** The clamp found: where, what it sets, and the MSS it gives (null: no rule of ours). */
  tcpMss: { firewall: Firewall; setting: TcpMss | "other"; mss: number | null } | null;
}

export const mssClamp: TunnelEndExtra<FirewallView, MssClampState> = {
  key: "mssClamp",

  reads(wanted, previous) {
    const wasThere = previous?.tcpMss !== undefined && previous.tcpMss !== null;
    if (wanted.tcpMss === undefined && !wasThere) return {};
    return { firewall: firewallReads() };
  },

  parse(name, outcomes) {
    return outcomes.firewall ? parseFirewall(name, outcomes.firewall) : undefined;
  },

  problems(_spec, wanted, view) {
    return wanted.tcpMss !== undefined && !view.usable
      ? [
          "tcpMss: no firewall here can hold the clamp (nftables cannot use this kernel's ip family and no iptables works); " +
            "install nftables or iptables",
        ]
      : [];
  },

  changes(spec, wanted, view) {
    return planClamp(spec.name, wanted.tcpMss, view);
  },

  drift(spec, wanted, view) {
    return clampDrift(spec.name, wanted.tcpMss, view);
  },

  state(_spec, _wanted, view, mtu) {
    const rule = view?.rules[0];
    return {
      tcpMss: rule
        ? {
            firewall: rule.firewall,
            setting: rule.setting,
            mss: rule.setting === "other" ? null : effectiveMss(rule.setting, mtu),
          }
        : null,
    };
  },

  restore(name, before, now) {
    const was = before.rules.length === 1 ? before.rules[0].setting : undefined;
    return planClamp(name, was === "other" ? undefined : was, now);
  },
};
