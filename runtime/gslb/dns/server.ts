/**
 * The DNS transport: UDP and TCP (RFC 7766) on one port, both answered by `handleMessage`. UDP replies
 * are rate limited per source address (RRL: drop the excess, answer one in `slip` with TC=1 so a real
 * client retries over TCP, which a spoofed one cannot); every send is guarded, so no datagram — from
 * port 0, truncated, hostile — can stop the server. TCP connections are capped, idle ones closed, and
 * a frame of fewer than 12 bytes ends its connection.
 */
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server, type Socket as TcpSocket } from "node:net";
import { bindUdp, ClientRateLimiter, sendSafely } from "../../kit/index.js";
import { handleMessage, zoneOf, type ZoneOptions } from "./message.js";

export interface DnsServerOptions extends ZoneOptions {
  host?: string;
  port: number;
  /** UDP responses per second per source address, the burst, one in `slip` excess answered TC=1 (RRL), and a ceiling over all sources. */
  rateLimit?: { perSecond: number; burst: number; slip: number; globalPerSecond?: number };
  /** TCP: at most this many connections, each closed after `idleMs` without a query. */
  tcp?: { maxConnections?: number; idleMs?: number };
}

export interface DnsServer {
  host: string;
  port: number;
  stats: { udp: number; tcp: number; dropped: number; rateLimited: number };
  close(): Promise<void>;
}

const MAX_TCP_MESSAGE = 65_535;

export async function startDnsServer(o: DnsServerOptions): Promise<DnsServer> {
  const zone = zoneOf(o);
  const host = o.host ?? "127.0.0.1";
  const rl = o.rateLimit ?? { perSecond: 50, burst: 100, slip: 2 };
  const limiter = new ClientRateLimiter({ intervalMs: 1000 / rl.perSecond, burst: rl.burst, signalEvery: rl.slip, globalPerSecond: rl.globalPerSecond ?? 10_000 });
  const stats = { udp: 0, tcp: 0, dropped: 0, rateLimited: 0 };
  const onDatagram = (udp: Socket, msg: Buffer, rinfo: { address: string; port: number }) => {
    stats.udp++;
    const out = safely(() =>
      handleMessage(zone, msg, {
        client: { address: rinfo.address, transport: "udp" },
        limit: () => {
          const d = limiter.decide(rinfo.address, performance.now());
          if (d !== "answer") stats.rateLimited++;
          return d;
        },
      }),
    );
    if (out === null || !sendSafely(udp, out, rinfo.port, rinfo.address)) stats.dropped++;
  };
  const makeUdp = () => {
    const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
    socket.on("message", (msg, rinfo) => onDatagram(socket, msg, rinfo));
    return socket;
  };

  const tcp = createServer({ pauseOnConnect: false }, (socket) => serveTcp(socket, zone, o.tcp?.idleMs ?? 10_000, stats));
  tcp.maxConnections = o.tcp?.maxConnections ?? 256;
  tcp.on("error", () => undefined);

  const { udp, port } = await bindBoth(makeUdp, tcp, o.port, host);
  return {
    host,
    port,
    stats,
    close: async () => {
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => {
        tcp.close(() => r());
        // Open connections end now: a DNS client simply reconnects elsewhere.
        for (const s of sockets.get(tcp) ?? []) s.destroy();
      });
    },
  };
}

const sockets = new WeakMap<Server, Set<TcpSocket>>();

/** UDP and TCP on the same port; for port 0, the port UDP got (retrying if TCP finds it taken). */
async function bindBoth(makeUdp: () => Socket, tcp: Server, port: number, host: string): Promise<{ udp: Socket; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const udp = makeUdp();
    const bound = await bindUdp(udp, port, host).catch((e: unknown) => {
      closeQuietly(udp);
      throw e;
    });
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(bound, host, () => (tcp.off("error", reject), resolve()));
      });
      return { udp, port: bound };
    } catch (e) {
      closeQuietly(udp);
      // An ephemeral UDP port whose TCP twin is taken: try another one.
      if (port !== 0 || attempt >= 5) throw e;
    }
  }
}

/** handleMessage does not throw; if a bug ever made it, the message goes unanswered, not the server down. */
function safely(handle: () => Buffer | null): Buffer | null {
  try {
    return handle();
  } catch {
    return null;
  }
}

function closeQuietly(udp: Socket): void {
  try {
    udp.close();
  } catch {
    // never bound: nothing to close
  }
}

function serveTcp(socket: TcpSocket, zone: ReturnType<typeof zoneOf>, idleMs: number, stats: DnsServer["stats"]): void {
  const server = (socket as unknown as { server: Server }).server;
  const open = sockets.get(server) ?? new Set<TcpSocket>();
  sockets.set(server, open);
  open.add(socket);
  socket.on("close", () => open.delete(socket));
  socket.on("error", () => undefined);
  socket.setTimeout(idleMs, () => socket.destroy());
  let buffered = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const len = buffered.readUInt16BE(0);
      if (len < 12) return void socket.destroy();
      if (buffered.length < 2 + len) break;
      const msg = buffered.subarray(2, 2 + len);
      buffered = buffered.subarray(2 + len);
      stats.tcp++;
      const out = safely(() => handleMessage(zone, Buffer.from(msg), { client: { address: socket.remoteAddress ?? "", transport: "tcp" } }));
      if (out === null || out.length > MAX_TCP_MESSAGE) {
        stats.dropped++;
        continue;
      }
      const frame = Buffer.alloc(2 + out.length);
      frame.writeUInt16BE(out.length, 0);
      out.copy(frame, 2);
      // A client that sends but never reads would make us buffer without bound.
      if (socket.writableLength > 1 << 20) return void socket.destroy();
      if (!socket.destroyed) socket.write(frame);
    }
  });
}
