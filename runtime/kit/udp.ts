/**
 * UDP plumbing for the services' datagram edges (NTP, DNS): binding that reports a taken port as an error
 * (never an uncaught 'error' event), and a send that cannot throw. A datagram claiming source port 0, a
 * destination the kernel refuses, or a socket closed under us is dropped and counted, not a crash:
 * `socket.send` throws synchronously for port 0, and emits 'error' for the rest.
 */
import type { Socket } from "node:dgram";

/** Bind and resolve with the bound port; a bind failure rejects (with its errno code) instead of crashing. */
export function bindUdp(socket: Socket, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    socket.once("error", onError);
    socket.bind(port, host, () => {
      socket.off("error", onError);
      // After binding, socket errors (ICMP unreachable on some platforms) are dropped: a reply that
      // cannot be delivered is the client's loss, never the server's crash.
      socket.on("error", () => undefined);
      resolve(socket.address().port);
    });
  });
}

/** Send a reply unless the destination is impossible; returns false when dropped. */
export function sendSafely(socket: Socket, payload: Uint8Array, port: number, address: string): boolean {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return false;
  try {
    socket.send(payload, port, address, () => undefined);
    return true;
  } catch {
    return false;
  }
}
