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
