/** A bulk TCP transfer from PC1 to PC2 through the tunnel, for the MSS proofs on the lab. */
import { type LabSide, runOn } from "./labEnv";

export const MEGABYTE = 1_000_000;

/**
 * 1 MB from PC1 to PC2 over TCP through the tunnel, with the SYN captured on routerA's gre1: the
 * bytes PC2 received and the SYN's tcpdump line.
 */
export async function transfer(a: LabSide, b: LabSide): Promise<{ received: number; syn: string }> {
  // Path MTUs learned by earlier transfers (kept for 10 minutes) would hide what this one shows.
  for (const side of [a, b]) {
    await runOn(side, "ip", "route", "flush", "cache");
    await runOn(side, "ip", "netns", "exec", "pc", "ip", "route", "flush", "cache");
  }
  const capture = runOn(
    a,
    ...["timeout", "12", "tcpdump", "-n", "-l", "-i", "gre1", "-c", "1"],
    "tcp[tcpflags] & tcp-syn != 0 and tcp dst port 5001",
  );
  const server = runOn(
    b,
    "ip",
    "netns",
    "exec",
    "pc",
    "sh",
    "-c",
    "timeout 14 socat -u TCP-LISTEN:5001,reuseaddr - | wc -c",
  );
  const client = runOn(
    a,
    ...["ip", "netns", "exec", "pc", "sh", "-c"],
    `sleep 2; head -c ${MEGABYTE} /dev/zero | timeout 8 socat -u - TCP:${b.router.pc}:5001,retry=20,interval=0.2`,
  );
  const [syn, received] = await Promise.all([capture, server, client]);
  return {
    received: Number(received.stdout.trim()),
    syn: syn.stdout.split("\n").find((l) => /Flags \[S\]/.test(l)) ?? "",
  };
}
