// Atomic swaps between two escrow ledgers, each an HTLC ledger in PostgreSQL under its own schema (the
// real server, database meridian_escrow_test). Alice trades 5 gold on L1 for Bob's 7 silver on L2. The
// ledgers' clocks are ε apart from true time in opposite directions. In every case: either both legs
// complete or both refund, and each ledger's supply = available + locked.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hashlockOf } from "../../../../runtime/escrow/htlc/core.js";
import { PostgresHtlcLedger } from "../../../../runtime/escrow/htlc/postgres.js";
import { aliceClaims, aliceLocks, bobLocks, newSecret, swapLockIds, swapTimelocks, watch, type SwapTerms } from "../../../../runtime/escrow/htlc/swap.js";
import { PG_URL, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";

const schemas = [uniqueName("htlc_l1"), uniqueName("htlc_l2")];
const timing = { epsilonMs: 250, reactionMs: 5_000 };
const T0 = 1_700_000_000_000;
let open: PostgresHtlcLedger[] = [];

beforeAll(ensurePgDatabase);
afterEach(async () => {
  await Promise.all(open.map((l) => l.close().catch(() => undefined)));
  open = [];
});
afterAll(async () => {
  for (const s of schemas) await dropPgSchema(s);
});

function ledger(n: 0 | 1): PostgresHtlcLedger {
  const l = new PostgresHtlcLedger({ url: PG_URL, schema: schemas[n] });
  open.push(l);
  return l;
}

/** A kill -9 of a ledger process: its pool goes away; a new process opens the same schema. */
async function restart(l: PostgresHtlcLedger, n: 0 | 1): Promise<PostgresHtlcLedger> {
  await l.close();
  open = open.filter((x) => x !== l);
  return ledger(n);
}

let seq = 0;
async function setup() {
  const l1 = ledger(0);
  const l2 = ledger(1);
  const id = `swap-${process.pid}-${seq++}`;
  // Each swap trades its own assets, so every case starts from a known supply.
  const terms: SwapTerms = { alice: "alice", bob: "bob", leg1: { asset: `gold-${id}`, qty: 5 }, leg2: { asset: `silver-${id}`, qty: 7 }, ...swapTimelocks(T0, T0 + 60_000, timing) };
  await l1.mint(terms.leg1.asset, "alice", 10);
  await l2.mint(terms.leg2.asset, "bob", 10);
  // True time t; L1's clock runs ε behind, L2's ε ahead (the worst case for Bob).
  const at = (t: number) => ({ l1: t - timing.epsilonMs, l2: t + timing.epsilonMs });
  const secret = newSecret();
  // The locks' ids, as both parties compute them from the terms (the ledgers derive the same).
  return { l1, l2, terms, at, secret, ids: swapLockIds(terms, secret.hashlock) };
}

async function conserved(s: Awaited<ReturnType<typeof setup>>) {
  for (const t of [await s.l1.totals(s.terms.leg1.asset), await s.l2.totals(s.terms.leg2.asset)]) {
    expect(t.available + t.locked).toBe(t.supply);
    expect(t.supply).toBe(10);
  }
}

async function holdings(s: Awaited<ReturnType<typeof setup>>) {
  return {
    l1: { alice: await s.l1.balance(s.terms.leg1.asset, "alice"), bob: await s.l1.balance(s.terms.leg1.asset, "bob") },
    l2: { alice: await s.l2.balance(s.terms.leg2.asset, "alice"), bob: await s.l2.balance(s.terms.leg2.asset, "bob") },
  };
}
const SWAPPED = { l1: { alice: 5, bob: 5 }, l2: { alice: 7, bob: 3 } };
const UNDONE = { l1: { alice: 10, bob: 0 }, l2: { alice: 0, bob: 10 } };

describe("HTLC atomic swap across two PostgreSQL ledgers", () => {
  it("completes: Alice claims on L2 revealing the preimage, Bob's watcher claims on L1 with it", async () => {
    const s = await setup();
    const { terms, at } = s;
    expect((await aliceLocks(s.l1, terms, s.secret.hashlock, at(T0).l1)).ok).toBe(true);
    expect((await bobLocks(s.l1, s.l2, terms, s.secret.hashlock, timing, at(T0 + 1_000).l2)).ok).toBe(true);
    await conserved(s);
    expect(await watch("bob", s.l1, s.l2, terms, s.secret.hashlock, at(T0 + 1_500))).toBe("waiting");
    expect((await aliceClaims(s.l2, terms, s.secret.preimage, timing, at(T0 + 2_000).l2)).ok).toBe(true);
    expect((await s.l2.get(s.ids.l2))!.preimage).toBe(s.secret.preimage);
    expect(await watch("bob", s.l1, s.l2, terms, s.secret.hashlock, at(T0 + 3_000))).toBe("claimed");
    expect(await watch("bob", s.l1, s.l2, terms, s.secret.hashlock, at(T0 + 3_500))).toBe("done");
    expect(await watch("alice", s.l1, s.l2, terms, s.secret.hashlock, at(terms.t1Ms + 1))).toBe("done");
    expect(await holdings(s)).toEqual(SWAPPED);
    await conserved(s);
  });

  it("Bob never locks: Alice does not reveal, and refunds after T1", async () => {
    const s = await setup();
    const { terms, at } = s;
    await aliceLocks(s.l1, terms, s.secret.hashlock, at(T0).l1);
    expect(await aliceClaims(s.l2, terms, s.secret.preimage, timing, at(T0 + 1_000).l2)).toMatchObject({ ok: false, reason: "no-counter-lock" });
    expect(await watch("alice", s.l1, s.l2, terms, s.secret.hashlock, at(terms.t1Ms - timing.epsilonMs - 1))).toBe("waiting");
    expect(await watch("alice", s.l1, s.l2, terms, s.secret.hashlock, at(terms.t1Ms + timing.epsilonMs))).toBe("refunded");
    expect(await holdings(s)).toEqual(UNDONE);
    await conserved(s);
  });

  it("Bob locks but Alice vanishes: Bob refunds after T2, Alice (back later) after T1", async () => {
    const s = await setup();
    const { terms, at } = s;
    await aliceLocks(s.l1, terms, s.secret.hashlock, at(T0).l1);
    await bobLocks(s.l1, s.l2, terms, s.secret.hashlock, timing, at(T0 + 1_000).l2);
    expect(await watch("bob", s.l1, s.l2, terms, s.secret.hashlock, at(terms.t2Ms - timing.epsilonMs - 1))).toBe("waiting");
    expect(await watch("bob", s.l1, s.l2, terms, s.secret.hashlock, at(terms.t2Ms))).toBe("refunded");
    // Alice comes back too late: her claim is refused by L2, and her own leg refunds after T1.
    expect(await s.l2.claim(s.ids.l2, s.secret.preimage, "alice", at(terms.t2Ms + 1).l2)).toMatchObject({ ok: false, reason: "refunded" });
    expect(await watch("alice", s.l1, s.l2, terms, s.secret.hashlock, at(terms.t1Ms + timing.epsilonMs))).toBe("refunded");
    expect(await holdings(s)).toEqual(UNDONE);
    await conserved(s);
  });

  it("a ledger crash between lock and claim keeps the locks; the swap completes after restarts", async () => {
    const s = await setup();
    const { terms, at } = s;
    await aliceLocks(s.l1, terms, s.secret.hashlock, at(T0).l1);
    await bobLocks(s.l1, s.l2, terms, s.secret.hashlock, timing, at(T0 + 1_000).l2);
    s.l1 = await restart(s.l1, 0);
    s.l2 = await restart(s.l2, 1);
    expect((await s.l2.get(s.ids.l2))!.status).toBe("locked");
    await conserved(s);
    expect((await aliceClaims(s.l2, terms, s.secret.preimage, timing, at(T0 + 2_000).l2)).ok).toBe(true);
    // L1 goes down again before Bob's watcher gets to it; the preimage is on L2 for good.
    s.l1 = await restart(s.l1, 0);
    s.l2 = await restart(s.l2, 1);
    expect(await watch("bob", s.l1, s.l2, terms, s.secret.hashlock, at(T0 + 10_000))).toBe("claimed");
    expect(await holdings(s)).toEqual(SWAPPED);
    await conserved(s);
  });

  it("a claim at or after the timelock is refused: Alice keeps her preimage and both legs refund", async () => {
    const s = await setup();
    const { terms, at } = s;
    await aliceLocks(s.l1, terms, s.secret.hashlock, at(T0).l1);
    await bobLocks(s.l1, s.l2, terms, s.secret.hashlock, timing, at(T0 + 1_000).l2);
    // Within the margin before T2 Alice does not reveal; the ledger itself refuses a claim at T2.
    expect(await aliceClaims(s.l2, terms, s.secret.preimage, timing, at(terms.t2Ms - timing.reactionMs).l2)).toMatchObject({ ok: false, reason: "too-late" });
    expect(await s.l2.claim(s.ids.l2, s.secret.preimage, "alice", terms.t2Ms)).toMatchObject({ ok: false, reason: "expired" });
    expect((await s.l2.get(s.ids.l2))!.preimage).toBeNull();
    expect(await watch("bob", s.l1, s.l2, terms, s.secret.hashlock, at(terms.t2Ms))).toBe("refunded");
    expect(await watch("alice", s.l1, s.l2, terms, s.secret.hashlock, at(terms.t1Ms + timing.epsilonMs))).toBe("refunded");
    expect(await holdings(s)).toEqual(UNDONE);
    await conserved(s);
  });

  it("wrong preimage refused, double claim idempotent, and racing claims and refunds settle exactly once", async () => {
    const s = await setup();
    const { terms, at } = s;
    await aliceLocks(s.l1, terms, s.secret.hashlock, at(T0).l1);
    await bobLocks(s.l1, s.l2, terms, s.secret.hashlock, timing, at(T0 + 1_000).l2);
    const id2 = s.ids.l2;
    expect(await s.l2.claim(id2, "ab".repeat(32), "alice", T0 + 2_000)).toMatchObject({ ok: false, reason: "wrong-preimage" });
    expect(hashlockOf(s.secret.preimage)).toBe(s.secret.hashlock);
    // Ten claims (some stamped after T2 by a clock ahead) and ten refunds race on one lock.
    const racers = Array.from({ length: 10 }, (_, i) => [s.l2.claim(id2, s.secret.preimage, "alice", terms.t2Ms - 5 + i), s.l2.refund(id2, "bob", terms.t2Ms - 5 + i)]).flat();
    const outs = await Promise.all(racers);
    const winners = outs.filter((o) => o.ok && !o.duplicate);
    expect(winners).toHaveLength(1);
    const final = (await s.l2.get(id2))!.status;
    expect(outs.filter((o) => o.ok).every((o) => o.ok && o.htlc.status === final)).toBe(true);
    expect(await s.l2.claim(id2, s.secret.preimage, "alice", T0)).toMatchObject(final === "claimed" ? { ok: true, duplicate: true } : { ok: false, reason: "refunded" });
    // Whichever way L2 went, L1 follows it: Bob claims with the revealed preimage, or Alice refunds at T1.
    await watch("bob", s.l1, s.l2, terms, s.secret.hashlock, at(T0 + 10_000));
    await watch("alice", s.l1, s.l2, terms, s.secret.hashlock, at(terms.t1Ms + timing.epsilonMs));
    expect(await holdings(s)).toEqual(final === "claimed" ? SWAPPED : UNDONE);
    await conserved(s);
  });

  it("Bob refuses to lock under timelocks closer than 2ε + Δ", async () => {
    const s = await setup();
    const terms = { ...s.terms, t2Ms: s.terms.t1Ms - 1_000 };
    await aliceLocks(s.l1, terms, s.secret.hashlock, s.at(T0).l1);
    expect(await bobLocks(s.l1, s.l2, terms, s.secret.hashlock, timing, s.at(T0).l2)).toMatchObject({ ok: false, reason: "unsafe-timelocks" });
    expect(() => swapTimelocks(T0, T0 + 10_000, timing)).toThrow(RangeError);
  });
});
