/**
 * What a provider tells the user that is not an error: a module left loaded and why, a route that
 * belonged to someone else. The one place such messages leave a provider.
 *
 * @packageDocumentation
 */

/** Tells the user `text`. */
export function notice(text: string): void {
  console.log(text);
}
