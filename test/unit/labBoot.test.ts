/** `npm run lab -- up --boot …`: the flavours asked, per router or for all, and what is refused. */
import { existsSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { applyBoot, parseBoot, prepareBootFlavour, STRONGSWAN_UNIT } from "../../lab/bootFlavours";

const plans = () =>
  [
    { name: "routerA", role: "router" },
    { name: "routerB", role: "router" },
    { name: "natB", role: "nat" },
  ] as Array<{ name: string; role: string; boot?: string }>;

describe("the lab's boot flavours", () => {
  it.each([
    [[], { routerA: "networkd", routerB: "networkd" }],
    [["ifupdown"], { routerA: "ifupdown", routerB: "ifupdown" }],
    [["routerB=none"], { routerA: "networkd", routerB: "none" }],
    [["routerA=networkmanager"], { routerA: "networkmanager", routerB: "networkd" }],
    [["ifupdown", "routerA=networkd"], { routerA: "networkd", routerB: "ifupdown" }],
  ])("--boot %j gives %j (a NAT router none)", (values, expected) => {
    const planned = plans();
    applyBoot(planned as never, parseBoot(values));
    expect(Object.fromEntries(planned.map((p) => [p.name, p.boot]))).toEqual({
      ...expected,
      natB: undefined,
    });
  });

  it.each([
    [["systemd"], "--boot systemd: systemd is not one of networkd, ifupdown, networkmanager, none"],
    [["networkd", "none"], "--boot none: a flavour for every router was given twice"],
    [["routerB=none", "routerB=ifupdown"], "--boot routerB=ifupdown: routerB was given twice"],
    [["routerZ=none"], "--boot names routerZ, which is not one of routerA, routerB"],
    [["natB=none"], "--boot names natB, which is not one of routerA, routerB"],
  ])("refuses %j", (values, message) => {
    expect(() => applyBoot(plans() as never, parseBoot(values))).toThrow(message);
  });

  it("enables the flavour's unit in the router's own /etc/systemd/system, and none for none", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lab-boot-"));
    try {
      prepareBootFlavour(path.join(dir, "a"), "ifupdown");
      prepareBootFlavour(path.join(dir, "b"), "none");
      const wants = (r: string) => path.join(dir, r, "systemd-system", "multi-user.target.wants");
      // strongSwan enabled on every router, as its Debian package leaves it (where it is installed).
      const strongswan = existsSync(STRONGSWAN_UNIT) ? ["strongswan.service"] : [];
      expect(readdirSync(wants("a"))).toEqual(["networking.service", ...strongswan]);
      expect(readlinkSync(path.join(wants("a"), "networking.service"))).toBe(
        "/lib/systemd/system/networking.service",
      );
      expect(readdirSync(wants("b"))).toEqual(strongswan);
      expect(readdirSync(path.join(dir, "b"))).toEqual([
        "interfaces.d",
        "nm-conf.d",
        "nm-connections",
        "nm-dispatcher",
        "swanctl-conf.d",
        "systemd-system",
      ]);
      // NetworkManager: enabled as `systemctl enable NetworkManager` does, with its dispatcher's alias.
      prepareBootFlavour(path.join(dir, "c"), "networkmanager");
      expect(readdirSync(wants("c"))).toEqual(["NetworkManager.service", ...strongswan]);
      expect(
        readlinkSync(path.join(dir, "c", "systemd-system", "dbus-org.freedesktop.nm-dispatcher.service")),
      ).toBe("/lib/systemd/system/NetworkManager-dispatcher.service");
      expect(readFileSync(path.join(dir, "c", "nm-conf.d", "lab.conf"), "utf8")).toContain(
        "unmanaged-devices=except:type:iptunnel",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
