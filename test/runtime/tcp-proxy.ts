/**
 * A TCP proxy on 127.0.0.1 a test puts between a service and a real store (PostgreSQL, NATS, Redis) to
 * fail the store without touching it: `cut()` is the store going away (every open connection dropped, new
 * ones refused), `switchTo(port)` a failover behind one address (connections to the old target dropped,
 * new ones reach the new one). Shared by the runtime tests that need a store they can break.
 */
import net from "node:net";

export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private closed: Promise<void> | null = null;

  private constructor(
    private readonly server: net.Server,
    /** The proxy's own port: the address the service under test is given. */
    readonly port: number,
    private target: number,
  ) {}

  /** Listen on `port` (0: any free one) and forward every connection to 127.0.0.1:`target`. */
  static async listen(target: number, port = 0): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => (server.off("error", reject), resolve()));
    });
    const proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port, target);
    server.on("connection", (client) => proxy.forward(client));
    return proxy;
  }

  /** Point new connections at another port and drop every connection to the old one. */
  switchTo(target: number): void {
    this.target = target;
    this.dropAll();
  }

  /** The store goes away: stop accepting and drop every open connection. Idempotent; close() is the same. */
  cut(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.dropAll();
    return this.closed;
  }

  close(): Promise<void> {
    return this.cut();
  }

  private forward(client: net.Socket): void {
    const upstream = net.connect(this.target, "127.0.0.1");
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on("error", () => undefined);
      // Either side closing closes the pair: the service sees its connection end as the store's would.
      s.on("close", () => (client.destroy(), upstream.destroy(), this.sockets.delete(s)));
    }
    client.pipe(upstream).pipe(client);
  }

  private dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }
}
