/**
 * The simulated routers' `ping -n -q`: the summary the lab's routers print (recorded in
 * `test/fixtures/health/`), for a path that carries the packets or one that does not, and how long
 * the ping runs (its interval between packets).
 *
 * @packageDocumentation
 */

/** A ping as the providers send it: `-I FROM … TO`, `-c`, `-i`, `-s`, `-M do`. */
export interface PingRequest {
  from: string;
  to: string;
  count: number;
  intervalSeconds: number;
  /** Payload bytes (`-s`; 56 by default). */
  size: number;
  dontFragment: boolean;
}

/** What ping prints and how long it runs; `crosses` says whether the packets arrive. */
export function simulatedPing(
  request: PingRequest,
  crosses: boolean,
): { stdout: string; stderr: string; exitCode: number; waitMs: number } {
  const received = crosses ? request.count : 0;
  const spanMs = Math.round((request.count - 1) * request.intervalSeconds * 1000);
  const lines = [
    `PING ${request.to} (${request.to}) from ${request.from} : ${request.size}(${request.size + 28}) bytes of data.`,
    "",
    `--- ${request.to} ping statistics ---`,
    `${request.count} packets transmitted, ${received} received, ${crosses ? 0 : 100}% packet loss, time ${spanMs}ms`,
    ...(crosses ? ["rtt min/avg/max/mdev = 0.215/0.240/0.287/0.030 ms"] : [""]),
  ];
  // A ping that gets nothing back waits for its last reply's timeout too.
  return {
    stdout: lines.join("\n") + "\n",
    stderr: "",
    exitCode: crosses ? 0 : 1,
    waitMs: spanMs + (crosses ? 0 : 1000),
  };
}
