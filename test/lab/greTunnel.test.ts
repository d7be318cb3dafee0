/**
 * GreTunnel against real kernels: every lifecycle call goes through Pulumi's serializer and
 * dynamic-provider host, to user-mode Linux routers over SSH.
 */
import { parseIpAddr, parseIpLink, type LinkState } from "../../commands/iproute2/parseIp";
import { closeAllConnections, runOnRouter } from "../../transport";
import { CheckFailed, Lifecycle } from "../../tools/providerHost/lifecycle";
import { ProviderHost, serializeProvider, type Props } from "../../tools/providerHost/providerHost";
import { describeOnLab, labRouter, rekeyByHand, type LabSide } from "./labEnv";

/** Runs commands on a lab router the way an operator would, failing the test on error. */
async function sh(side: LabSide, ...commands: string[][]): Promise<string[]> {
  const result = await runOnRouter(
    side.connection,
    commands.map((argv) => ({ argv })),
  );
  return result.outcomes.map((o) => o.stdout);
}

/** The router's links and IPv4 addresses, to compare before and after. */
async function snapshot(side: LabSide): Promise<string> {
  const [links, addrs] = await sh(side, ["ip", "-j", "-d", "link", "show"], ["ip", "-j", "addr", "show"]);
  const stable = parseIpLink(links).map(
    ({ ifindex, name, kind, up, mtu, local, remote, ikey, okey, ttl }) => ({
      ifindex,
      name,
      kind,
      up,
      mtu,
      local,
      remote,
      ikey,
      okey,
      ttl,
    }),
  );
  return JSON.stringify({ links: stable, addresses: parseIpAddr(addrs).filter((a) => a.family === "inet") });
}

async function link(side: LabSide, name: string): Promise<LinkState | undefined> {
  const result = await runOnRouter(side.connection, [{ argv: ["ip", "-j", "-d", "link", "show"] }]);
  return parseIpLink(result.outcomes[0].stdout).find((l) => l.name === name);
}

async function pingAcross(side: LabSide, from: string, to: string): Promise<number | null> {
  const result = await runOnRouter(
    side.connection,
    [{ argv: ["ping", "-c", "2", "-i", "0.2", "-W", "2", "-I", from, to] }],
    { check: false },
  );
  return result.outcomes[0].exitCode;
}

/**
 * Removes tunnels a failed test may have left, so the next test starts clean. Only those present:
 * `ip tunnel del` of a missing device makes the kernel try to load a module for it, which is slow.
 */
async function removeTunnels(side: LabSide, ...names: string[]): Promise<void> {
  const present = (await runOnRouter(side.connection, [{ argv: ["ip", "-j", "link", "show"] }])).outcomes[0]
    .stdout;
  const doomed = parseIpLink(present).filter((l) => names.includes(l.name));
  if (doomed.length > 0) {
    await runOnRouter(
      side.connection,
      doomed.map((l) => ({ argv: ["ip", "tunnel", "del", l.name] })),
      { check: false },
    );
  }
}

