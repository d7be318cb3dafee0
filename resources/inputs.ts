/**
 * A declaration as a program writes it: every field, and every field inside, a Pulumi `Input`, so
 * that each value can come from another resource, a stack reference or a secret on its own. Derived
 * from the one declaration of each shape (`model/`), whose field docs it keeps.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";

/** A value inside a declaration, as an `Input` may hold it: lists and objects with `Input`s inside. */
export type InputValue<V> = V extends string | number | boolean | null | undefined
  ? V
  : V extends ReadonlyArray<infer Item>
    ? pulumi.Input<InputValue<Item>>[]
    : V extends object
      ? Inputs<V>
      : V;

/** `T` with every field an `Input` (optional fields stay optional). */
export type Inputs<T> = { [K in keyof T]: pulumi.Input<InputValue<T[K]>> };
