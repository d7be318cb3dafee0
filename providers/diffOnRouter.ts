/**
 * The offline diff of a resource that lives on one router (KernelModule, Sysctl, TunnelRoute): no
 * SSH, so previews stay fast and work without the routers.
 *
 * @packageDocumentation
 */
import type * as pulumi from "@pulumi/pulumi";
import { routerAddress } from "../transport/connection";
import { type Connection } from "../model/connection";

/**
 * Compares old outputs with new inputs. Another router (host or port) or a change of a
 * `replaceOn` property replaces the resource; any other change of the `inputs` properties, or
 * drift that the last refresh recorded, is an update.
 */
export function diffOnRouter<T extends { connection: Connection }>(
  olds: Partial<T> & { drift?: string[] },
  news: T,
  options: {
    inputs: ReadonlyArray<keyof T>;
    replaceOn: ReadonlyArray<keyof T>;
    deleteBeforeReplace: boolean;
  },
): pulumi.dynamic.DiffResult {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const replaces = options.replaceOn.filter((key) => !same(olds[key], news[key])).map(String);
  if (!olds.connection || routerAddress(olds.connection) !== routerAddress(news.connection)) {
    replaces.push("connection.host");
  }
  const changes =
    replaces.length > 0 ||
    options.inputs.some((key) => !same(olds[key], news[key])) ||
    (olds.drift ?? []).length > 0;
  return { changes, replaces, deleteBeforeReplace: options.deleteBeforeReplace && replaces.length > 0 };
}
