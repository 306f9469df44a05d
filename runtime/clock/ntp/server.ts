/**
 * The NTP transport: a UDP socket (node:dgram) answering RFC 5905 client requests from a time source.
 * Receive and transmit timestamps are read as close to the socket as Node allows; a malformed datagram
 * is counted and dropped (NTP has no error replies), never crashing the server.
 */
import { createSocket, type Socket } from "node:dgram";
import { decode, encode, reply, type ServerState } from "./packet.js";

export interface NtpTimeSource {
  /** The served time (Unix ms) now. */
  now(): number;
  /** Server state for the reply (leap indicator, ε, reference). */
  state(): ServerState;
}

export interface NtpServerStats {
  requests: number;
  replies: number;
  dropped: number;
}

export class NtpServer {
  readonly stats: NtpServerStats = { requests: 0, replies: 0, dropped: 0 };
  private socket: Socket | null = null;

  constructor(private readonly source: NtpTimeSource) {}

  /** Bind and serve; resolves with the bound port (pass 0 for an ephemeral one). */
  listen(port: number, host = "127.0.0.1"): Promise<number> {
    const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
    this.socket = socket;
    socket.on("message", (msg, rinfo) => {
      const receiveMs = this.source.now();
      this.stats.requests++;
      let out: Buffer | null;
      try {
        const request = decode(msg);
        const state = this.source.state();
        const packet = reply(request, receiveMs, this.source.now(), state);
        out = packet === null ? null : encode(packet);
      } catch {
        out = null;
      }
      if (out === null) {
        this.stats.dropped++;
        return;
      }
      this.stats.replies++;
      socket.send(out, rinfo.port, rinfo.address);
    });
    return new Promise((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, host, () => {
        socket.off("error", reject);
        resolve(socket.address().port);
      });
    });
  }

  close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
}
