// Races and faults on the PostgreSQL HTLC ledger, two ledger processes (two pools, application_name of their own)
// on one schema, as two service replicas would be. Claim against refund at the timelock boundary with clocks that
// disagree, a double claim, locks spending the same units, locks racing mints, a claim whose answer is lost, a
// connection terminated inside the transaction, a restart, and a clock that jumps back after a refund: each lock
// settles once, nobody's available goes below 0, and supply = available + locked throughout.
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hashlockOf } from "../../../../runtime/escrow/htlc/core.js";
import { PostgresHtlcLedger } from "../../../../runtime/escrow/htlc/postgres.js";
import type { Outcome } from "../../../../runtime/escrow/htlc/store.js";
import { PG_URL, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";

const schema = uniqueName("htlc_races");
const PRE = "5a".repeat(32);
const H = hashlockOf(PRE);
const T = 1_800_000_000_000;
let open: PostgresHtlcLedger[] = [];
let admin: pg.Client;

beforeAll(async () => {
  await ensurePgDatabase();
  admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
});
afterEach(async () => {
  await Promise.all(open.map((l) => l.close().catch(() => undefined)));
  open = [];
});
afterAll(async () => {
  await admin?.end();
  await dropPgSchema(schema);
});

/** One ledger process: its own pool, its backends named so a test can terminate them. */
function ledger(name: string): PostgresHtlcLedger {
  const l = new PostgresHtlcLedger({ url: `${PG_URL}?application_name=${name}`, schema });
  open.push(l);
  return l;
}

let seq = 0;
const lockReq = (asset: string, qty = 5, id = `r-${process.pid}-${seq++}`) => ({ id, asset, owner: "alice", recipient: "bob", qty, hashlock: H, timelockMs: T });

async function conserved(l: PostgresHtlcLedger, asset: string, supply: number) {
  const t = await l.totals(asset);
  expect(t.available + t.locked).toBe(supply);
  expect(t.supply).toBe(supply);
  const neg = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.htlc_balances WHERE available < 0`);
  expect(neg.rows[0].n).toBe(0);
}

describe("HTLC races between two ledger processes (PostgreSQL)", () => {
  it("claim (clock T-1) against refund (clock T) at the boundary: exactly one wins, per lock, and the other is refused", async () => {
    const a = ledger("htlc_race_a");
    const b = ledger("htlc_race_b");
    const asset = "gold-boundary";
    await a.mint(asset, "alice", 200);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const r = lockReq(asset);
      expect((await a.lock(r, T - 10_000)).ok).toBe(true);
      ids.push(r.id);
    }
    const outs = await Promise.all(ids.map((id, i) => Promise.all(i % 2 ? [a.claim(id, PRE, "bob", T - 1), b.refund(id, "alice", T)] : [b.refund(id, "alice", T), a.claim(id, PRE, "bob", T - 1)])));
    for (const [i, pair] of outs.entries()) {
      const wins = pair.filter((o) => o.ok);
      expect(wins).toHaveLength(1);
      const final = (await b.get(ids[i]!))!.status;
      expect(wins[0]!.ok && wins[0]!.htlc.status).toBe(final);
      expect(pair.filter((o) => !o.ok).map((o) => !o.ok && o.reason)).toEqual([final === "claimed" ? "claimed" : "refunded"]);
    }
    const claimed = outs.filter((p) => p.some((o) => o.ok && o.htlc.status === "claimed")).length;
    expect(await a.balance(asset, "bob")).toBe(claimed * 5);
    expect(await a.balance(asset, "alice")).toBe((40 - claimed) * 5);
    await conserved(a, asset, 200);
  });

  it("a double claim from two processes moves the units once; the loser and a retry whose answer was lost are duplicates", async () => {
    const a = ledger("htlc_dbl_a");
    const b = ledger("htlc_dbl_b");
    const asset = "gold-double";
    await a.mint(asset, "alice", 50);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = lockReq(asset);
      await a.lock(r, 0);
      ids.push(r.id);
    }
    for (const id of ids) {
      const outs = await Promise.all([a.claim(id, PRE, "bob", 1), b.claim(id, PRE, "bob", 2)]);
      expect(outs.map((o) => o.ok && o.duplicate).sort()).toEqual([false, true]);
      // The claimant's answer is lost; it retries later (past T, on the other process): a duplicate, not a second move.
      expect(await b.claim(id, PRE, "bob", T + 5)).toMatchObject({ ok: true, duplicate: true });
    }
    expect(await a.balance(asset, "bob")).toBe(50);
    await conserved(a, asset, 50);
  });

  it("locks from two processes spending the same units: only what is available locks, never below 0; locks racing mints conserve supply", async () => {
    const a = ledger("htlc_spend_a");
    const b = ledger("htlc_spend_b");
    const asset = "gold-spend";
    await a.mint(asset, "alice", 10);
    const outs = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).lock(lockReq(asset, 1), 0)));
    expect(outs.filter((o) => o.ok)).toHaveLength(10);
    expect(outs.filter((o) => !o.ok).every((o) => !o.ok && o.reason === "insufficient")).toBe(true);
    expect(await a.balance(asset, "alice")).toBe(0);
    await conserved(a, asset, 10);
    // Locks of 3 race twenty mints of 1: every lock that wins is covered, and the totals add up.
    const racing = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).mint(asset, "alice", 1).then(() => null)),
      ...Array.from({ length: 10 }, (_, i) => (i % 2 ? b : a).lock(lockReq(asset, 3), 0)),
    ]);
    const won = racing.filter((o) => o !== null && o.ok).length;
    expect(await a.balance(asset, "alice")).toBe(20 - 3 * won);
    await conserved(a, asset, 30);
  });
});

describe("HTLC faults (PostgreSQL)", () => {
  it("a connection terminated inside a claim's transaction leaves the lock as it was; the retry, after a restart, claims once", async () => {
    const name = `htlc_kill_${process.pid}`;
    let l = ledger(name);
    const asset = "gold-kill";
    await l.mint(asset, "alice", 10);
    const r = lockReq(asset);
    await l.lock(r, 0);
    // Another session holds the lock's advisory lock, so the claim waits inside its transaction (BEGIN sent).
    const holder = new pg.Client({ connectionString: PG_URL });
    await holder.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`meridian-htlc-lock-${schema}-${r.id}`]);
      const claim = l.claim(r.id, PRE, "bob", 1).then(
        (o) => ({ o }),
        (e: Error) => ({ e }),
      );
      let killed = 0;
      for (let i = 0; i < 50 && killed === 0; i++) {
        await new Promise((res) => setTimeout(res, 20));
        const k = await admin.query("SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [name]);
        killed = k.rowCount ?? 0;
      }
      expect(killed).toBe(1);
      expect(await claim).toHaveProperty("e");
    } finally {
      await holder.query("ROLLBACK");
      await holder.end();
    }
    expect((await l.get(r.id))!.status).toBe("locked");
    expect(await l.balance(asset, "bob")).toBe(0);
    await conserved(l, asset, 10);
    // The pool survives the terminated connection; a restarted process finds the lock as it was too.
    expect(await l.claim(r.id, "00", "bob", 1)).toMatchObject({ ok: false, reason: "wrong-preimage" });
    await l.close();
    open = open.filter((x) => x !== l);
    l = ledger(name);
    expect(await l.claim(r.id, PRE, "bob", 2)).toMatchObject({ ok: true, duplicate: false });
    expect(await l.claim(r.id, PRE, "bob", 3)).toMatchObject({ ok: true, duplicate: true });
    expect(await l.balance(asset, "bob")).toBe(5);
    await conserved(l, asset, 10);
  });

  it("every backend terminated mid-load: each op either applied or not; retries settle each lock once, totals conserved", async () => {
    const name = `htlc_killall_${process.pid}`;
    const l = ledger(name);
    const asset = "gold-killall";
    await l.mint(asset, "alice", 100);
    const reqs = Array.from({ length: 20 }, () => lockReq(asset));
    const kill = () => admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [name]);
    const retry = async <O>(op: () => Promise<O>): Promise<O> => {
      for (;;) {
        try {
          return await op();
        } catch {
          await new Promise((res) => setTimeout(res, 5));
        }
      }
    };
    const locking = Promise.allSettled(reqs.map((r) => l.lock(r, 0)));
    await kill();
    await locking;
    for (const r of reqs) expect((await retry(() => l.lock(r, 0))).ok).toBe(true);
    await conserved(l, asset, 100);
    const settling = Promise.allSettled(reqs.map((r, i) => (i % 2 ? l.claim(r.id, PRE, "bob", 1) : l.refund(r.id, "alice", T))));
    await new Promise((res) => setTimeout(res, 2));
    await kill();
    await settling;
    for (const [i, r] of reqs.entries()) {
      const o = await retry<Outcome<string>>(() => (i % 2 ? l.claim(r.id, PRE, "bob", 1) : l.refund(r.id, "alice", T)));
      expect(o).toMatchObject({ ok: true });
    }
    expect(await l.balance(asset, "bob")).toBe(50);
    expect(await l.balance(asset, "alice")).toBe(50);
    await conserved(l, asset, 100);
  });

  it("a refund stands when the clock jumps back before T: the claim is refused and the refund's replay is a duplicate", async () => {
    const l = ledger("htlc_clock_back");
    const asset = "gold-back";
    await l.mint(asset, "alice", 5);
    const r = lockReq(asset);
    await l.lock(r, 0);
    expect(await l.refund(r.id, "alice", T)).toMatchObject({ ok: true, duplicate: false });
    expect(await l.claim(r.id, PRE, "bob", T - 60_000)).toMatchObject({ ok: false, reason: "refunded" });
    expect(await l.refund(r.id, "alice", T - 60_000)).toMatchObject({ ok: true, duplicate: true });
    expect(await l.lock(r, T - 60_000)).toMatchObject({ ok: true, duplicate: true, htlc: { status: "refunded" } });
    expect(await l.balance(asset, "alice")).toBe(5);
    expect(await l.balance(asset, "bob")).toBe(0);
    await conserved(l, asset, 5);
  });
});
