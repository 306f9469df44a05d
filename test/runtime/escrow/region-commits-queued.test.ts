// A commit queued behind group writes in flight to a store that hangs (#17). A region keeps at most two group writes in
// flight; a commit begun while both are out waits in the queue and went out only once one of them failed at its
// timeout — then waited a full timeout of its own: its buyer was answered 503 after up to two store timeouts
// (faults/hung-store.test.ts: 1–2 s with 1 s store waits). A commit never sent has a known outcome — not sold — so when a
// write fails, the commits queued behind it are answered at once (503, retry) and their reservations stay live: a retry
// commits them normally. Commits in doubt being sent again stay in doubt (their earlier write may have sold them).
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { RegionEscrow } from "../../../runtime/escrow/region.js";
import { MemoryEscrowStore } from "../../../runtime/escrow/store/memory.js";
import { DEFAULT_POLICY } from "../../../runtime/escrow/core/rebalance.js";
import type { LedgerEvent } from "../../../runtime/escrow/core/ledger.js";

/** One group write is 512 sales at most: 1024 commits fill the two writes in flight. */
const IN_FLIGHT = 1024;
const TOTAL = IN_FLIGHT + 10;

interface Gate {
  sales: number;
  /** The store applies the write and answers. */
  release: () => void;
  /** The write throws (a timeout: the store never saw it). */
  fail: (err: Error) => void;
}

async function setup(leaseTtlMs = 600_000) {
  const clock = new ManualClock(1_000);
  const store = new MemoryEscrowStore();
  await store.createItem("sku", TOTAL, { a: TOTAL }); // the pool is empty: no refill
  const a = new RegionEscrow({ sku: "sku", region: "a", store, clock, reservationTtlMs: 60_000, leaseTtlMs, policy: { ...DEFAULT_POLICY, batchSize: 5, reorderPoint: 5 }, initialWant: TOTAL });
  await a.start();
  const record = store.recordSales.bind(store);
  const gates: Gate[] = [];
  const hold = (): void => {
    store.recordSales = (...args) => new Promise((resolve, reject) => gates.push({ sales: args[3].length, release: () => resolve(record(...args)), fail: reject }));
  };
  const answer = (): void => void (store.recordSales = record);
  const ids: string[] = [];
  for (let i = 0; i < TOTAL; i++) {
    const r = a.ledger.reserve(`b${i}`, 1, clock.now());
    if (!r) throw new Error("reserve");
    ids.push(r.id);
  }
  return { clock, store, a, gates, hold, answer, ids };
}

/** Let every ready callback run (microtasks and setImmediate turns), not the clock. */
const turns = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function track<T>(p: Promise<T>): { settled: () => boolean; p: Promise<T> } {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  return { settled: () => done, p };
}

