/**
 * Hostile input for any service's tests. UDP: datagrams a normal socket cannot send — source port 0 —
 * through a raw socket (python3 in CI, as root: the kernel writes the IP header, we write the UDP one),
 * and bursts of junk. The HTTP suite (hostileHttp) lives below.
 */
import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";

const RAW_UDP = `
import socket, struct, sys
dst, port, payload = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
# Source port 0, checksum 0 (none, allowed over IPv4): what a normal socket can never send.
s.sendto(struct.pack("!HHHH", 0, port, 8 + len(payload), 0) + payload, (dst, 0))
`;

/** Send one IPv4 UDP datagram from source port 0. */
export function sendFromPortZero(host: string, port: number, payload: Buffer): void {
  execFileSync("/usr/bin/python3", ["-c", RAW_UDP, host, String(port), payload.toString("hex")], { stdio: "pipe" });
}

/** Fire datagrams at a UDP port from an ordinary socket (no replies awaited). */
export async function sprayUdp(host: string, port: number, payloads: readonly Buffer[]): Promise<void> {
  const s = createSocket("udp4");
  try {
    for (const p of payloads) await new Promise<void>((r) => s.send(p, port, host, () => r()));
  } finally {
    s.close();
  }
}
