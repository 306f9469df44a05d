/**
 * Redis escrow store: pool, leases, sales and buyers of each SKU under one hash tag, every operation one
 * Lua script (redis-scripts.ts). Redis alone is not a durable record — a restart without persistence,
 * an RDB restore or an async-replica failover silently rolls it back — so the service only runs it
 * behind the PostgreSQL journal (journaled.ts); on its own it serves the store suite and the bench.
 */
import { Redis } from "ioredis";
import type {
  AcquireRequest,
  AcquireResult,
  CreateOutcome,
  EscrowStore,
  Fence,
  HoldRequest,
  HoldResult,
  InventoryAudit,
  LeaseView,
  PeerLease,
  RefundOutcome,
  SaleOutcome,
  SaleRecord,
  SaleRequest,
  VerifyReport,
} from "./port.js";
import { newGeneration } from "./memory.js";
import * as S from "./redis-scripts.js";
import { GroupCommit } from "./group-commit.js";
import { redisReservationSecret } from "./reservation-secret.js";

export interface RedisEscrowStoreOptions {
  url: string;
  /** Key prefix; must start with "mes:" (the escrow service's namespace). */
  prefix?: string;
  /** Longest wait for one command's reply, ms (default REDIS_COMMAND_TIMEOUT_MS). */
  commandTimeoutMs?: number;
}

/**
 * A redis-server that stops answering without closing the connection (SIGSTOP, a network blackhole) would leave every
 * command waiting for ever: each command fails after this long instead, an unknown outcome (the store may yet apply
 * it: the region holds such a commit in doubt and re-sends it, region-commits.ts), answered 503 to the buyer. The
 * connection stays: ioredis matches replies in order and drops the late one. Every escrow command is one short script
 * (a sale batch of at most 512 sales runs in well under 10 ms even under load); 5 s is far beyond a slow-but-alive
 * server and half the default lease TTL (10 s), past which the region's lease is lost anyway.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 5_000;

/** The item's counters as Redis holds them (what the journal compares against). */
export interface RedisItemState {
  generation: string;
  total: number;
  sold: number;
  /** Units sold in this generation, ever (positions issued). */
  seq: number;
  /** Sale ids refunded in this generation. */
  refunds: number;
  /** Units in the pool, and in every lease: with `sold` they add up to `total` after every script. */
  pool: number;
  held: number;
  /** Sales and refunds recorded in this generation, and the entries Redis still has (fewer: a key was lost); counted null by an older version. */
  counted: { sales: number; refunds: number } | null;
  sales: number;
}

type Lease = { e: number; h: number; x: number; r: number; t: number; w: number; i?: number };
const view = (l: Lease): LeaseView => ({ epoch: l.e, held: l.h, expiresAtMs: l.x, reserved: l.r, rate: l.t, want: l.w, received: l.i ?? 0 });
type StoredSale = { r: string; q: number; a: number; u: string; p: number };
/** The batch script's operations and answers (redis-scripts.ts BATCH). */
type BatchOp = [0, string, string, number, number, number, number] | [1, string, string, number, number, number, [string, number, string][]];
type BatchAnswer = 0 | (number | string)[] | [SaleOutcome[], number[]];

/**
 * A buyer id as Redis stores it: a lone UTF-16 surrogate (possible in a token's JSON) becomes U+FFFD, as the
 * client's UTF-8 encoding always made it; the batch's JSON would otherwise carry it as an escape Lua's
 * cjson cannot decode, failing every operation sent with it.
 */
export function wellFormed(s: string): string {
  return /[\uD800-\uDFFF]/.test(s) ? Buffer.from(s, "utf8").toString("utf8") : s;
}

export class RedisEscrowStore implements EscrowStore {
  readonly kind: EscrowStore["kind"] = "redis";
  readonly redis: Redis;
  private readonly prefix: string;

