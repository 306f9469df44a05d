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
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { defineService, HttpError, parseInput } from "../kit/index.js";
import type { EscrowStore } from "../escrow/index.js";

/** JSON values an operation may carry: numbers, ids, small records and lists (group commits up to 10,000 sales). */
const json: z.ZodType<unknown> = z.lazy(() => z.union([z.string().max(1024), z.number().finite(), z.boolean(), z.null(), z.array(json).max(10_000), z.record(z.string().max(256), json)]));

/** Every operation of the store port, by its number of arguments. */
const ARITY = {
  createItem: 4,
  acquire: 1,
  release: 5,
  transfer: 6,
  recordSales: 6,
  findSale: 2,
  refund: 3,
  hold: 2,
  releaseHold: 3,
  reclaimExpired: 2,
  verify: 2,
  audit: 2,
} as const satisfies Partial<Record<keyof EscrowStore, number>>;

type Operation = keyof typeof ARITY;
const OPERATIONS = Object.keys(ARITY) as [Operation, ...Operation[]];

/** The store served to the estate's region processes (in-process only: the supervisor owns the store). */
export function escrowPoolService(store: EscrowStore) {
  return defineService({
    name: "escrow-pool",
    config: z.object({}).strict(),
    start: () => ({
      routes(app) {
        app.get("/v1/pool", { config: { auth: "operator" } }, async () => ({ kind: store.kind }));
        app.post("/v1/pool/:op", { config: { auth: "operator" } }, async (req) => {
          const { op } = parseInput(z.object({ op: z.enum(OPERATIONS) }), req.params, "path");
          // The port's own types are checked by the store; here: the right number of plain JSON values.
          const args = parseInput(z.array(json).length(ARITY[op]), req.body, "body");
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
  /** Whether the pool answered a call (2xx) since the last `reachable()`. */
  private answered = false;

  private constructor(
    private readonly url: string,
    private readonly token: () => string,
    readonly kind: EscrowStore["kind"],
    private readonly timeoutMs: number,
    /** Until when an idempotent call is asked again (the start window that began at connect). */
    private readonly patientUntil: number,
  ) {}

  /**
   * Reaches the pool, asking again while `patienceMs` lasts when an attempt times out or finds no listener: a region
   * connects while the supervisor may be busy starting the others on a loaded machine, and the supervisor gives a
   * region 90 s to be ready, so one slow answer must not end the region's start. A refusal (401/403/4xx) is final.
   */
  static async connect(url: string, token: () => string, timeoutMs = 3000, patienceMs = 60_000): Promise<RemoteEscrowStore> {
    const { kind } = await patiently(`escrow pool at ${url}`, Date.now() + patienceMs, async () => {
      const res = await fetch(`${url}/v1/pool`, { headers: { authorization: `Bearer ${token()}` }, signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new PoolRefusal(`escrow pool at ${url}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as { kind: EscrowStore["kind"] };
    });
    return new RemoteEscrowStore(url, token, kind, timeoutMs, Date.now() + patienceMs);
  }

  private async call<T>(op: Operation, args: readonly unknown[]): Promise<T> {
    const res = await fetch(`${this.url}/v1/pool/${op}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token()}` },
      body: JSON.stringify(args),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const body = (await res.json().catch(() => ({}))) as { result?: T; error?: string; detail?: string };
    if (!res.ok) throw new PoolRefusal(`escrow pool ${op}: HTTP ${res.status} ${body.error ?? ""}: ${body.detail ?? ""}`);
    this.answered = true;
    return body.result as T;
  }

  /**
   * The region's store health check (once a second): true when the pool answered a call since the last check (a sale, the
   * dashboard's inventory read) — then it is not asked at all — else after one `GET /v1/pool`, which runs no operation
   * (the supervisor holds the store in its own memory: reaching the pool is reaching the store). Throws why not.
   */
  async reachable(): Promise<true> {
    if (this.answered) {
      this.answered = false;
      return true;
    }
    const res = await fetch(`${this.url}/v1/pool`, { headers: { authorization: `Bearer ${this.token()}` }, signal: AbortSignal.timeout(this.timeoutMs) });
    await res.arrayBuffer();
    if (!res.ok) throw new PoolRefusal(`escrow pool at ${this.url}: HTTP ${res.status}`);
    return true;
  }

  // Creating an item is idempotent (the same total again answers "exists"), and the escrow creates its configured
  // items at start: asked again within the start window, so a slow supervisor does not fail a region's start.
  createItem: EscrowStore["createItem"] = (...a) => patiently("escrow pool createItem", this.patientUntil, () => this.call("createItem", a));
  acquire: EscrowStore["acquire"] = (...a) => this.call("acquire", a);
  release: EscrowStore["release"] = (...a) => this.call("release", a);
  transfer: EscrowStore["transfer"] = (...a) => this.call("transfer", a);
  recordSales: EscrowStore["recordSales"] = (...a) => this.call("recordSales", a);
  findSale: EscrowStore["findSale"] = (...a) => this.call("findSale", a);
  refund: EscrowStore["refund"] = (...a) => this.call("refund", a);
  hold: EscrowStore["hold"] = (...a) => this.call("hold", a);
  releaseHold: EscrowStore["releaseHold"] = (...a) => this.call("releaseHold", a);
  reclaimExpired: EscrowStore["reclaimExpired"] = (...a) => this.call("reclaimExpired", a);
  verify: EscrowStore["verify"] = (...a) => this.call("verify", a);
  audit: EscrowStore["audit"] = (...a) => this.call("audit", a);
  async close(): Promise<void> {}
}

/** The pool answered, and refused: asking again would not help. */
class PoolRefusal extends Error {}

/**
 * `attempt` until it succeeds, asking again after a timeout or a connection error (not a refusal) until
 * `deadline` (epoch ms), with a growing pause; the last error, named, once it has passed.
 */
async function patiently<T>(what: string, deadline: number, attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (e instanceof PoolRefusal || Date.now() >= deadline) throw e instanceof PoolRefusal ? e : new Error(`${what}: no answer after ${n} attempt(s): ${(e as Error).message}`, { cause: e });
      await sleep(Math.min(100 * n, 1000));
    }
  }
}
