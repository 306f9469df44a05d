/**
 * The NTP transport: a UDP socket (node:dgram) answering RFC 5905 client requests from a time source.
 * Receive and transmit timestamps are read as close to the socket as Node allows. Nothing a datagram can
 * carry stops the server: a malformed one is counted and dropped (NTP has no error replies), a reply to
 * an impossible source (port 0) is dropped, and a send error is swallowed. Each source address is rate
 * limited like chrony's `ratelimit` (mean interval 2^intervalLog2 s, a burst, and one in 2^leak of the
 * excess answered — here with a KoD RATE, RFC 5905 §7.4, which tells a real client to poll less).
 */
import { createSocket, type Socket } from "node:dgram";
import { bindUdp, ClientRateLimiter, sendSafely } from "../../kit/index.js";
import { decode, encode, kissOfDeath, reply, type ServerState } from "./packet.js";

export interface NtpTimeSource {
  /** The served time (Unix ms) now. */
  now(): number;
  /** Server state for the reply (leap indicator, ε, reference). */
  state(): ServerState;
}

export interface NtpRateLimit {
  /** log2 of the mean seconds between responses to one address (chrony's `interval`; -4 = 16 per second). */
  intervalLog2: number;
  /** Responses an address may take back to back (chrony's `burst`). */
  burst: number;
  /** One in 2^leak of the excess requests gets a KoD RATE; the rest are dropped (chrony's `leak`). */
  leak: number;
}

/** In-cluster clients (and every region of `meridian local` behind one loopback address) poll often. */
const DEFAULT_NTP_RATE_LIMIT: NtpRateLimit = { intervalLog2: -4, burst: 32, leak: 2 };

export interface NtpServerStats {
  requests: number;
  replies: number;
  dropped: number;
  kod: number;
  rateLimited: number;
}

export class NtpServer {
  readonly stats: NtpServerStats = { requests: 0, replies: 0, dropped: 0, kod: 0, rateLimited: 0 };
  private socket: Socket | null = null;
  private readonly limiter: ClientRateLimiter;

  constructor(
    private readonly source: NtpTimeSource,
    limit: NtpRateLimit = DEFAULT_NTP_RATE_LIMIT,
    private readonly monotonicMs: () => number = () => performance.now(),
  ) {
    this.limiter = new ClientRateLimiter({ intervalMs: 1000 * 2 ** limit.intervalLog2, burst: limit.burst, signalEvery: 2 ** limit.leak, globalPerSecond: 0 });
  }

  /** Bind and serve; resolves with the bound port (pass 0 for an ephemeral one). */
  listen(port: number, host = "127.0.0.1"): Promise<number> {
    const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
    this.socket = socket;
    socket.on("message", (msg, rinfo) => this.onMessage(socket, msg, rinfo.address, rinfo.port));
    return bindUdp(socket, port, host);
  }

  private onMessage(socket: Socket, msg: Buffer, address: string, port: number): void {
    const receiveMs = this.source.now();
    this.stats.requests++;
    let out: Buffer | null = null;
    try {
      const request = decode(msg);
      if (request.mode === 3) {
        const decision = this.limiter.decide(address, this.monotonicMs());
        if (decision === "drop") this.stats.rateLimited++;
        else if (decision === "signal") {
          this.stats.kod++;
          out = encode(kissOfDeath(request, "RATE"));
        } else {
          const packet = reply(request, receiveMs, this.source.now(), this.source.state());
          out = packet === null ? null : encode(packet);
        }
      }
    } catch {
      out = null;
    }
    if (out === null || !sendSafely(socket, out, port, address)) {
      this.stats.dropped++;
      return;
    }
    this.stats.replies++;
  }

  close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
}
