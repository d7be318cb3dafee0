/** The offline diffs of the one-router resources: what replaces, what updates, and drift. */
import { kernelModuleProvider } from "../../providers/oneRouter/kernelModule";
import { sysctlProvider } from "../../providers/oneRouter/sysctl";
import { tunnelRouteProvider } from "../../providers/oneRouter/tunnelRoute";
import { diffRaw, type AnyProvider } from "../support/rawCalls";

const routerB = { host: "169.254.100.12", name: "routerB", privateKey: "key" };

describe("one-router diffs", () => {
  const module = { connection: routerB, name: "ip_gre", persist: false, unloadOnDelete: false };
  const sysctl = {
    connection: routerB,
    key: "net.ipv4.ip_forward",
    value: "1",
    persist: false,
    restoreOnDelete: true,
  };
  const route = {
    connection: routerB,
    destination: "10.2.1.0/24",
    via: "10.10.10.2",
    metric: 0,
    table: 254,
    takeOver: false,
  };

  it.each<[string, AnyProvider, Record<string, unknown>, Record<string, unknown>, unknown]>([
    [
      "KernelModule: nothing changed (the state keeps the secrets apart, in credentials)",
      kernelModuleProvider,
      {
        ...module,
        connection: { host: "169.254.100.12", name: "routerB" },
        credentials: { privateKey: "key" },
        drift: [],
      },
      module,
      { changes: false, replaces: [], deleteBeforeReplace: false },
    ],
    [
      "KernelModule: persist turns on in place",
      kernelModuleProvider,
      module,
      { ...module, persist: true },
      { changes: true, replaces: [], deleteBeforeReplace: false },
    ],
    [
      "KernelModule: another module replaces",
      kernelModuleProvider,
      module,
      { ...module, name: "nf_conntrack" },
      { changes: true, replaces: ["name"], deleteBeforeReplace: true },
    ],
    [
      "KernelModule: lost in a reboot is an update",
      kernelModuleProvider,
      { ...module, drift: ["routerB: ip_gre is not loaded"] },
      module,
      { changes: true, replaces: [], deleteBeforeReplace: false },
    ],
    [
      "Sysctl: a new value in place",
      sysctlProvider,
      sysctl,
      { ...sysctl, value: "0" },
      { changes: true, replaces: [], deleteBeforeReplace: false },
    ],
    [
      "Sysctl: another key replaces, deleting first",
      sysctlProvider,
      sysctl,
      { ...sysctl, key: "net.ipv4.conf.all.rp_filter" },
      { changes: true, replaces: ["key"], deleteBeforeReplace: true },
    ],
    [
      "Sysctl: another router replaces",
      sysctlProvider,
      sysctl,
      { ...sysctl, connection: { ...routerB, host: "169.254.100.13" } },
      { changes: true, replaces: ["connection.host"], deleteBeforeReplace: true },
    ],
    [
      "Sysctl: a rotated key is an update",
      sysctlProvider,
      sysctl,
      { ...sysctl, connection: { ...routerB, privateKey: "new" } },
      { changes: true, replaces: [], deleteBeforeReplace: false },
    ],
    [
      "TunnelRoute: a new next hop in place",
      tunnelRouteProvider,
      route,
      { ...route, via: "10.10.10.6" },
      { changes: true, replaces: [], deleteBeforeReplace: false },
    ],
    [
      "TunnelRoute: a new metric replaces, creating first",
      tunnelRouteProvider,
      route,
      { ...route, metric: 10 },
      { changes: true, replaces: ["metric"], deleteBeforeReplace: false },
    ],
    [
      "TunnelRoute: nothing changed",
      tunnelRouteProvider,
      { ...route, credentials: {}, present: true, drift: [] },
      route,
      { changes: false, replaces: [], deleteBeforeReplace: false },
    ],
    [
      "a state written by 0.3.0 (the secrets inside the connection, no credentials) is updated once, in place",
      sysctlProvider,
      { ...sysctl, drift: [] },
      sysctl,
      { changes: true, replaces: [], deleteBeforeReplace: false },
    ],
  ])("%s", async (_title, provider, olds, news, expected) => {
    expect(await diffRaw(provider, olds, news)).toEqual(expected);
  });
});
