/**
 * What a provider tells the user that is not an error: a module left loaded and why, a host key
 * adopted. The one place such messages leave a provider: Pulumi's log, which the Pulumi CLI shows
 * (from a dynamic provider it arrives as the provider's output, shown since Pulumi 3.147).
 *
 * @packageDocumentation
 */
import * as pulumi from "@pulumi/pulumi";

/** Tells the user `text`: something they may want to know. */
export function notice(text: string): void {
  void pulumi.log.info(text);
}

/** Warns the user: something they should act on (pin a host key, …). */
export function warning(text: string): void {
  void pulumi.log.warn(text);
}
