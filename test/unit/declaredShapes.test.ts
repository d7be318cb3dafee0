/**
 * One declaration per shape: each schema's output is exactly the declaration in `model/` that the
 * resources' Args and the providers' inputs are derived from. A field added to, removed from or
 * retyped in one and not the other fails to compile (`npm run lint` type-checks the tests).
 */
import type { z } from "zod";
import type { Connection } from "../../model/connection";
import type { GreTunnelDeclaration } from "../../model/greTunnel";
import type {
  KernelModuleDeclaration,
  SysctlDeclaration,
  TunnelRouteDeclaration,
} from "../../model/routerResources";
import type {
  ConnectionArgs,
  GreTunnelArgs,
  KernelModuleArgs,
  SysctlArgs,
  TunnelRouteArgs,
} from "../../index";
import type { Inputs } from "../../resources/inputs";
import type { greTunnelSchema } from "../../providers/greTunnel/schema";
import type { kernelModuleSchema } from "../../providers/oneRouter/kernelModule";
import type { sysctlSchema } from "../../providers/oneRouter/sysctl";
import type { tunnelRouteSchema } from "../../providers/oneRouter/tunnelRouteSpec";
import type { connectionSchema } from "../../schemas/connection";
import type { stackSchema } from "../../stacks/configSchema";
import type { StackConfig } from "../../stacks/config";

/** True when each type is assignable to the other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Output<F extends (...args: never[]) => z.ZodType> = z.output<ReturnType<F>>;

const schemasMatchDeclarations: Array<[string, true]> = [
  ["connection", true as Same<Output<typeof connectionSchema>, Connection>],
  ["GreTunnel", true as Same<Output<typeof greTunnelSchema>, GreTunnelDeclaration>],
  ["KernelModule", true as Same<Output<typeof kernelModuleSchema>, KernelModuleDeclaration>],
  ["Sysctl", true as Same<Output<typeof sysctlSchema>, SysctlDeclaration>],
  ["TunnelRoute", true as Same<Output<typeof tunnelRouteSchema>, TunnelRouteDeclaration>],
  ["stack config", true as Same<Output<typeof stackSchema>, StackConfig>],
];

const argsAreDeclarationsAsInputs: Array<[string, true]> = [
  ["ConnectionArgs", true as Same<ConnectionArgs, Inputs<Connection>>],
  ["GreTunnelArgs", true as Same<GreTunnelArgs, Inputs<GreTunnelDeclaration>>],
  ["KernelModuleArgs", true as Same<KernelModuleArgs, Inputs<KernelModuleDeclaration>>],
  ["SysctlArgs", true as Same<SysctlArgs, Inputs<SysctlDeclaration>>],
  ["TunnelRouteArgs", true as Same<TunnelRouteArgs, Inputs<TunnelRouteDeclaration>>],
];

describe("one declaration per shape", () => {
  it.each(schemasMatchDeclarations)("the %s schema's output is its declaration", (_name, same) => {
    expect(same).toBe(true);
  });
  it.each(argsAreDeclarationsAsInputs)("%s is its declaration with every field an Input", (_name, same) => {
    expect(same).toBe(true);
  });
});

describe("what the Args types refuse at compile time (`npm run lint` type-checks this file)", () => {
  const end = { connection: { host: "203.0.113.10" }, local: "198.51.100.10" };
  const two: GreTunnelArgs = { name: "gre1", endpoints: [end, { ...end, local: "198.51.100.20" }] };
  // @ts-expect-error a tunnel has exactly two endpoints: a third does not type-check
  const three: GreTunnelArgs = { name: "gre1", endpoints: [end, end, end] };
  // @ts-expect-error nor does one
  const one: GreTunnelArgs = { name: "gre1", endpoints: [end] };

  it("two endpoints, each an Input", () => {
    expect([two, three, one].map((args) => (args.endpoints as unknown[]).length)).toEqual([2, 3, 1]);
  });
});
