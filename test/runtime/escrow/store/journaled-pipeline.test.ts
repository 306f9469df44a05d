// The journaled store's group commits in flight at once (#17; two journal transactions per SKU, the second waiting on
// the item's row lock at the server), on the shared Redis and PostgreSQL: waves of sale batches from two regions, sent
// without waiting for each other, some carrying a sale again (a retried commit) in another batch in flight at the same
// time. Whatever the interleaving, every sale is sold once and answered a duplicate otherwise, and Redis, the journal's
// sales and its sold count agree exactly.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { JournaledEscrowStore } from "../../../../runtime/escrow/store/journaled.js";
import type { Fence, SaleOutcome } from "../../../../runtime/escrow/store/port.js";
import { PG_URL, REDIS_URL, deleteRedisPrefix, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";

const prefix = `mes:test:${uniqueName("jpipe")}:`;
const schema = uniqueName("jpipe");
let store: JournaledEscrowStore;
beforeAll(async () => {
  await ensurePgDatabase();
  store = new JournaledEscrowStore({ redisUrl: REDIS_URL, postgresUrl: PG_URL, prefix, schema });
});
afterAll(async () => {
  await store?.close();
  await deleteRedisPrefix(prefix);
  await dropPgSchema(schema);
});

/** A sale id's quantity and buyer (a retried commit carries the same). */
const qtyOf = (id: number) => 1 + (id % 3);
const userOf = (id: number) => `u${id % 4}`;

describe("the journaled store's overlapping group commits", () => {
  it("concurrent batches, retried sales among them: each sale sold once, Redis and the journal agree", async () => {
    let run = 0;
    // Journal transactions in flight at once (the pool's journal_sale_batch calls), over all runs.
    let inFlight = 0;
    let most = 0;
    const query = store.pool.query.bind(store.pool) as (...a: unknown[]) => Promise<unknown>;
    (store.pool as { query: unknown }).query = async (...a: unknown[]) => {
      const call = typeof a[0] === "string" && a[0].includes("journal_sale_batch");
      if (call) most = Math.max(most, ++inFlight);
      try {
        return await query(...a);
      } finally {
        if (call) inFlight--;
      }
    };
    const batch = fc.record({ region: fc.constantFrom("a", "b"), ids: fc.array(fc.nat(29), { minLength: 1, maxLength: 6 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(batch, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }), async (waves) => {
        const sku = `pipe-${run++}`;
        await store.createItem(sku, 120, {}, 0);
        const fences: Record<string, Fence> = {};
        for (const region of ["a", "b"]) {
          const r = (await store.acquire({ sku, region, want: 60, nowMs: 1, leaseTtlMs: 600_000, fresh: true, reserved: 0, rate: 0, borrow: 0 }))!;
          fences[region] = { generation: r.generation, epoch: r.lease.epoch };
        }
        // A sale belongs to one region (its reservation's); a batch carries each of its sales once.
        const owner = new Map<number, string>();
        const sent: { id: number; outcome: Promise<SaleOutcome> }[] = [];
        for (const wave of waves) {
          for (const { region, ids } of wave) {
            const mine = [...new Set(ids)].filter((id) => (owner.get(id) ?? (owner.set(id, region), region)) === region);
            if (mine.length === 0) continue;
            const p = store.recordSales(
              sku,
              region,
              fences[region]!,
              mine.map((id) => ({ saleId: `s${id}`, qty: qtyOf(id), user: userOf(id) })),
              2,
              0,
            );
            mine.forEach((id, i) => sent.push({ id, outcome: p.then((o) => o[i]!) }));
          }
          // The next wave goes out a turn later, while this one's writes are still in flight.
          await new Promise((r) => setImmediate(r));
        }
        const outcomes = await Promise.all(sent.map(async (s) => ({ id: s.id, outcome: await s.outcome })));
        const sold = new Map<number, number>();
        for (const { id, outcome } of outcomes) {
          expect(["sold", "duplicate"]).toContain(outcome);
          if (outcome === "sold") sold.set(id, (sold.get(id) ?? 0) + 1);
        }
        const ids = new Set(outcomes.map((o) => o.id));
        for (const id of ids) expect(sold.get(id)).toBe(1); // sold exactly once, duplicate on every other send
        const units = [...ids].reduce((t, id) => t + qtyOf(id), 0);
        const rows = (await store.pool.query(`SELECT sale_id, qty FROM ${schema}.journal_sales WHERE sku = $1`, [sku])).rows as { sale_id: string; qty: string }[];
        expect(rows.map((r) => r.sale_id).sort()).toEqual([...ids].map((id) => `s${id}`).sort());
        expect(Number((await store.pool.query(`SELECT sold FROM ${schema}.journal_items WHERE sku = $1`, [sku])).rows[0].sold)).toBe(units);
        expect(await store.audit(sku, 3)).toMatchObject({ sold: units });
        expect((await store.verify(sku, 4))!.action).toBe("none");
        for (const id of ids) expect(await store.findSale(sku, `s${id}`)).toMatchObject({ qty: qtyOf(id), user: userOf(id) });
      }),
      { numRuns: 12 },
    );
    (store.pool as { query: unknown }).query = query;
    expect(most).toBeGreaterThan(1); // the journal's transactions did overlap
  }, 120_000);
});
