/**
 * The local estate's shared escrow store on embedded defaults. In production every region's escrow
 * shares Redis/PostgreSQL; with no store server on the machine, the supervisor holds the embedded store
 * (escrow's MemoryEscrowStore) and serves its port over loopback HTTP, and each region process uses
 * RemoteEscrowStore — so the pool, the leases and the sales ledger outlive any region process, exactly
 * as the store does when a region dies in production, and every store operation stays one atomic step
 * (it runs whole inside the supervisor).
 *
 * Every call is an operator request (a JWT from the supervisor's local issuer); a failed call is an
 * error the escrow turns into 503 + Retry-After, as with an unreachable Redis.
 */
import { z } from "zod";
import { defineService, HttpError, parseInput } from "../kit/index.js";
import type { AcquireRequest, AcquireResult, CreateOutcome, EscrowStore, InventoryAudit, SaleOutcome, SaleRecord, SaleRequest } from "../escrow/store.js";

const sku = z.string().min(1).max(128);
const region = z.string().min(1).max(64);
const count = z.number().int().min(0);
const nowMs = z.number().finite();

/** Each store operation's arguments, as the port declares them. */
const OPERATIONS = {
  createItem: z.tuple([sku, count, z.record(z.string(), count), nowMs]),
  acquire: z.tuple([
    z.object({ sku, region, want: count, nowMs, leaseTtlMs: z.number().positive(), fresh: z.boolean(), reserved: count, epoch: count.optional() }).strict(),
  ]),
  release: z.tuple([sku, region, count, count, nowMs]),
  recordSales: z.tuple([sku, region, count, z.array(z.object({ saleId: z.string().min(1).max(300), qty: z.number().int().positive() }).strict()).max(10_000), nowMs]),
  findSale: z.tuple([sku, z.string().min(1).max(300)]),
  reclaimExpired: z.tuple([sku, nowMs]),
  audit: z.tuple([sku, nowMs]),
} as const;

type Operation = keyof typeof OPERATIONS;

/** The store served to the estate's region processes (in-process only: the supervisor owns the store). */
export function escrowPoolService(store: EscrowStore) {
  return defineService({
    name: "escrow-pool",
    config: z.object({}).strict(),
    start: () => ({
      routes(app) {
        app.get("/v1/pool", { config: { auth: "operator" } }, async () => ({ kind: store.kind }));
        app.post("/v1/pool/:op", { config: { auth: "operator" } }, async (req) => {
          const { op } = parseInput(z.object({ op: z.enum(Object.keys(OPERATIONS) as [Operation, ...Operation[]]) }), req.params, "path");
          const args = parseInput(OPERATIONS[op], req.body, "body") as unknown[];
          try {
            const call = store[op] as (...a: unknown[]) => Promise<unknown>;
            return { result: await call.apply(store, args) };
          } catch (err) {
            throw new HttpError(503, "store failed", (err as Error).message, { "retry-after": "1" });
          }
        });
      },
    }),
  });
}

/** An EscrowStore whose every operation runs in the supervisor's store. */
export class RemoteEscrowStore implements EscrowStore {
  private constructor(
    private readonly url: string,
    private readonly token: () => string,
    readonly kind: EscrowStore["kind"],
    private readonly timeoutMs: number,
  ) {}

  static async connect(url: string, token: () => string, timeoutMs = 3000): Promise<RemoteEscrowStore> {
    const res = await fetch(`${url}/v1/pool`, { headers: { authorization: `Bearer ${token()}` }, signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`escrow pool at ${url}: HTTP ${res.status} ${await res.text()}`);
    const { kind } = (await res.json()) as { kind: EscrowStore["kind"] };
    return new RemoteEscrowStore(url, token, kind, timeoutMs);
  }

  private async call<T>(op: Operation, args: unknown[]): Promise<T> {
    const res = await fetch(`${this.url}/v1/pool/${op}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token()}` },
      body: JSON.stringify(args),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const body = (await res.json().catch(() => ({}))) as { result?: T; error?: string; detail?: string };
    if (!res.ok) throw new Error(`escrow pool ${op}: HTTP ${res.status} ${body.error ?? ""}: ${body.detail ?? ""}`);
    return body.result as T;
  }

  createItem(sku: string, total: number, allocation: Record<string, number>, now: number): Promise<CreateOutcome> {
    return this.call("createItem", [sku, total, allocation, now]);
  }
  acquire(req: AcquireRequest): Promise<AcquireResult | null> {
    return this.call("acquire", [req]);
  }
  release(sku: string, region: string, epoch: number, qty: number, now: number): Promise<number> {
    return this.call("release", [sku, region, epoch, qty, now]);
  }
  recordSales(sku: string, region: string, epoch: number, sales: readonly SaleRequest[], now: number): Promise<SaleOutcome[]> {
    return this.call("recordSales", [sku, region, epoch, sales, now]);
  }
  findSale(sku: string, saleId: string): Promise<SaleRecord | null> {
    return this.call("findSale", [sku, saleId]);
  }
  reclaimExpired(sku: string, now: number): Promise<number> {
    return this.call("reclaimExpired", [sku, now]);
  }
  audit(sku: string, now: number): Promise<InventoryAudit | null> {
    return this.call("audit", [sku, now]);
  }
  async close(): Promise<void> {}
}
