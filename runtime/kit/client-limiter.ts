/**
 * Per-client response rate limiting for datagram edges (NTP, DNS), after chrony's `ratelimit` and BIND's
 * RRL: each source address has a token bucket (one response per `intervalMs` on average, `burst` back to
 * back); a request beyond it is dropped, except one in every `signalEvery` drops, which gets a small
 * signal instead (NTP: a KoD RATE; DNS: a truncated reply telling a real client to retry over TCP). The
 * signal is never larger than the request, so spoofed sources cannot use us to amplify.
 *
 * Memory is bounded: at most `maxClients` addresses are tracked, the least recently seen forgotten first.
 * Because a forgotten address gets a fresh bucket, a global bucket (`globalPerSecond`) bounds the total
 * however the source addresses are shuffled. Pure: the caller passes the time.
 */
export interface ClientLimiterOptions {
  /** Mean time between responses to one client. */
  intervalMs: number;
  /** Responses a quiet client may take back to back. */
  burst: number;
  /** One dropped request in this many gets a signal (0: never signal). */
  signalEvery: number;
  maxClients?: number;
  /** Ceiling on responses per second over all clients (0: none). */
  globalPerSecond?: number;
}

export type LimitDecision = "answer" | "signal" | "drop";

interface Bucket {
  tokens: number;
  atMs: number;
  drops: number;
}

export class ClientRateLimiter {
  private readonly clients = new Map<string, Bucket>();
  private readonly global: Bucket;
  readonly stats = { answered: 0, signalled: 0, dropped: 0 };

  constructor(private readonly o: ClientLimiterOptions) {
    if (!(o.intervalMs > 0) || !(o.burst >= 1)) throw new RangeError(`client limiter: intervalMs (${o.intervalMs}) must be > 0 and burst (${o.burst}) ≥ 1`);
    this.global = { tokens: o.globalPerSecond ?? 0, atMs: Number.NEGATIVE_INFINITY, drops: 0 };
  }

  decide(client: string, nowMs: number): LimitDecision {
    let b = this.clients.get(client);
    if (b === undefined) {
      b = { tokens: this.o.burst, atMs: nowMs, drops: 0 };
      if (this.clients.size >= (this.o.maxClients ?? 16_384)) this.clients.delete(this.clients.keys().next().value!);
    } else {
      this.clients.delete(client); // re-insert: Map order is least recently seen first
      b.tokens = Math.min(this.o.burst, b.tokens + Math.max(0, nowMs - b.atMs) / this.o.intervalMs);
      b.atMs = nowMs;
    }
    this.clients.set(client, b);
    if (b.tokens >= 1 && this.takeGlobal(nowMs)) {
      b.tokens -= 1;
      this.stats.answered++;
      return "answer";
    }
    b.drops++;
    if (this.o.signalEvery > 0 && b.drops % this.o.signalEvery === 0) {
      this.stats.signalled++;
      return "signal";
    }
    this.stats.dropped++;
    return "drop";
  }

  get trackedClients(): number {
    return this.clients.size;
  }

  private takeGlobal(nowMs: number): boolean {
    const rate = this.o.globalPerSecond ?? 0;
    if (rate <= 0) return true;
    const g = this.global;
    g.tokens = Math.min(rate, g.tokens + (Number.isFinite(g.atMs) ? Math.max(0, nowMs - g.atMs) : Infinity) * (rate / 1000));
    g.atMs = nowMs;
    if (g.tokens < 1) return false;
    g.tokens -= 1;
    return true;
  }
}
