/**
 * The transition log of an escrow on PostgreSQL is kept there (transport/transitions-durable.ts), so a restart
 * continues the same log: the same origin and note key, a tree that only grows, and each checkpoint consistent with
 * every earlier one — as a witness built from Go's golang.org/x/mod/sumdb/{note,tlog} (transitions-go/witness.go)
 * checks it: tlog.CheckTree on the log's consistency proof across the restart, and the entries rehashed. The restarted
 * log carries the state on: a refund of a sale the first process made is logged, not refused. A log store that
 * restarts empty starts another log (another origin), which a witness of the first cannot mistake for a rollback.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningService } from "../../../../runtime/kit/index.js";
import { dropPgSchema, ensurePgDatabase, PG_URL, uniqueName } from "../servers.js";
import { TransitionEscrows } from "../transition-escrows.js";
import { buildGoWitness, type GoWitness } from "../transitions-go/witness.js";

const schema = uniqueName("tlog_restart");
let go: GoWitness;
let keyFile: string;

const escrows = new TransitionEscrows();
const startEscrow = () => escrows.start({ eu: 60, us: 40 }, { postgres: PG_URL, storeSchema: schema, transitionsKeyFile: keyFile });
const serviceOf = (svc: RunningService) => escrows.service(svc);
const sell = (svc: RunningService, region: string, qty: number) => escrows.sell(svc, region, qty);
/** A reservation left open when the process stops. */
const reserve = (svc: RunningService, region: string, qty: number) => escrows.reserve(svc, region, qty);

beforeAll(async () => {
  await ensurePgDatabase();
  go = buildGoWitness();
  keyFile = go.signerKeyFile("meridian-escrow/eu.us");
}, 120_000);
afterAll(async () => {
  await escrows.closeAll();
  await dropPgSchema(schema);
  go?.remove();
});

describe("the transition log of an escrow on PostgreSQL across restarts", () => {
  it("a restart continues the same log: Go's tlog.CheckTree accepts the consistency proof across it", { timeout: 120_000 }, async () => {
    const first = await startEscrow();
    const sold = await sell(first, "eu", 3);
    await sell(first, "us", 2);
    await reserve(first, "eu", 1); // open at the stop
    const a = await go.checkpoint(first.url, "a");
    expect(a.size).toBeGreaterThan(0);
    expect(a.origin).toMatch(/^meridian-escrow\/eu\.us\/[0-9a-f]{16}$/);
    await first.close();

    const second = await startEscrow();
    const b0 = await go.checkpoint(second.url, "b0");
    expect(b0.origin).toBe(a.origin);
    expect(b0.vkey).toBe(a.vkey);
    expect(b0.size).toBeGreaterThanOrEqual(a.size);
    // The first process's sale is in the log the second continues: its refund is a valid transition, logged.
    expect(await serviceOf(second).refund("tix", sold)).toBe("refunded");
    await sell(second, "eu", 1);
    const b1 = await go.checkpoint(second.url, "b1");
    expect(b1).toMatchObject({ origin: a.origin, refused: 0 });
    expect(b1.size).toBeGreaterThan(b0.size);
    for (const [x, y] of [
      [a, b0],
      [a, b1],
      [b0, b1],
    ] as const) {
      const verdict = await go.judge(a.vkey, x.file, y.file, second.url);
      expect(verdict, verdict).toMatch(new RegExp(`^ok note\\.Open A: .*\\nok tlog\\.CheckTree: ${x.size} -> ${y.size}\\nok B extends A: ${x.size} -> ${y.size}\\n$`));
    }
    // The witness does catch a rollback when shown one.
    expect(await go.judge(a.vkey, b1.file, a.file, second.url)).toMatch(/^FAIL rollback/m);
    await second.close();

    // A log store that restarts empty: the next process starts another log, never size 0 of this one.
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DELETE FROM ${schema}.escrow_transition_entries`);
    await c.query(`DELETE FROM ${schema}.escrow_transition_logs`);
    await c.end();
    const third = await startEscrow();
    const c0 = await go.checkpoint(third.url, "c0");
    expect(c0.origin).not.toBe(a.origin);
    expect(await go.judge(a.vkey, b1.file, c0.file, third.url)).toMatch(/^ok note\.Open A: .*\nok another log: /);
  });
});

describe("a tampered log store", () => {
  it("an entry changed in the store: the restart does not continue the log, it starts a new one and says why", { timeout: 60_000 }, async () => {
    const first = await startEscrow();
    await sell(first, "eu", 1);
    const a = await go.checkpoint(first.url, "t-a");
    await first.close();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    const r = await c.query(
      `UPDATE ${schema}.escrow_transition_entries SET entry = convert_to(replace(convert_from(entry, 'UTF8'), '"qty":1,', '"qty":2,'), 'UTF8')
       WHERE origin = $1 AND convert_from(entry, 'UTF8') LIKE '%"op":"reserve"%"qty":1,%'`,
      [a.origin],
    );
    await c.end();
    expect(r.rowCount).toBeGreaterThan(0);
    const second = await startEscrow();
    const b = (await go.checkpoint(second.url, "t-b")) as Awaited<ReturnType<GoWitness["checkpoint"]>> & { restarted?: { origin: string; reason: string } };
    expect(b.origin).not.toBe(a.origin);
    expect(b.restarted?.origin).toBe(a.origin);
    expect(b.restarted?.reason).toMatch(/replay|post root|stored root/);
  });
});

describe("the log store", () => {
  it("two processes claiming a new log at once: both claim it, one after the other (epochs 1 and 2)", { timeout: 60_000 }, async () => {
    const { PostgresTransitionLogStore } = await import("../../../../runtime/escrow/transport/transitions-pg.js");
    const own = uniqueName("tlog_claim");
    const stores = [0, 1].map(() => new PostgresTransitionLogStore({ url: PG_URL, schema: own }));
    try {
      await stores[0]!.migrate();
      const claimed = await Promise.all(stores.map((s, i) => s.claim("meridian-escrow/eu", { origin: `meridian-escrow/eu/${i}`, vkey: `k${i}` })));
      expect(claimed.map((c) => c.epoch).sort()).toEqual([1, 2]);
      expect(new Set(claimed.map((c) => c.origin)).size).toBe(1);
    } finally {
      for (const s of stores) await s.close();
      await dropPgSchema(own);
    }
  });
});
