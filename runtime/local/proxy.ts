/**
 * The network in front of a region: a TCP proxy that owns the region's public address (what the GSLB
 * answers and its checkers probe) and forwards to the region process's private address. Because the
 * supervisor binds it before any region starts, a taken port is found before anything runs; because it
 * sits on the wire, it can inject the faults a real network has — added latency (with jitter), lost
 * connections, a partition — without the region process knowing.
 *
 * Faults, as a client sees them: latency delays every chunk in both directions (order kept); loss
 * black-holes that share of new connections (accepted, never answered — a client times out, as after
 * lost SYNs); a partition black-holes every new connection and cuts the open ones.
 */
import net from "node:net";

export interface NetworkFault {
  /** Added one-way delay per chunk, ms. */
  latencyMs: number;
  /** Uniform jitter added on top, 0..jitterMs. */
  jitterMs: number;
  /** Share of new connections black-holed, 0..1. */
  loss: number;
  partitioned: boolean;
}

export const NO_FAULT: NetworkFault = { latencyMs: 0, jitterMs: 0, loss: 0, partitioned: false };

export interface ProxyStats {
  connections: number;
  blackholed: number;
  refused: number;
  open: number;
}

export class RegionProxy {
  fault: NetworkFault = { ...NO_FAULT };
  readonly stats: ProxyStats = { connections: 0, blackholed: 0, refused: 0, open: 0 };
  private upstream: { host: string; port: number } | null = null;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly host: string,
    readonly port: number,
    private readonly random: () => number,
  ) {
    server.on("connection", (socket) => this.accept(socket));
  }

  /** Bind the public address; rejects with the bind error (EADDRINUSE …) before anything else happens. */
  static listen(host: string, port: number, random: () => number = Math.random): Promise<RegionProxy> {
    const server = net.createServer({ pauseOnConnect: true });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off("error", reject);
        const address = server.address() as net.AddressInfo;
        resolve(new RegionProxy(server, host, address.port, random));
      });
    });
  }

  /** Where the region process listens now (null while it is down: connections are refused). */
  setUpstream(upstream: { host: string; port: number } | null): void {
    this.upstream = upstream;
  }

  setFault(fault: NetworkFault): void {
    this.fault = { ...fault };
    if (fault.partitioned) for (const s of this.sockets) s.destroy();
  }

  private accept(client: net.Socket): void {
    this.stats.connections += 1;
    this.track(client);
    const f = this.fault;
    if (f.partitioned || (f.loss > 0 && this.random() < f.loss)) {
      // Black hole: hold the connection and never answer, as a dropped SYN looks to the client.
      this.stats.blackholed += 1;
      client.on("error", () => undefined);
      return;
    }
    const target = this.upstream;
    if (!target) {
      this.stats.refused += 1;
      client.resetAndDestroy();
      return;
    }
    const server = net.connect(target);
    this.track(server);
    client.on("error", () => server.destroy());
    server.on("error", () => (client.destroyed ? undefined : client.resetAndDestroy()));
    client.on("close", () => server.destroy());
    server.on("close", () => client.destroy());
    this.pipe(client, server);
    this.pipe(server, client);
    client.resume();
  }

  /** Forward chunks, each delayed by the current latency (+ jitter) but never overtaking the previous one. */
  private pipe(from: net.Socket, to: net.Socket): void {
    let due = 0;
    from.on("data", (chunk: Buffer) => {
      const { latencyMs, jitterMs } = this.fault;
      if (latencyMs <= 0 && jitterMs <= 0 && due <= Date.now()) {
        if (!to.write(chunk)) from.pause();
        return;
      }
      due = Math.max(due, Date.now() + latencyMs + this.random() * jitterMs);
      setTimeout(() => {
        if (!to.destroyed && !to.write(chunk)) from.pause();
      }, due - Date.now());
    });
    to.on("drain", () => from.resume());
    from.on("end", () => setTimeout(() => to.end(), Math.max(0, due - Date.now())));
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    this.stats.open = this.sockets.size;
    socket.once("close", () => {
      this.sockets.delete(socket);
      this.stats.open = this.sockets.size;
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
