/**
 * A provider's steps called as the engine calls them: with whatever the program or the state holds.
 * The SDK types `check`'s `news` as the provider's checked inputs and `diff`'s `olds` as its state,
 * which raw inputs and hand-made states are not (that is what the tests are about), so tests hand
 * them over through here.
 */
import type * as pulumi from "@pulumi/pulumi";

/** Any of the providers, for tables that test several. */
export type AnyProvider = pulumi.dynamic.ResourceProvider;

export function checkRaw<In, Out>(
  provider: pulumi.dynamic.ResourceProvider<In, Out>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.CheckResult<In>> {
  return provider.check!({} as In, news as unknown as In);
}

export function diffRaw<In, Out>(
  provider: pulumi.dynamic.ResourceProvider<In, Out>,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.DiffResult> {
  return provider.diff!("id", olds as unknown as Out, news as unknown as In);
}