describeOnLab("GreTunnel on lab routers", () => {
  let a: LabSide;
  let b: LabSide;
  let host: ProviderHost;
  let tunnels: Lifecycle;

  /** The field note's tunnel: gre1, key 1, ttl 255, 10.10.10.2 on routerA and 10.10.10.1 on routerB. */
  function fieldNote(overrides: Props = {}): Props {
    return {
      name: "gre1",
      key: 1,
      ttl: 255,
      endpoints: [
        { connection: a.connection, local: a.router.underlay, address: "10.10.10.2" },
        { connection: b.connection, local: b.router.underlay, address: "10.10.10.1" },
      ],
      ...overrides,
    };
  }

  beforeAll(async () => {
    a = await labRouter("routerA");
    b = await labRouter("routerB");
    host = await ProviderHost.start();
    tunnels = new Lifecycle(
      host,
      await serializeProvider("providers/greTunnel/lifecycle.ts", "greTunnelProvider"),
      "GreTunnel",
    );
  });

  afterAll(async () => {
    await host?.stop();
    closeAllConnections();
  });

  afterEach(async () => {
    await Promise.all([
      removeTunnels(a, "gre1", "gre2", "gre3", "csum", "gre-routerB"),
      removeTunnels(b, "gre1", "gre2", "gre3", "csum", "gre-routerA"),
    ]);
  });

  it("refuses a tunnel named like an iproute2 keyword before anything runs: nothing is left on either router", async () => {
    await Promise.all([sh(a, ["modprobe", "ip_gre"]), sh(b, ["modprobe", "ip_gre"])]);
    const before = await Promise.all([snapshot(a), snapshot(b)]);
    // With the positional form, `ip tunnel add csum mode gre …` (and seq, icsum, iseq, …) makes a
    // tunnel the kernel names gre1; key, remote, help, … fail. Measured on the lab's iproute2.
    for (const name of ["csum", "seq", "iseq", "key", "remote", "help"]) {
      const refused = await tunnels.create(name, fieldNote({ name })).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(CheckFailed);
      expect((refused as CheckFailed).failures.map((f) => f.property)).toEqual(["name"]);
    }
    expect(await Promise.all([snapshot(a), snapshot(b)])).toEqual(before);
  });

  it("refuses to start without GRE, pointing at KernelModule, and changes nothing", async () => {
    await runOnRouter(b.connection, [{ argv: ["sh", "-c", "rmmod ip_gre 2>/dev/null; true"] }]);
    await sh(a, ["modprobe", "ip_gre"]);
    const beforeA = await snapshot(a);
    const beforeB = await snapshot(b);
    await expect(tunnels.create("gre1", fieldNote())).rejects.toThrow(
      /routerB \(root@169\.254\.100\.12:22\): GRE is not available: the ip_gre module is not loaded\. Declare a KernelModule for ip_gre/,
    );
    expect(await snapshot(a)).toBe(beforeA);
    expect(await snapshot(b)).toBe(beforeB);
    await sh(b, ["modprobe", "ip_gre"]);
  });

  it("builds the field note's tunnel on both routers, and it carries traffic both ways", async () => {
    const state = await tunnels.create("gre1", fieldNote());
    expect(state.id).toBe(`gre1:${a.router.host}:${b.router.host}`);
    const linkA = await link(a, "gre1");
    const linkB = await link(b, "gre1");
    expect(linkA).toMatchObject({
      kind: "gre",
      up: true,
      local: a.router.underlay,
      remote: b.router.underlay,
      ikey: 1,
      okey: 1,
      ttl: 255,
    });
    expect(linkB).toMatchObject({
      kind: "gre",
      up: true,
      local: b.router.underlay,
      remote: a.router.underlay,
      ikey: 1,
      okey: 1,
      ttl: 255,
    });
    expect(await pingAcross(b, "10.10.10.1", "10.10.10.2")).toBe(0);
    expect(await pingAcross(a, "10.10.10.2", "10.10.10.1")).toBe(0);
    const ends = state.outputs.ends as Props[];
    expect(
      ends.map((e) => [e.router, e.present, e.up, e.ifindex, e.address, e.peerAddress, e.drift]),
    ).toEqual([
      ["routerA (root@169.254.100.11:22)", true, true, linkA!.ifindex, "10.10.10.2", "10.10.10.1", []],
      ["routerB (root@169.254.100.12:22)", true, true, linkB!.ifindex, "10.10.10.1", "10.10.10.2", []],
    ]);
    expect(state.outputs.hostKeys).toEqual([a.router.hostKey, b.router.hostKey]);

    // Nothing changed: refresh shows no drift and the diff is empty.
    const refreshed = await tunnels.refresh(state);
    expect((refreshed.outputs.ends as Props[]).map((e) => e.drift)).toEqual([[], []]);
    expect(await tunnels.preview(refreshed, fieldNote())).toEqual({
      changes: "none",
      replaces: [],
      deleteBeforeReplace: false,
    });

    await tunnels.delete(refreshed);
    expect(await link(a, "gre1")).toBeUndefined();
    expect(await link(b, "gre1")).toBeUndefined();
    // Deleting again (an end already gone) is fine.
    await tunnels.delete(refreshed);
  });

  it("names each end on its own router when the endpoints say so (a hub's gre-routerB, the branch's gre-routerA)", async () => {
    const named = fieldNote({
      endpoints: [
        { name: "gre-routerB", connection: a.connection, local: a.router.underlay, address: "10.10.10.2" },
        { name: "gre-routerA", connection: b.connection, local: b.router.underlay, address: "10.10.10.1" },
      ],
    });
    const state = await tunnels.create("gre1", named);
    expect(await link(a, "gre-routerB")).toMatchObject({ kind: "gre", up: true, ikey: 1, okey: 1 });
    expect(await link(b, "gre-routerA")).toMatchObject({ kind: "gre", up: true, ikey: 1, okey: 1 });
    expect(await link(a, "gre1")).toBeUndefined();
    expect(await link(b, "gre1")).toBeUndefined();
    expect(await pingAcross(b, "10.10.10.1", "10.10.10.2")).toBe(0);
    expect(await pingAcross(a, "10.10.10.2", "10.10.10.1")).toBe(0);
    expect((state.outputs.health as Props).reachable).toBe(true);

    const refreshed = await tunnels.refresh(state);
    expect((refreshed.outputs.ends as Props[]).map((e) => [e.present, e.drift])).toEqual([
      [true, []],
      [true, []],
    ]);
    expect(await tunnels.preview(refreshed, named)).toEqual({
      changes: "none",
      replaces: [],
      deleteBeforeReplace: false,
    });
    // routerB's end deleted by hand: drift that names its own interface, repaired by update.
    await sh(b, ["ip", "link", "del", "gre-routerA"]);
    const drifted = await tunnels.refresh(refreshed);
    expect((drifted.outputs.ends as Props[])[1].drift).toEqual([
      expect.stringContaining("gre-routerA is missing"),
    ]);
    const { state: repaired, operation } = await tunnels.up(drifted, named);
    expect(operation).toBe("update");
    expect(await link(b, "gre-routerA")).toMatchObject({ up: true });
    expect(await pingAcross(a, "10.10.10.2", "10.10.10.1")).toBe(0);
    // Another name on one router is another device: a replacement.
    const renamed = fieldNote({
      endpoints: [
        { connection: a.connection, local: a.router.underlay, address: "10.10.10.2" },
        { name: "gre-routerA", connection: b.connection, local: b.router.underlay, address: "10.10.10.1" },
      ],
    });
    expect(await tunnels.preview(repaired, renamed)).toMatchObject({ replaces: ["endpoints[0].name"] });

    await tunnels.delete(repaired);
    expect(await link(a, "gre-routerB")).toBeUndefined();
    expect(await link(b, "gre-routerA")).toBeUndefined();
  });

  it("sees a peer deleted out of band as drift and repairs only that end", async () => {
    let state = await tunnels.create("gre1", fieldNote());
    const ifindexA = (await link(a, "gre1"))!.ifindex;
    await sh(b, ["ip", "tunnel", "del", "gre1"]);

    state = await tunnels.refresh(state);
    const ends = state.outputs.ends as Props[];
    expect(ends[0]).toMatchObject({ present: true, drift: [] });
    expect(ends[1]).toMatchObject({
      present: false,
      up: false,
      drift: ["routerB (root@169.254.100.12:22): gre1 is missing"],
    });
    expect(await tunnels.preview(state, fieldNote())).toEqual({
      changes: "some",
      replaces: [],
      deleteBeforeReplace: false,
    });

    const up = await tunnels.up(state, fieldNote());
    expect(up.operation).toBe("update");
    expect((await link(a, "gre1"))!.ifindex).toBe(ifindexA);
    expect(await link(b, "gre1")).toMatchObject({ kind: "gre", up: true, ikey: 1, okey: 1 });
    expect(await pingAcross(a, "10.10.10.2", "10.10.10.1")).toBe(0);
    expect((up.state.outputs.ends as Props[]).map((e) => e.drift)).toEqual([[], []]);
    await tunnels.delete(up.state);
  });

  it("sees a link set down and a key changed by hand", async () => {
    let state = await tunnels.create("gre1", fieldNote());
    await sh(a, ["ip", "link", "set", "gre1", "down"]);
    await sh(b, rekeyByHand(b, a, 9));
    state = await tunnels.refresh(state);
    expect((state.outputs.ends as Props[]).map((e) => e.drift)).toEqual([
      ["routerA (root@169.254.100.11:22): gre1 is down, wanted up"],
      [
        "routerB (root@169.254.100.12:22): gre1 ikey is 9, wanted 1",
        "routerB (root@169.254.100.12:22): gre1 okey is 9, wanted 1",
      ],
    ]);
    const up = await tunnels.up(state, fieldNote());
    expect(up.operation).toBe("update");
    expect(await pingAcross(b, "10.10.10.1", "10.10.10.2")).toBe(0);
    await tunnels.delete(up.state);
  });

  it("changes the key in place and replaces the tunnel when an underlay address changes", async () => {
    const state = await tunnels.create("gre1", fieldNote());
    const before = [(await link(a, "gre1"))!.ifindex, (await link(b, "gre1"))!.ifindex];
    const rekeyed = await tunnels.up(state, fieldNote({ key: 2, ttl: 64 }));
    expect(rekeyed.operation).toBe("update");
    expect(await link(a, "gre1")).toMatchObject({ ifindex: before[0], ikey: 2, okey: 2, ttl: 64 });
    expect(await link(b, "gre1")).toMatchObject({ ifindex: before[1], ikey: 2, okey: 2, ttl: 64 });
    expect(await pingAcross(a, "10.10.10.2", "10.10.10.1")).toBe(0);

    // A second underlay address on routerB: moving the tunnel there replaces it.
    await sh(b, ["ip", "addr", "add", "198.51.100.112/24", "dev", "eth1"]);
    try {
      const moved = fieldNote({ key: 2, ttl: 64 });
      (moved.endpoints as Props[])[1] = { ...(moved.endpoints as Props[])[1], local: "198.51.100.112" };
      expect(await tunnels.preview(rekeyed.state, moved)).toEqual({
        changes: "some",
        replaces: ["endpoints[0].remote", "endpoints[1].local"],
        deleteBeforeReplace: true,
      });
      const replaced = await tunnels.up(rekeyed.state, moved);
      expect(replaced.operation).toBe("replace");
      expect(await link(a, "gre1")).toMatchObject({ remote: "198.51.100.112", ikey: 2 });
      expect(await link(b, "gre1")).toMatchObject({ local: "198.51.100.112", ikey: 2 });
      expect(await pingAcross(b, "10.10.10.1", "10.10.10.2")).toBe(0);
      await tunnels.delete(replaced.state);
      expect(await link(a, "gre1")).toBeUndefined();
      expect(await link(b, "gre1")).toBeUndefined();
    } finally {
      await sh(b, ["ip", "addr", "del", "198.51.100.112/24", "dev", "eth1"]);
    }
  });

  it("adopts an identical tunnel made by hand with the field note's commands", async () => {
    for (const [side, peer, address, peerAddress] of [
      [a, b, "10.10.10.2", "10.10.10.1"],
      [b, a, "10.10.10.1", "10.10.10.2"],
    ] as const) {
      await sh(
        side,
        [
          "ip",
          "tunnel",
          "add",
          "gre1",
          "mode",
          "gre",
          "remote",
          peer.router.underlay,
          "local",
          side.router.underlay,
          "ikey",
          "1",
          "okey",
          "1",
          "ttl",
          "255",
        ],
        ["ip", "addr", "add", address, "dev", "gre1", "peer", peerAddress],
        ["ip", "link", "set", "gre1", "up"],
      );
    }
    const handmade = [(await link(a, "gre1"))!.ifindex, (await link(b, "gre1"))!.ifindex];
    const state = await tunnels.create("gre1", fieldNote());
    expect([(await link(a, "gre1"))!.ifindex, (await link(b, "gre1"))!.ifindex]).toEqual(handmade);
    expect((state.outputs.ends as Props[]).map((e) => e.drift)).toEqual([[], []]);
    await tunnels.delete(state);
  });

  it("refuses a different device with the same name, showing the difference", async () => {
    await sh(b, [
      "ip",
      "tunnel",
      "add",
      "gre1",
      "mode",
      "gre",
      "remote",
      "198.51.100.99",
      "local",
      b.router.underlay,
      "ttl",
      "64",
    ]);
    const beforeA = await snapshot(a);
    const beforeB = await snapshot(b);
    await expect(tunnels.create("gre1", fieldNote())).rejects.toThrow(
      "routerB (root@169.254.100.12:22): a different GRE tunnel named gre1 already exists: remote is 198.51.100.99, wanted 198.51.100.11; ikey is none, wanted 1; okey is none, wanted 1; ttl is 64, wanted 255",
    );
    expect(await snapshot(a)).toBe(beforeA);
    expect(await snapshot(b)).toBe(beforeB);
  });

  it("carries two tunnels with keys 1 and 2 between the same routers, and refuses a colliding third", async () => {
    const one = await tunnels.create("gre1", fieldNote());
    const two = await tunnels.create(
      "gre2",
      fieldNote({
        name: "gre2",
        key: 2,
        endpoints: [
          { connection: a.connection, local: a.router.underlay, address: "10.10.20.2" },
          { connection: b.connection, local: b.router.underlay, address: "10.10.20.1" },
        ],
      }),
    );
    expect(await pingAcross(a, "10.10.10.2", "10.10.10.1")).toBe(0);
    expect(await pingAcross(a, "10.10.20.2", "10.10.20.1")).toBe(0);
    expect(await pingAcross(b, "10.10.20.1", "10.10.20.2")).toBe(0);
    const beforeA = await snapshot(a);
    const beforeB = await snapshot(b);
    const third = fieldNote({
      name: "gre3",
      key: 1,
      endpoints: [
        { connection: a.connection, local: a.router.underlay, address: "10.10.30.2" },
        { connection: b.connection, local: b.router.underlay, address: "10.10.30.1" },
      ],
    });
    await expect(tunnels.create("gre3", third)).rejects.toThrow(
      "routerA (root@169.254.100.11:22): gre1 already carries GRE from 198.51.100.12 to 198.51.100.11 with key 1; the kernel matches incoming GRE packets on local address, remote address and key, so gre3 needs a different key",
    );
    expect(await snapshot(a)).toBe(beforeA);
    expect(await snapshot(b)).toBe(beforeB);
    await tunnels.delete(two);
    await tunnels.delete(one);
  });

  it("leaves routerA exactly as it was when routerB is unreachable during create", async () => {
    const beforeA = await snapshot(a);
    const inputs = fieldNote();
    const endpoints = inputs.endpoints as Props[];
    endpoints[1] = {
      ...endpoints[1],
      connection: {
        ...b.connection,
        host: "169.254.100.99",
        hostKey: undefined,
        dialErrorLimit: 1,
        perDialTimeout: 5,
      },
    };
    await expect(tunnels.create("gre1", inputs)).rejects.toThrow(
      /preflight failed, nothing was changed on either router: routerB \(root@169\.254\.100\.99:22\): unreachable after 1 attempt\(s\)/,
    );
    expect(await snapshot(a)).toBe(beforeA);
  });

  it("undoes routerA when a command fails on routerB, and says which command failed", async () => {
    // Fault injection on a real router: an `ip` earlier in PATH that refuses `ip addr replace`, alone or
    // in an `ip -batch` (after running the lines before it, as ip does).
    const wrapper = [
      "#!/bin/sh",
      'if [ "$1" = "-batch" ]; then',
      "  n=0",
      "  while IFS= read -r line; do",
      "    n=$((n+1))",
      '    case "$line" in "addr replace"*) echo "RTNETLINK answers: Operation not permitted (injected)" >&2; echo "Command failed -:$n" >&2; exit 1;; esac',
      '    /usr/sbin/ip $line || { echo "Command failed -:$n" >&2; exit 1; }',
      "  done",
      "  exit 0",
      "fi",
      'case "$1 $2" in "addr replace") echo "RTNETLINK answers: Operation not permitted (injected)" >&2; exit 2;; esac',
      'exec /usr/sbin/ip "$@"',
      "",
    ].join("\n");
    await sh(
      b,
      ["mount", "-t", "tmpfs", "inject", "/usr/local/sbin"],
      ["sh", "-c", `printf '%s' "$1" > /usr/local/sbin/ip && chmod +x /usr/local/sbin/ip`, "sh", wrapper],
    );
    try {
      const beforeA = await snapshot(a);
      const beforeB = await snapshot(b);
      let message = "";
      try {
        await tunnels.create("gre1", fieldNote());
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toBe(
        [
          "creating GRE tunnel gre1 between routerA (root@169.254.100.11:22) and routerB (root@169.254.100.12:22) failed on routerB (root@169.254.100.12:22).",
          "  routerB (root@169.254.100.12:22): command `ip addr replace 10.10.10.1 dev gre1 peer 10.10.10.2` exited with status 1: RTNETLINK answers: Operation not permitted (injected)",
          "Undone, so no half tunnel is left:",
          "  routerA (root@169.254.100.11:22): gre1 removed",
          "  routerB (root@169.254.100.12:22): gre1 removed",
        ].join("\n"),
      );
      expect(await snapshot(a)).toBe(beforeA);
      expect(await snapshot(b)).toBe(beforeB);
    } finally {
      await sh(b, ["umount", "/usr/local/sbin"]);
    }
  });

  it("undoes both ends when the tunnel does not carry traffic, and says what it saw", async () => {
    const beforeA = await snapshot(a);
    const beforeB = await snapshot(b);
    const inputs = fieldNote();
    // routerB sends to its own PC instead of routerA: reachable, but no tunnel.
    (inputs.endpoints as Props[])[1] = { ...(inputs.endpoints as Props[])[1], remote: b.router.pc };
    let message = "";
    try {
      await tunnels.create("gre1", inputs);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("the tunnel does not carry traffic");
    expect(message).toContain(
      "routerB (root@169.254.100.12:22) sends to 10.1.1.2, but routerA (root@169.254.100.11:22)'s tunnel starts at 198.51.100.11: right only if routerA (root@169.254.100.11:22) is behind a NAT",
    );
    expect(message).toContain("routerA (root@169.254.100.11:22): gre1 removed");
    expect(message).toContain("routerB (root@169.254.100.12:22): gre1 removed");
    expect(await snapshot(a)).toBe(beforeA);
    expect(await snapshot(b)).toBe(beforeB);
  });

  it("answers bad input in check, before anything runs", async () => {
    const bad = fieldNote({ name: "gre1;reboot", ttl: 300 });
    let failures: unknown;
    try {
      await tunnels.create("bad", bad);
    } catch (e) {
      failures = (e as CheckFailed).failures;
    }
    expect(failures).toEqual([
      {
        property: "name",
        reason: "must be 1 to 15 letters, digits, `_`, `.` or `-` (a Linux interface name)",
      },
      { property: "ttl", reason: "must be at most 255" },
    ]);
  });
});
