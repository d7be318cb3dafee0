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
