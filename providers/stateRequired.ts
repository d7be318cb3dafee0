/**
 * What `read` says when the engine calls it with no state: `pulumi import`, or the `import`
 * resource option, of a dynamic resource. Pulumi's dynamic provider host cannot serve that (it
 * needs the serialized provider, which only a state or a program's inputs carry); declaring the
 * resource is the way in, since create adopts what is already on the routers when it is as declared.
 *
 * @packageDocumentation
 */

/** The state `read` was given, or an error that says why import cannot work and what to do. */
export function stateRequired<T>(kind: string, id: string, state: T | undefined): T {
  if (state !== undefined && state !== null) return state;
  throw new Error(
    `${kind} ${id}: cannot be imported (a dynamic provider's resource has no provider to read it with until it is in the state); ` +
      "declare it in the program instead: create adopts what is already on the routers when it is as declared",
  );
}
