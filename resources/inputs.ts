/**
 * A declaration as a program writes it: every field, and every field inside, a Pulumi `Input`, so
 * that each value can come from another resource, a stack reference or a secret on its own. Derived
 * from the one declaration of each shape (`model/`), whose field docs it keeps.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";

/**
 * A value inside a declaration, as an `Input` may hold it: lists and objects with `Input`s inside.
 * A tuple stays a tuple (GreTunnel's two `endpoints`: a third is a compile error).
 */
export type InputValue<V> = V extends string | number | boolean | null | undefined
  ? V
  : V extends ReadonlyArray<unknown>
    ? { [K in keyof V]: pulumi.Input<InputValue<V[K]>> }
    : V extends object
      ? Inputs<V>
      : V;

/** `T` with every field an `Input` (optional fields stay optional). */
export type Inputs<T> = { [K in keyof T]: pulumi.Input<InputValue<T[K]>> };
