/**
 * Our connection is `@pulumi/command`'s `remote.Connection` plus extras: every field a Pulumi user
 * knows from it exists here with the same meaning. Checked by the compiler (`npm run lint` runs tsc
 * over the tests) and by a runtime list of the fields.
 */
import type { types } from "@pulumi/command";
import type { ConnectionArgs } from "../../resources/connectionArgs";
import type { Connection, ProxyConnection } from "../../model/connection";
import { connectionSchema } from "../../schemas/connection";
import { proxyCommandArgv } from "../../transport/dial";

type CommandConnection = types.input.remote.ConnectionArgs;
type CommandProxy = types.input.remote.ProxyConnectionArgs;

// A compile error here means a field of @pulumi/command's connection is missing from ours.
const missingFromConnection: Exclude<keyof CommandConnection, keyof Connection> extends never ? true : never =
  true;
const missingFromProxy: Exclude<keyof CommandProxy, keyof ProxyConnection> extends never ? true : never =
  true;

// A compile error here means a connection written for @pulumi/command (each field an Input) cannot
// be handed to a pulumi-gre resource as it is.
export function asOurs(connection: CommandConnection): ConnectionArgs {
  return connection;
}

describe("the connection shape", () => {
  it("has every field of @pulumi/command's remote.Connection", () => {
    expect([missingFromConnection, missingFromProxy]).toEqual([true, true]);
    const fields = [
      "host",
      "port",
      "user",
      "password",
      "privateKey",
      "privateKeyPassword",
      "agentSocketPath",
      "dialErrorLimit",
      "perDialTimeout",
      "proxy",
      "hostKey",
    ];
    const shape = Object.keys(connectionSchema().shape);
    expect(fields.filter((f) => !shape.includes(f))).toEqual([]);
    expect(shape.filter((f) => !fields.includes(f)).sort()).toEqual([
      "commandTimeout",
      "name",
      "proxyCommand",
      "sudo",
    ]);
  });
});

describe("dialErrorLimit and perDialTimeout, as @pulumi/command accepts them", () => {
  const parse = (fields: Record<string, unknown>) => {
    const result = connectionSchema().safeParse({ host: "203.0.113.10", ...fields });
    return result.success ? "accepted" : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  it.each<[Record<string, unknown>, string | string[]]>([
    [{ dialErrorLimit: -1, perDialTimeout: 0 }, "accepted"],
    [{ dialErrorLimit: 0 }, "accepted"],
    [{ dialErrorLimit: 1000, perDialTimeout: 2.5 }, "accepted"],
    [{ dialErrorLimit: -2 }, ["dialErrorLimit: -1 (retry without limit) or a number of attempts"]],
    [{ dialErrorLimit: 1.5 }, ["dialErrorLimit: a whole number of attempts"]],
    [{ perDialTimeout: -1 }, ["perDialTimeout: seconds, or 0 for no maximum"]],
    [
      { perDialTimeout: 2_147_484 },
      ["perDialTimeout: at most 2147483 seconds (about 24 days), or 0 for no maximum"],
    ],
  ])("%j: %j", (fields, expected) => {
    expect(parse(fields)).toEqual(expected);
  });
});

describe("a ProxyCommand's tokens", () => {
  it.each<[string[], string[]]>([
    [
      ["nc", "%h", "%p"],
      ["nc", "203.0.113.10", "22"],
    ],
    [
      ["echo", "%%h"],
      ["echo", "%h"],
    ],
    [
      ["echo", "%%%h"],
      ["echo", "%203.0.113.10"],
    ],
    [
      ["echo", "100%%"],
      ["echo", "100%"],
    ],
    [
      ["socat", "-", "TCP:%h:%p"],
      ["socat", "-", "TCP:203.0.113.10:22"],
    ],
  ])("%j → %j (read once, left to right, as ssh does)", (argv, expected) => {
    expect(proxyCommandArgv(argv, "203.0.113.10", 22)).toEqual(expected);
  });
});
