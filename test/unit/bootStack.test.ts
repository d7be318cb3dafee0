/**
 * What brings a router's network up at boot, from `systemctl is-enabled` as routers print it, and
 * the verdict on `persist`.
 */
import {
  bootStackProblem,
  describeBootStack,
  enabledStacks,
  parseBootStack,
  persistStack,
  readBootStack,
} from "../../commands/bootStack/bootStack";

/** Printed by the read on this project's Debian 12 host: networkd installed, never enabled. */
const NETWORKD_DISABLED =
  "systemd-networkd.service disabled\nNetworkManager.service not-found\nnetworking.service not-found\ninterfaces.d not-sourced\n";
/** The same host once Debian's ifupdown package is installed (it enables networking.service). */
const DEBIAN_IFUPDOWN =
  "systemd-networkd.service disabled\nNetworkManager.service not-found\nnetworking.service enabled\ninterfaces.d sourced\n";

describe("the network stack a router brings up at boot", () => {
  it("is read in one process, the unit names as arguments and never shell code", () => {
    const { argv, mayFail } = readBootStack();
    expect(argv.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(argv.slice(3)).toEqual([
      "pulumi-gre-boot-stack",
      "systemd-networkd.service",
      "NetworkManager.service",
      "networking.service",
      "NetworkManager-dispatcher.service",
    ]);
    expect(mayFail).toBe(true);
  });

  it.each([
    [NETWORKD_DISABLED, [], undefined],
    [DEBIAN_IFUPDOWN, ["ifupdown"], "ifupdown"],
    // ifupdown enabled, but its interfaces file reads nothing of interfaces.d.
    [DEBIAN_IFUPDOWN.replace("interfaces.d sourced", "interfaces.d not-sourced"), ["ifupdown"], undefined],
    [
      "systemd-networkd.service enabled\nNetworkManager.service not-found\nnetworking.service not-found\n",
      ["systemd-networkd"],
      "systemd-networkd",
    ],
    [
      "systemd-networkd.service enabled-runtime\nNetworkManager.service enabled\nnetworking.service enabled\ninterfaces.d sourced\n",
      ["systemd-networkd", "NetworkManager", "ifupdown"],
      "systemd-networkd",
    ],
    // A Debian desktop: NetworkManager (its dispatcher enabled with it) and ifupdown (which has only lo).
    [
      "systemd-networkd.service disabled\nNetworkManager.service enabled\nnetworking.service enabled\n" +
        "NetworkManager-dispatcher.service enabled\ninterfaces.d sourced\n",
      ["NetworkManager", "ifupdown"],
      "NetworkManager",
    ],
    // The same with the dispatcher disabled: NetworkManager would not run our scripts, ifupdown is next.
    [
      "systemd-networkd.service disabled\nNetworkManager.service enabled\nnetworking.service enabled\n" +
        "NetworkManager-dispatcher.service disabled\ninterfaces.d sourced\n",
      ["NetworkManager", "ifupdown"],
      "ifupdown",
    ],
    // Fedora: NetworkManager and its dispatcher, no ifupdown.
    [
      "systemd-networkd.service disabled\nNetworkManager.service enabled\nnetworking.service not-found\n" +
        "NetworkManager-dispatcher.service enabled\ninterfaces.d not-sourced\n",
      ["NetworkManager"],
      "NetworkManager",
    ],
    [
      "systemd-networkd.service masked\nNetworkManager.service enabled\nnetworking.service static\n",
      ["NetworkManager"],
      undefined,
    ],
    // A router without systemctl prints only not-found; nothing printed at all reads the same.
    ["", [], undefined],
    ["systemd-networkd.service\ngarbage line here\nconstructor enabled\n", [], undefined],
  ])("%j: enabled %j, persisted by %j", (stdout, enabled, stack) => {
    const found = parseBootStack({ stdout });
    expect(enabledStacks(found)).toEqual(enabled);
    expect(persistStack(found)).toBe(stack);
  });

  it("names what it found when persist cannot be kept, and what to do", () => {
    const found = parseBootStack({ stdout: NETWORKD_DISABLED });
    expect(describeBootStack(found)).toBe(
      "systemd-networkd.service disabled, NetworkManager.service not installed, networking.service (ifupdown) not installed",
    );
    expect(bootStackProblem(found, "gre1")).toBe(
      "persist: nothing on this router would bring gre1 back at boot: pulumi-gre writes systemd-networkd, NetworkManager or ifupdown files, and found " +
        "systemd-networkd.service disabled, NetworkManager.service not installed, networking.service (ifupdown) not installed; " +
        "enable systemd-networkd (systemctl enable systemd-networkd), or NetworkManager with its dispatcher " +
        "(systemctl enable NetworkManager), or ifupdown's networking.service with " +
        "`source /etc/network/interfaces.d/*` in /etc/network/interfaces, or set persist: false",
    );
    const unsourced = parseBootStack({ stdout: DEBIAN_IFUPDOWN.replace("sourced", "not-sourced") });
    expect(describeBootStack(unsourced)).toMatch(
      /networking.service \(ifupdown\) enabled \(but \/etc\/network\/interfaces has no `source \/etc\/network\/interfaces.d\/\*` line\)$/,
    );
    expect(bootStackProblem(parseBootStack({ stdout: DEBIAN_IFUPDOWN }), "gre1")).toBeUndefined();
    const noDispatcher = parseBootStack({
      stdout: "NetworkManager.service enabled\nNetworkManager-dispatcher.service masked\n",
    });
    expect(describeBootStack(noDispatcher)).toBe(
      "systemd-networkd.service not installed, NetworkManager.service enabled, networking.service (ifupdown) not installed " +
        "(but NetworkManager-dispatcher.service is masked)",
    );
  });
});
