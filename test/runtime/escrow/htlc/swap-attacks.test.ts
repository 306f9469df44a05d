// A party trying to end a swap holding both legs, on two PostgreSQL ledgers whose clocks are ε off true time in
// the direction that favours the attacker. Alice: refund her L1 lock (needs L1's clock ≥ T1) and still claim Bob's
// L2 lock (needs L2's clock < T2), in either order, at every true time around the two timelocks. Bob: refund his
// L2 lock once Alice's claim revealed the preimage, then claim L1 with it. Neither gets both: T2 ≤ T1 − 2ε − Δ.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PostgresHtlcLedger } from "../../../../runtime/escrow/htlc/postgres.js";
import { MemoryHtlcLedger } from "../../../../runtime/escrow/htlc/store.js";
import { aliceClaims, aliceLocks, bobLocks, newSecret, swapLockIds, swapTimelocks, watch, type SwapTerms } from "../../../../runtime/escrow/htlc/swap.js";
import { PG_URL, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";

const schemas = [uniqueName("htlc_atk1"), uniqueName("htlc_atk2")];
const timing = { epsilonMs: 250, reactionMs: 5_000 };
const T0 = 1_700_000_000_000;
let open: PostgresHtlcLedger[] = [];

beforeAll(ensurePgDatabase);
afterEach(async () => {
  await Promise.all(open.map((l) => l.close()));
  open = [];
});
afterAll(async () => {
  for (const s of schemas) await dropPgSchema(s);
});

let seq = 0;
async function locked() {
  const [l1, l2] = schemas.map((schema) => new PostgresHtlcLedger({ url: PG_URL, schema })) as [PostgresHtlcLedger, PostgresHtlcLedger];
  open.push(l1, l2);
  const id = `atk-${process.pid}-${seq++}`;
  const terms: SwapTerms = { alice: "alice", bob: "bob", leg1: { asset: `gold-${id}`, qty: 5 }, leg2: { asset: `silver-${id}`, qty: 7 }, ...swapTimelocks(T0, T0 + 60_000, timing) };
  await l1.mint(terms.leg1.asset, "alice", 10);
  await l2.mint(terms.leg2.asset, "bob", 10);
  const secret = newSecret();
  expect((await aliceLocks(l1, terms, secret.hashlock, T0)).ok).toBe(true);
  expect((await bobLocks(l1, l2, terms, secret.hashlock, timing, T0)).ok).toBe(true);
  return { l1, l2, terms, secret, ids: swapLockIds(terms, secret.hashlock) };
}

describe("swap: nobody ends with both legs", () => {
  it("Alice refunding L1 and claiming L2 (either order, any true time, L1's clock +ε and L2's −ε): at most one succeeds", async () => {
    const { terms } = await locked();
    const around = [terms.t2Ms - 1_000, terms.t2Ms - 1, terms.t2Ms, terms.t2Ms + timing.epsilonMs, terms.t1Ms - timing.epsilonMs - 1, terms.t1Ms - timing.epsilonMs, terms.t1Ms, terms.t1Ms + 1_000];
    for (const t of around)
      for (const refundFirst of [true, false]) {
        const s = await locked();
        const [l1Now, l2Now] = [t + timing.epsilonMs, t - timing.epsilonMs];
        const refund = () => s.l1.refund(s.ids.l1, "alice", l1Now);
        const claim = () => s.l2.claim(s.ids.l2, s.secret.preimage, "alice", l2Now);
        const [a, b] = refundFirst ? [await refund(), await claim()] : [await claim(), await refund()];
        expect(a.ok && b.ok, `t = T2 ${t - s.terms.t2Ms >= 0 ? "+" : ""}${t - s.terms.t2Ms}, ${refundFirst ? "refund first" : "claim first"}`).toBe(false);
      }
  });

  it("Bob cannot refund L2 once Alice's claim revealed the preimage; he claims L1 with it instead (Alice at the last ms before T2)", async () => {
    const { l1, l2, terms, secret, ids } = await locked();
    // Alice claims at the last instant L2 accepts (bypassing aliceClaims' own margin); L2's clock is ε ahead, L1's ε behind.
    const t = terms.t2Ms - 1 + timing.epsilonMs;
    expect(await l2.claim(ids.l2, secret.preimage, "alice", t - timing.epsilonMs)).toMatchObject({ ok: true, duplicate: false });
    expect(await l2.refund(ids.l2, "bob", terms.t2Ms + 10_000)).toMatchObject({ ok: false, reason: "claimed" });
    // Bob reacts within Δ of true time: L1 still takes his claim, and Alice's refund of L1 then finds it claimed.
    expect(await watch("bob", l1, l2, terms, secret.hashlock, { l1: t + timing.reactionMs - timing.epsilonMs, l2: t + timing.reactionMs + timing.epsilonMs })).toBe("claimed");
    expect(await l1.refund(ids.l1, "alice", terms.t1Ms + 10_000)).toMatchObject({ ok: false, reason: "claimed" });
    expect(await l1.balance(terms.leg1.asset, "bob")).toBe(5);
    expect(await l2.balance(terms.leg2.asset, "alice")).toBe(7);
    for (const [l, asset] of [
      [l1, terms.leg1.asset],
      [l2, terms.leg2.asset],
    ] as const) {
      const tot = await l.totals(asset);
      expect(tot.available + tot.locked).toBe(tot.supply);
    }
  });
});

describe("swap timing that is not a number of ms", () => {
  it("NaN, negative or infinite ε/Δ fail closed: Bob does not lock, Alice does not reveal, swapTimelocks throws", async () => {
    const l1 = new MemoryHtlcLedger();
    const l2 = new MemoryHtlcLedger();
    await l1.mint("gold", "alice", 10);
    await l2.mint("silver", "bob", 10);
    const secret = newSecret();
    // T2 only 1 s before T1: unsafe under any real ε and Δ.
    const terms: SwapTerms = { alice: "alice", bob: "bob", leg1: { asset: "gold", qty: 5 }, leg2: { asset: "silver", qty: 7 }, t1Ms: T0 + 60_000, t2Ms: T0 + 59_000 };
    expect((await aliceLocks(l1, terms, secret.hashlock, T0)).ok).toBe(true);
    for (const bad of [
      { epsilonMs: Number.NaN, reactionMs: 5_000 },
      { epsilonMs: 250, reactionMs: Number.NaN },
      { epsilonMs: -30_000, reactionMs: 0 },
      { epsilonMs: 250, reactionMs: -Infinity },
    ]) {
      expect(await bobLocks(l1, l2, terms, secret.hashlock, bad, T0), JSON.stringify(bad)).toMatchObject({ ok: false, reason: "unsafe-timelocks" });
      expect(() => swapTimelocks(T0, T0 + 60_000, bad)).toThrow(RangeError);
    }
    const { l2: id2 } = swapLockIds(terms, secret.hashlock);
    expect(await l2.get(id2)).toBeNull();
    // Bob's lock made under sound timing; Alice's own timing NaN must not let her reveal at T2 - 1.
    await l2.lock({ asset: "silver", owner: "bob", recipient: "alice", qty: 7, hashlock: secret.hashlock, timelockMs: terms.t2Ms }, T0);
    expect(await aliceClaims(l2, terms, secret.preimage, { epsilonMs: Number.NaN, reactionMs: 5_000 }, terms.t2Ms - 1)).toMatchObject({ ok: false, reason: "unsafe-timelocks" });
    expect((await l2.get(id2))!.status).toBe("locked");
  });
});