describe("RegionCommits: a commit queued behind two group writes in flight when one fails", () => {
  it("is answered at once (not sent, 503), its reservation stays live, and a retry sells it once the store answers", async () => {
    const { clock, store, a, gates, hold, answer, ids } = await setup();
    const events: LedgerEvent[] = [];
    a.ledger.onEvent = (e) => events.push(e);
    hold();
    const first = ids.slice(0, IN_FLIGHT).map((id) => a.commit(id));
    first.forEach((p) => p.catch(() => undefined));
    await turns();
    expect(gates.map((g) => g.sales)).toEqual([512, 512]);
    const probeId = ids[IN_FLIGHT]!;
    const probe = track(a.commit(probeId));
    probe.p.catch(() => undefined);
    await turns();
    expect(gates.length, "the probe is queued, not sent").toBe(2);
    expect(probe.settled()).toBe(false);

    gates[0]!.fail(new Error("Query read timeout"));
    await turns();
    expect(probe.settled(), "the queued commit waits for a write of its own").toBe(true);
    await expect(probe.p).rejects.toThrow(/store unavailable/);
    expect(gates.length, "the queued commit was not sent").toBe(2);
    // The first write's sales are in doubt (512 committing), the second's in flight (512); the probe is live again.
    expect(a.ledger.lookup(probeId)).toMatchObject({ id: probeId, committing: false });
    expect([a.ledger.committing, a.ledger.free]).toEqual([IN_FLIGHT, TOTAL - IN_FLIGHT - 10]);
    expect(events.filter((e) => "id" in e && e.id === probeId)).toEqual([]); // nothing was committed, cancelled or voided

    gates[1]!.release();
    await turns();
    const settledFirst = await Promise.allSettled(first);
    expect(settledFirst.filter((s) => s.status === "rejected")).toHaveLength(512);
    expect(settledFirst.filter((s) => s.status === "fulfilled" && s.value.status === "sold")).toHaveLength(512);

    answer();
    expect(await a.commit(probeId)).toEqual({ status: "sold", qty: 1, duplicate: false });
    await a.tick(); // the first write's sales, in doubt, are sent again and sold
    for (const id of ids.slice(IN_FLIGHT + 1)) expect(await a.commit(id)).toMatchObject({ status: "sold", duplicate: false });
    const audit = (await store.audit("sku", clock.now()))!;
    expect(audit.sold).toBe(TOTAL);
    expect([a.ledger.free, a.ledger.committing, a.ledger.held]).toEqual([0, 0, audit.leases["a"]!.held]);
    expect(events.filter((e) => e.op === "commit")).toHaveLength(TOTAL);
    expect(await store.findSale("sku", probeId)).toMatchObject({ user: `b${IN_FLIGHT}`, qty: 1 });
  });

  it("an in-doubt commit re-sent by its buyer's retry, queued then, is answered at once and stays in doubt", async () => {
    const { clock, store, a, gates, hold, answer, ids } = await setup();
    const doubtId = ids[TOTAL - 1]!;
    hold();
    const doubt = a.commit(doubtId);
    await turns();
    gates[0]!.fail(new Error("Connection terminated unexpectedly"));
    await expect(doubt).rejects.toThrow(/Connection terminated/);
    gates.length = 0;
    const first = ids.slice(0, IN_FLIGHT).map((id) => a.commit(id));
    first.forEach((p) => p.catch(() => undefined));
    await turns();
    expect(gates.map((g) => g.sales)).toEqual([512, 512]);
    const retry = track(a.commit(doubtId)); // re-sent: queued behind both
    const fresh = track(a.commit(ids[IN_FLIGHT]!));
    retry.p.catch(() => undefined);
    fresh.p.catch(() => undefined);
    await turns();
    gates[0]!.fail(new Error("Query read timeout"));
    await turns();
    expect([retry.settled(), fresh.settled(), gates.length]).toEqual([true, true, 2]);
    await expect(fresh.p).rejects.toThrow(/store unavailable/);
    await expect(retry.p).rejects.toThrow();
    // Its first write may have sold it: it stays committing (in doubt), not live, not free.
    expect(a.ledger.lookup(doubtId)).toMatchObject({ committing: true });
    expect(a.ledger.lookup(ids[IN_FLIGHT]!)).toMatchObject({ committing: false });
    gates[1]!.release();
    await Promise.allSettled(first);
    answer();
    await a.tick(); // both in-doubt sets are sent again: sold
    expect(a.ledger.lookup(doubtId)).toBe("unknown"); // settled: a retry is answered from the store's record
    expect(await store.findSale("sku", doubtId)).toMatchObject({ user: `b${TOTAL - 1}`, qty: 1 });
    for (const id of ids.slice(IN_FLIGHT, TOTAL - 1)) expect(await a.commit(id)).toMatchObject({ status: "sold", duplicate: false });
    const audit = (await store.audit("sku", clock.now()))!;
    expect(audit.sold).toBe(TOTAL);
    expect([a.ledger.free, a.ledger.committing, a.ledger.held]).toEqual([0, 0, audit.leases["a"]!.held]);
  });

  it("a store that fails fast answers only the commits queued at that moment: the next ones are sent and sell", async () => {
    const { clock, store, a, gates, hold, answer, ids } = await setup();
    hold();
    const first = a.commit(ids[0]!);
    await turns();
    const queued = track(a.commit(ids[1]!));
    queued.p.catch(() => undefined);
    gates[0]!.fail(new Error("connect ECONNREFUSED"));
    await expect(first).rejects.toThrow(/ECONNREFUSED/);
    await turns();
    expect([queued.settled(), gates.length]).toEqual([true, 1]);
    await expect(queued.p).rejects.toThrow(/store unavailable/);
    answer(); // the store is back a moment later
    expect(await a.commit(ids[2]!)).toMatchObject({ status: "sold" });
    expect(await a.commit(ids[1]!)).toMatchObject({ status: "sold", duplicate: false });
    await a.tick();
    const audit = (await store.audit("sku", clock.now()))!;
    expect(audit.sold).toBe(3);
    expect([a.ledger.committing, a.ledger.held]).toEqual([0, audit.leases["a"]!.held]);
  });

  it("one queued under a lease lost since is answered at once and voided, as a sent one would be", async () => {
    const { clock, store, a, gates, hold, answer, ids } = await setup(5_000);
    const events: LedgerEvent[] = [];
    a.ledger.onEvent = (e) => events.push(e);
    hold();
    const first = a.commit(ids[0]!);
    await turns();
    const queued = track(a.commit(ids[1]!)); // under the lease's fence now
    queued.p.catch(() => undefined);
    clock.advance(6_000);
    await a.tick(); // the lease lapsed: a new fence, the ledger voided (the two commits' units with it)
    gates[0]!.fail(new Error("Query read timeout"));
    await expect(first).rejects.toThrow(/timeout/);
    await turns();
    expect([queued.settled(), gates.length]).toEqual([true, 1]);
    await expect(queued.p).rejects.toThrow(/store unavailable/);
    expect(events.filter((e) => e.op === "void" && e.id === ids[1])).toHaveLength(1);
    answer();
    expect(await a.commit(ids[1]!)).toEqual({ status: "void" });
    expect(await store.findSale("sku", ids[1]!)).toBeNull();
    expect(a.ledger.committing).toBe(0);
  });
});
