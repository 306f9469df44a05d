/**
 * The S3 map store's single-writer lease: one object, created with `If-None-Match: *` and renewed with `If-Match` on
 * the ETag this writer last wrote (S3 conditional writes: a write whose condition fails is refused with HTTP 412), so
 * of two writers racing for it exactly one wins, and a writer whose lease was taken learns it at its next renewal.
 *
 * Takeover needs no clock shared between machines: a waiting writer takes the lease (If-Match on the ETag it saw)
 * only once it has seen that same ETag for a whole lease period on its own clock — or the holder released it on close.
 * The holder counts its lease from when it sent the write that last renewed it, and stops trusting it well before a
 * lease period has passed since (`HOLD_SHARE`), so it stops writing before a waiter can take over, partitioned or not.
 * Once the lease has lapsed or been taken, every write is refused until a restart (as the PostgreSQL store's lost lock).
 *
 * A store that ignores conditional writes (s3rver) cannot keep out a second writer: the lease checks, once held, that
 * creating it again is refused, and if not refuses to start.
 */
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { MapStoreError } from "./port.js";

/** The lease object, as the store reads and writes it. */
export interface LeaseIO {
  /** PUT the object under `condition`; its new ETag, or null when the condition failed (412) or it is gone (404). */
  put(body: string, condition: Record<string, string>, timeoutMs: number): Promise<string | null>;
  /** The object and its ETag, or null when absent. */
  get(timeoutMs: number): Promise<{ body: string; etag: string } | null>;
}

export interface S3LeaseOptions {
  /** What the lease guards, for messages. */
  where: string;
  /** How long a lease lasts unrenewed (ms). */
  leaseMs: number;
  /** How long to wait for another writer's lease before refusing (ms). */
  lockWaitMs: number;
  /** A monotonic clock (ms). */
  now?: () => number;
}

interface LeaseDoc {
  holder: string;
  id: string;
  seq: number;
  leaseMs: number;
  released?: boolean;
}

/** The share of a lease period the holder trusts its lease for, from the send of its last renewal. */
const HOLD_SHARE = 0.75;

export class S3Lease {
  private readonly id = randomUUID();
  private readonly holder = `${hostname()} pid ${process.pid}`;
  private readonly now: () => number;
  private etag: string | null = null;
  private validUntil = 0;
  private lost: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private renewing = false;
  private seq = 0;

  constructor(
    private readonly io: LeaseIO,
    private readonly o: S3LeaseOptions,
  ) {
    this.now = o.now ?? (() => performance.now());
  }

  private body(released = false): string {
    // Each write differs (its sequence number), so each renewal gives the object a new ETag that waiters see change.
    const doc: LeaseDoc = { holder: this.holder, id: this.id, seq: ++this.seq, leaseMs: this.o.leaseMs, ...(released ? { released } : {}) };
    return JSON.stringify(doc);
  }

  private get timeoutMs(): number {
    return Math.max(100, Math.floor(this.o.leaseMs / 2));
  }

  /** Take the lease: create it, or take over one released or left unrenewed for its whole period; else refuse after `lockWaitMs`. */
  async acquire(): Promise<void> {
    const deadline = this.now() + this.o.lockWaitMs;
    let seen = null as { etag: string; since: number } | null;
    for (;;) {
      let sent = this.now();
      let etag = await this.io.put(this.body(), { "if-none-match": "*" }, this.timeoutMs);
      let other: LeaseDoc | null = null;
      if (etag === null) {
        const cur = await this.io.get(this.timeoutMs);
        if (cur === null) continue; // released by a delete meanwhile: create it again
        other = JSON.parse(cur.body) as LeaseDoc;
        if (seen?.etag !== cur.etag) seen = { etag: cur.etag, since: this.now() };
        if (other.released || this.now() - seen.since >= other.leaseMs) {
          sent = this.now();
          etag = await this.io.put(this.body(), { "if-match": cur.etag }, this.timeoutMs);
        }
      }
      if (etag !== null) {
        this.held(etag, sent);
        // Creating it again must be refused, else the store ignores conditions and nothing keeps a second writer out.
        if ((await this.io.put(this.body(), { "if-none-match": "*" }, this.timeoutMs)) !== null) {
          this.stop();
          throw new MapStoreError(`${this.o.where} does not honour S3 conditional writes (If-None-Match): it cannot keep a second writer out, so the map service will not write to it`);
        }
        this.timer = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.o.leaseMs / 4))).unref();
        return;
      }
      if (this.now() > deadline)
        throw new MapStoreError(`another map service holds ${this.o.where} (its lease is held by ${other?.holder ?? "another writer"} and renewed); one writer per bucket prefix`);
      await new Promise((r) => setTimeout(r, Math.min(200, Math.max(20, this.o.leaseMs / 5))));
    }
  }

  private held(etag: string, sent: number): void {
    this.etag = etag;
    this.validUntil = sent + this.o.leaseMs * HOLD_SHARE;
  }

  private async renew(): Promise<void> {
    // One renewal at a time: a second on the same ETag would be refused by the first's success, and read as a takeover.
    if (this.renewing || this.refusal() || !this.etag) return;
    this.renewing = true;
    const sent = this.now();
    let etag: string | null;
    try {
      etag = await this.io.put(this.body(), { "if-match": this.etag }, this.timeoutMs);
    } catch {
      return; // unreachable: the lease runs out by itself unless a later renewal gets through
    } finally {
      this.renewing = false;
    }
    if (this.refusal()) return;
    if (etag === null) this.lose("another writer took it over (its renewal was refused: HTTP 412)");
    else this.held(etag, sent);
  }

  private lose(why: string): void {
    if (this.lost) return;
    this.lost = `${this.o.where}: the writer lease was lost (${why}); another writer may hold it now, so writes are refused — restart the service`;
    this.stop();
  }

  /** Why writes are refused (the lease lapsed unrenewed, or was taken), or null while it is held. */
  refusal(): string | null {
    if (!this.lost && this.etag && this.now() > this.validUntil) this.lose(`not renewed within ${Math.round(this.o.leaseMs * HOLD_SHARE)} ms`);
    return this.lost;
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Give the lease up, so the next writer need not wait it out (best effort: it lapses anyway). */
  async release(): Promise<void> {
    this.stop();
    const etag = this.etag;
    this.etag = null;
    if (etag && !this.lost) await this.io.put(this.body(true), { "if-match": etag }, this.timeoutMs).catch(() => undefined);
  }
}