  constructor(o: RedisEscrowStoreOptions) {
    this.prefix = o.prefix ?? "mes:";
    if (!this.prefix.startsWith("mes:")) throw new Error(`prefix: got "${this.prefix}"; expected it to start with "mes:"`);
    // No auto-pipelining: the sale path's commands are already batched (one script per SKU per turn, `batches`), and
    // ioredis's auto-pipeline would hold each one back a further turn of the event loop (a setImmediate) and wrap it in
    // a Pipeline — one more loop turn per hold and per sale batch, and ~5k instructions a sale (callgrind).
    this.redis = new Redis(o.url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 2_000, commandTimeout: o.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS });
    // A broken connection is reported by the failing command; the client reconnects on its own.
    this.redis.on("error", () => undefined);
    const scripts: [string, number, string][] = [
      ["escrowCreate", 1, S.CREATE],
      ["escrowRestore", 5, S.RESTORE],
      ["escrowAcquire", 2, S.ACQUIRE],
      ["escrowRelease", 2, S.RELEASE],
      ["escrowTransfer", 2, S.TRANSFER],
      ["escrowBatch", 4, S.BATCH],
      ["escrowRefund", 4, S.REFUND],
      ["escrowReleaseHold", 1, S.RELEASE_HOLD],
      ["escrowReclaim", 2, S.RECLAIM],
      ["escrowAudit", 2, S.AUDIT],
    ];
    for (const [name, numberOfKeys, lua] of scripts) this.redis.defineCommand(name, { numberOfKeys, lua });
  }

  keys(sku: string): { inv: string; leases: string; sales: string; buyers: string; refunds: string } {
    const tag = `${this.prefix}{${sku}}`;
    return { inv: `${tag}:inv`, leases: `${tag}:leases`, sales: `${tag}:sales`, buyers: `${tag}:buyers`, refunds: `${tag}:refunds` };
  }

  private run<T>(command: string, ...args: (string | number)[]): Promise<T> {
    return (this.redis as unknown as Record<string, (...a: (string | number)[]) => Promise<T>>)[command]!(...args);
  }

  async createItem(sku: string, total: number, allocation: Record<string, number>): Promise<CreateOutcome> {
    return this.run<CreateOutcome>("escrowCreate", this.keys(sku).inv, total, JSON.stringify(allocation), newGeneration());
  }

  /** Replace the SKU's state with a durable account: no leases, every unsold unit in the pool. */
  async restore(sku: string, total: number, sold: number, generation: string, allocation: Record<string, number>, bought: Record<string, number>): Promise<void> {
    const k = this.keys(sku);
    const pairs = Object.entries(bought).flatMap(([u, n]) => [u, n]);
    await this.run("escrowRestore", k.inv, k.leases, k.sales, k.buyers, k.refunds, total, sold, generation, JSON.stringify(allocation), ...pairs);
  }

  async acquire(q: AcquireRequest): Promise<AcquireResult | null> {
    const k = this.keys(q.sku);
    const r = await this.run<[string, string, number, number, number, number, string[], string, string] | null>(
      "escrowAcquire",
      k.inv,
      k.leases,
      q.region,
      q.want,
      Math.floor(q.nowMs),
      Math.ceil(q.leaseTtlMs),
      q.fresh ? 1 : 0,
      q.reserved,
      q.rate,
      q.borrow,
      q.fence?.generation ?? "",
      q.fence?.epoch ?? -1,
    );
    if (!r) return null;
    const [generation, lease, granted, pool, lost, fenced, all, total, sold] = r;
    const peers: Record<string, PeerLease> = {};
    for (let i = 0; i + 1 < all.length; i += 2) {
      if (all[i] === q.region) continue;
      const l = view(JSON.parse(all[i + 1]!) as Lease);
      peers[all[i]!] = { ...l, live: l.expiresAtMs >= q.nowMs };
    }
    return {
      generation,
      total: Number(total),
      sold: Number(sold),
      lease: view(JSON.parse(lease) as Lease),
      granted: Number(granted),
      pool: Number(pool),
      lost: Number(lost) === 1,
      fenced: Number(fenced) === 1,
      peers,
    };
  }

  async release(sku: string, region: string, fence: Fence, qty: number): Promise<number> {
    const k = this.keys(sku);
    return Number(await this.run<number>("escrowRelease", k.inv, k.leases, region, fence.generation, fence.epoch, qty));
  }

  async transfer(sku: string, from: string, fence: Fence, to: string, qty: number, nowMs: number): Promise<number> {
    const k = this.keys(sku);
    return Number(await this.run<number>("escrowTransfer", k.inv, k.leases, from, fence.generation, fence.epoch, to, qty, Math.floor(nowMs)));
  }

  /**
   * A lease's sale batch, with each sale's position (null for an unknown SKU). It goes out in the SKU's next
   * batch script (`batch`), with every hold and sale batch that arrives in the same turn of the event loop.
   */
  async recordSalesAt(sku: string, region: string, fence: Fence, sales: readonly SaleRequest[], nowMs: number, cap: number): Promise<{ outcomes: SaleOutcome[]; positions: number[] } | null> {
    const list: [string, number, string][] = new Array(sales.length);
    for (let i = 0; i < sales.length; i++) list[i] = [sales[i]!.saleId, sales[i]!.qty, wellFormed(sales[i]!.user)];
    const [r] = await this.batches.submit(sku, [[1, region, fence.generation, fence.epoch, Math.floor(nowMs), cap, list]]);
    if (r === 0) return null;
    if (Number(r![0]) === -1) throw new Error(`sale batch refused by Redis: ${String(r![1])}`);
    const [outcomes, positions] = r as [SaleOutcome[], number[]];
    return { outcomes, positions };
  }

  async recordSales(sku: string, region: string, fence: Fence, sales: readonly SaleRequest[], nowMs: number, cap: number): Promise<SaleOutcome[]> {
    if (sales.length === 0) return [];
    const r = await this.recordSalesAt(sku, region, fence, sales, nowMs, cap);
    return r ? r.outcomes : sales.map(() => "lease-lost");
  }

  private toRecord(sku: string, saleId: string, raw: string, refunded: boolean): SaleRecord & { position: number } {
    const s = JSON.parse(raw) as StoredSale;
    return { saleId, sku, region: s.r, user: s.u, qty: s.q, atMs: s.a, refunded, position: s.p };
  }

  /** One sale as Redis recorded it, with its position. */
  async sale(sku: string, saleId: string): Promise<(SaleRecord & { position: number }) | null> {
    const k = this.keys(sku);
    const [raw, refunded] = await Promise.all([this.redis.hget(k.sales, saleId), this.redis.sismember(k.refunds, saleId)]);
    return raw === null ? null : this.toRecord(sku, saleId, raw, refunded === 1);
  }

  async findSale(sku: string, saleId: string): Promise<SaleRecord | null> {
    const s = await this.sale(sku, saleId);
    if (!s) return null;
    const { position: _p, ...rec } = s;
    return rec;
  }

  /** Every sale Redis holds for the SKU in this generation, with its position (HSCAN; the slow repair path). */
  async sales(sku: string): Promise<(SaleRecord & { position: number })[]> {
    const k = this.keys(sku);
    const out: (SaleRecord & { position: number })[] = [];
    let cursor = "0";
    do {
      const [next, flat] = await this.redis.hscan(k.sales, cursor, "COUNT", 1000);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) out.push(this.toRecord(sku, flat[i]!, flat[i + 1]!, false));
    } while (cursor !== "0");
    return out;
  }

  async refund(sku: string, saleId: string): Promise<RefundOutcome> {
    const k = this.keys(sku);
    return this.run<RefundOutcome>("escrowRefund", k.inv, k.sales, k.buyers, k.refunds, saleId, "", "");
  }

  /**
   * Apply a refund the journal already recorded (qty and buyer from the journal) under `generation`; idempotent. A Redis
   * of another generation was rebuilt from the journal after the refund, so it counts the refund already: not applied.
   */
  async applyRefund(sku: string, saleId: string, qty: number, user: string, generation: string): Promise<RefundOutcome | "stale-generation"> {
    const k = this.keys(sku);
    return this.run<RefundOutcome | "stale-generation">("escrowRefund", k.inv, k.sales, k.buyers, k.refunds, saleId, qty, user, generation);
  }

  async refundedIds(sku: string): Promise<Set<string>> {
    return new Set(await this.redis.smembers(this.keys(sku).refunds));
  }

  /**
   * Every reservation holds its buyer's cap here before it is answered: the one store call on the reserve
   * path. Holds and sale batches of a SKU go out together (group commit): everything that arrives in one
   * turn of the event loop, or while the SKU's previous script is in flight, shares the next script — one
   * round trip for the lot, each operation still applied in order against everything before it, and each
   * caller answered only once the script that carried its operation returned.
   */
  async hold(sku: string, h: HoldRequest): Promise<HoldResult> {
    const [r] = await this.batches.submit(sku, [[0, wellFormed(h.user), h.holdId, h.qty, h.cap, Math.floor(h.expiresAtMs), Math.floor(h.nowMs)]]);
    const code = Number((r as number[])[0]);
    if (code === 1) return { ok: true };
    if (code === 0) return { ok: false, held: Number((r as number[])[1]), bought: Number((r as number[])[2]) };
    throw new Error(`hold refused by Redis: ${String((r as unknown[])[1])}`);
  }

  private readonly batches = new GroupCommit<BatchOp, BatchAnswer>(async (sku, ops) => {
    const k = this.keys(sku);
    const reply = await this.run<string>("escrowBatch", k.inv, k.leases, k.sales, k.buyers, JSON.stringify(ops));
    return JSON.parse(reply) as BatchAnswer[];
  });

  async releaseHold(sku: string, user: string, holdId: string): Promise<void> {
    await this.run("escrowReleaseHold", this.keys(sku).buyers, user, holdId);
  }

  async reclaimExpired(sku: string, nowMs: number): Promise<number> {
    const k = this.keys(sku);
    return Number(await this.run<number>("escrowReclaim", k.inv, k.leases, Math.floor(nowMs)));
  }

  /** The counters the journal compares with, or null when Redis has no such item (one atomic read). */
  async state(sku: string): Promise<RedisItemState | null> {
    const k = this.keys(sku);
    const [[, inv], [, refunds], [, leases], [, sales]] = (await this.redis
      .multi()
      .hmget(k.inv, "gen", "total", "sold", "seq", "pool", "nsales", "nrefunds")
      .scard(k.refunds)
      .hvals(k.leases)
      .hlen(k.sales)
      .exec()) as [[unknown, (string | null)[]], [unknown, number], [unknown, string[]], [unknown, number]];
    if (inv[0] === null || inv[0] === undefined) return null;
    const held = leases.reduce((t, raw) => t + (JSON.parse(raw) as Lease).h, 0);
    const counted = inv[5] == null || inv[6] == null ? null : { sales: Number(inv[5]), refunds: Number(inv[6]) };
    return { generation: inv[0], total: Number(inv[1]), sold: Number(inv[2]), seq: Number(inv[3]), refunds: Number(refunds), pool: Number(inv[4]), held, counted, sales: Number(sales) };
  }

  /** The server's run id: it changes whenever Redis restarts or a replica takes over. */
  async runId(): Promise<string> {
    const info = await this.redis.info("server");
    return /run_id:([0-9a-f]+)/.exec(info)?.[1] ?? "";
  }

  async verify(sku: string): Promise<VerifyReport | null> {
    const s = await this.state(sku);
    return s ? { sku, generation: s.generation, action: "none", reason: "Redis alone has no durable record to compare with" } : null;
  }

  async audit(sku: string, nowMs: number): Promise<InventoryAudit | null> {
    const k = this.keys(sku);
    const r = await this.run<[string[], string[]] | null>("escrowAudit", k.inv, k.leases);
    if (!r) return null;
    const h = pairs(r[0]);
    const out: InventoryAudit = {
      sku,
      generation: h["gen"] ?? "",
      total: Number(h["total"]),
      pool: Number(h["pool"]),
      sold: Number(h["sold"]),
      leases: {},
      allocation: JSON.parse(h["allocation"] ?? "{}") as Record<string, number>,
    };
    for (const [region, raw] of Object.entries(pairs(r[1]))) {
      const l = view(JSON.parse(raw) as Lease);
      out.leases[region] = { ...l, live: l.expiresAtMs >= nowMs };
    }
    return out;
  }

  reservationSecret(): Promise<Buffer> {
    return redisReservationSecret(this.redis, this.prefix);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function pairs(flat: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
}
