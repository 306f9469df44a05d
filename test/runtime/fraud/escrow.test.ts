/**
 * Fraud proofs over the escrow ledger's transitions (runtime/fraud/escrow-*.ts, runtime/escrow/transition-log.ts).
 * Honest history: a real RegionLedger driven through any interleaving of its operations (fast-check), recorded by
 * the escrow's transition log, replays with no fraud, and no transition of it can be challenged successfully.
 * Tampered history: a forged root, an oversold unit, a commit of someone else's reservation and a double commit
 * are each proven invalid by a single-step proof whose size stays bounded as the state grows ~30-fold; a proof with
 * a lying leaf is refused. Independently of runtime/prooflog's compact SMT, a naive tree written from its definition
 * (leaf = H(0‖k‖H(v)) for a one-key subtree wherever it sits, node = H(1‖l‖r), empty = 32 zero bytes) recomputes the
 * state roots and agrees with the honest entries and disagrees with the forged one.
 */
import fc from "fast-check";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { RegionLedger } from "../../../runtime/escrow/core/ledger.js";
import { EscrowTransitionLog } from "../../../runtime/escrow/transition-log.js";
import { buyerOf, checkEscrowFraudProof, decodeEntry, EscrowSequencer, freeKey, proveEscrow, smtKey, type EscrowFraudProof } from "../../../runtime/fraud/index.js";
import { generateKey, newSigner } from "../../../runtime/prooflog/index.js";

const ORIGIN = "meridian.test/escrow-transitions";
const key = generateKey(ORIGIN);
const honest = (s: EscrowSequencer) => proveEscrow(s.checkpoint(), s.entries, key.verifierKey, ORIGIN);

/**
 * The independent root: the whole state's leaves hashed by the compact tree's definition, naively (an empty subtree is
 * 32 zero bytes, a one-key subtree its leaf wherever it sits, any other the node hash of its halves).
 */
function naiveRoot(leaves: Map<string, string>): Buffer {
  const h = (...b: Uint8Array[]) => createHash("sha256").update(Buffer.concat(b)).digest();
  const bitOf = (k: Buffer, i: number) => (k[i >> 3]! >> (7 - (i & 7))) & 1;
  const items = [...leaves].map(([name, v]) => ({ k: smtKey(name), leaf: h(Buffer.from([0]), smtKey(name), h(Buffer.from(v, "utf8"))) }));
  const node = (set: typeof items, depth: number): Buffer => {
    if (set.length === 0) return Buffer.alloc(32);
    if (set.length === 1) return set[0]!.leaf;
    return h(
      Buffer.from([1]),
      node(
        set.filter((x) => bitOf(x.k, depth) === 0),
        depth + 1,
      ),
      node(
        set.filter((x) => bitOf(x.k, depth) === 1),
        depth + 1,
      ),
    );
  };
  return node(items, 0);
}

/** A small honest history: two regions, reservations, a sale, a cancel. */
function history(extraReservations = 0) {
  const s = new EscrowSequencer(ORIGIN, newSigner(key.signerKey));
  const alice = buyerOf("alice");
  const bob = buyerOf("bob");
  s.submit({ op: "refill", sku: "tix", region: "eu", qty: 10 + extraReservations });
  s.submit({ op: "refill", sku: "tix", region: "us", qty: 5 });
  s.submit({ op: "reserve", sku: "tix", region: "eu", id: "r-a", buyer: alice, qty: 3, expiresAt: 1000 });
  s.submit({ op: "reserve", sku: "tix", region: "eu", id: "r-b", buyer: bob, qty: 2, expiresAt: 1000 });
  for (let i = 0; i < extraReservations; i++) s.submit({ op: "reserve", sku: "tix", region: "eu", id: `x-${i}`, buyer: bob, qty: 1, expiresAt: 5000 });
  s.submit({ op: "commit", sku: "tix", region: "eu", id: "r-a", buyer: alice });
  return { s, alice, bob };
}

describe("escrow fraud proofs", () => {
  it("an honest history has no fraud, and challenging any of its transitions is refused", () => {
    const { s } = history();
    expect(honest(s)).toBeUndefined();
    for (let i = 0; i < s.entries.length; i++) {
      const p = proveEscrow(s.checkpoint(), s.entries, key.verifierKey, ORIGIN, i)!;
      expect(checkEscrowFraudProof(p, key.verifierKey, ORIGIN)).toEqual({ fraud: false, reason: expect.stringMatching(/is a valid transition: nothing to challenge/) });
    }
  });

  const cases: [string, (s: EscrowSequencer, c: { alice: string; bob: string }) => void, RegExp][] = [
    [
      "a forged post root",
      (s) => s.appendEntry({ pre: s.state.root(), tx: { op: "refill", sku: "tix", region: "us", qty: 1 }, post: Buffer.alloc(32, 7) }),
      /post root is not the result of its refill/,
    ],
    [
      "an oversold unit",
      (s) => s.appendEntry({ pre: s.state.root(), tx: { op: "reserve", sku: "tix", region: "us", id: "r-over", buyer: buyerOf("carol"), qty: 6, expiresAt: 1000 }, post: s.state.root() }),
      /oversell: us has 5 free units of tix, reserve takes 6/,
    ],
    [
      "a commit of someone else's reservation",
      (s, c) => s.appendEntry({ pre: s.state.root(), tx: { op: "commit", sku: "tix", region: "eu", id: "r-b", buyer: c.alice }, post: s.state.root() }),
      /commit of reservation r-b by buyer .*, not its own buyer/,
    ],
    [
      "a double commit",
      (s, c) => s.appendEntry({ pre: s.state.root(), tx: { op: "commit", sku: "tix", region: "eu", id: "r-a", buyer: c.alice }, post: s.state.root() }),
      /which is sold \(double commit\)/,
    ],
    ["an early expiry", (s) => s.appendEntry({ pre: s.state.root(), tx: { op: "expire", sku: "tix", region: "eu", id: "r-b", at: 999 }, post: s.state.root() }), /before its expiry 1000/],
    [
      "a pre root that does not follow",
      (s) => s.appendEntry({ pre: Buffer.alloc(32, 1), tx: { op: "refill", sku: "tix", region: "us", qty: 1 }, post: Buffer.alloc(32, 2) }),
      /pre root is not entry \d+'s post root/,
    ],
  ];
  for (const [name, tamper, reason] of cases)
    it(`${name} is proven invalid by a bounded single-step proof`, () => {
      const sizes: number[] = [];
      for (const extra of [0, 200]) {
        const { s, alice, bob } = history(extra);
        const bad = s.entries.length;
        tamper(s, { alice, bob });
        s.submit({ op: "refill", sku: "tix", region: "us", qty: 1 }); // honest entries after it change nothing
        const p = honest(s)!;
        expect(p.challenged.index).toBe(bad);
        expect(checkEscrowFraudProof(p, key.verifierKey, ORIGIN)).toEqual({ fraud: true, index: bad, reason: expect.stringMatching(reason) });
        const bytes = Buffer.byteLength(JSON.stringify(p));
        sizes.push(bytes);
        // Two touched leaves: ~log2(leaves) subtrees beside each one's path carry hashes; log depth ~log2(entries).
        expect(bytes).toBeLessThan(8192);
        expect((p.proof ?? []).filter((h) => h !== null && h !== "down").length).toBeLessThanOrEqual(2 * (Math.ceil(Math.log2(extra + 8)) + 8));
        expect(p.challenged.inclusion.length).toBeLessThanOrEqual(Math.ceil(Math.log2(s.entries.length)));
        // The same proof signed by another key, or with a lying leaf, is refused.
        expect(checkEscrowFraudProof(p, generateKey(ORIGIN).verifierKey, ORIGIN).fraud).toBe(false);
        if (p.reads?.length) {
          const lie: EscrowFraudProof = { ...p, reads: p.reads.map((r, i) => (i === 0 ? { ...r, value: r.key === freeKey("tix", "us") ? "100" : null } : r)) };
          expect(checkEscrowFraudProof(lie, key.verifierKey, ORIGIN)).toMatchObject({ fraud: false, reason: expect.stringMatching(/not those under entry \d+'s pre root/) });
        }
      }
      // ~30x the state and the log: the proof grows by hashes on the two paths only.
      expect(sizes[1]! - sizes[0]!).toBeLessThan(2048);
    });

  it("a naive full-tree root, independent of the SMT code, agrees with every honest entry and not with the forged one", () => {
    const { s } = history();
    s.appendEntry({ pre: s.state.root(), tx: { op: "refill", sku: "tix", region: "us", qty: 1 }, post: Buffer.alloc(32, 7) });
    // Replay with a plain map of leaves (the machine's own rules are what the log claims; the hashing is re-derived).
    const leaves = new Map<string, string>();
    const q = new EscrowSequencer(ORIGIN, newSigner(key.signerKey));
    const verdicts = s.entries.map((bytes) => {
      const e = decodeEntry(bytes);
      q.submit(e.tx);
      leaves.clear();
      for (const name of [freeKey("tix", "eu"), freeKey("tix", "us"), '["sold","tix","eu"]', '["sold","tix","us"]', '["res","tix","r-a"]', '["res","tix","r-b"]']) {
        const v = q.state.read(name);
        if (v !== undefined) leaves.set(name, v);
      }
      return naiveRoot(leaves).equals(Buffer.from(e.post));
    });
    expect(verdicts).toEqual([true, true, true, true, true, false]);
    expect(checkEscrowFraudProof(honest(s)!, key.verifierKey, ORIGIN)).toMatchObject({ fraud: true, index: 5 });
  });

  it("a commit aborted after the ledger was voided under it is logged as a valid void (its units went with the lease)", () => {
    const clock = new ManualClock(0);
    const log = new EscrowTransitionLog(clock, { origin: ORIGIN, signerKey: key.signerKey });
    const ledger = new RegionLedger(1000, "eu~tix~1~");
    log.attach(ledger, "tix", "eu");
    ledger.credit(5);
    const r = ledger.reserve("ann", 2, 0)!;
    expect(ledger.beginCommit(r.id, 0).ok).toBe(true);
    ledger.void(); // the lease is lost while the commit's store write is in flight
    ledger.abortCommit(r.id); // the write failed: the reservation is void, its units gone with the voided lease
    expect([ledger.free, ledger.held]).toEqual([0, 0]);
    const cp = log.checkpoint();
    expect([log.refused, log.lastRefusal]).toEqual([0, undefined]);
    expect(log.sequencer.state.read(freeKey("tix", "eu")) ?? "0").toBe(String(ledger.free));
    expect(proveEscrow(cp.checkpoint, log.sequencer.entries, cp.vkey, ORIGIN)).toBeUndefined();
  });

  it("flushing in budgeted steps logs the same history as one flush", () => {
    const clock = new ManualClock(0);
    const ledger = new RegionLedger(1000, "eu~tix~1~");
    const logs = [0, 1].map(() => new EscrowTransitionLog(clock, { origin: ORIGIN, signerKey: key.signerKey }));
    const hooks = logs.map((log) => (log.attach(ledger, "tix", "eu"), ledger.onEvent!));
    ledger.onEvent = (e) => hooks.forEach((h) => h(e)); // the same events to both logs
    ledger.credit(50);
    for (let i = 0; i < 40; i++) {
      const r = ledger.reserve(`u${i % 3}`, 1, clock.now())!;
      if (i % 2 === 0 && ledger.beginCommit(r.id, clock.now()).ok) ledger.finishCommit(r.id);
    }
    for (const b of [0, 0, 0]) logs[0]!.flush(b);
    logs[0]!.flush();
    logs[1]!.flush();
    expect(logs.map((l) => l.backlog)).toEqual([0, 0]);
    expect(logs[0]!.sequencer.entries).toEqual(logs[1]!.sequencer.entries);
    expect(logs[0]!.sequencer.entries).toHaveLength(61);
  });

  // The log lives in the escrow's memory: past its bounds it seals (stops recording and says so) instead of growing
  // without end under a long sale; what it logged stays provable and the ledger is never touched.
  it("seals at its entry bound and at its backlog bound; the logged prefix still proves, later events are counted as dropped", () => {
    const clock = new ManualClock(0);
    const bySize = new EscrowTransitionLog(clock, { origin: ORIGIN, signerKey: key.signerKey, maxEntries: 10, maxBacklog: 1000 });
    const byBacklog = new EscrowTransitionLog(clock, { origin: ORIGIN, signerKey: key.signerKey, maxEntries: 1000, maxBacklog: 5 });
    const ledger = new RegionLedger(1000, "eu~tix~1~");
    const hooks = [bySize, byBacklog].map((log) => (log.attach(ledger, "tix", "eu"), ledger.onEvent!));
    ledger.onEvent = (e) => hooks.forEach((h) => h(e));
    ledger.credit(50);
    for (let i = 0; i < 3; i++) ledger.reserve(`u${i}`, 1, 0);
    byBacklog.flush(); // 4 logged, nothing queued
    for (let i = 3; i < 20; i++) ledger.reserve(`u${i}`, 1, 0);
    expect(ledger.free).toBe(30); // every sale went through
    const cp = bySize.checkpoint();
    expect(cp.sealed).toEqual({ reason: "the log holds 10 entries, its limit", size: 10 });
    expect([cp.size, bySize.backlog, bySize.dropped]).toEqual([10, 0, 11]);
    expect(proveEscrow(cp.checkpoint, bySize.sequencer.entries, cp.vkey, ORIGIN)).toBeUndefined();
    const cq = byBacklog.checkpoint();
    expect(cq.sealed).toEqual({ reason: "more than 5 ledger events queued (sales outpaced the log)", size: 4 });
    expect([cq.size, byBacklog.backlog, byBacklog.dropped]).toEqual([4, 0, 17]);
    expect(proveEscrow(cq.checkpoint, byBacklog.sequencer.entries, cq.vkey, ORIGIN)).toBeUndefined();
    ledger.reserve("late", 1, 0);
    expect([bySize.dropped, byBacklog.dropped, bySize.checkpoint().size]).toEqual([12, 18, 10]);
  });

  it("property: any interleaving of a real RegionLedger's operations is logged, replays with no fraud, and no step can be challenged", () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant("credit" as const), n: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ k: fc.constant("debit" as const), n: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ k: fc.constant("reserve" as const), user: fc.constantFrom("ann", "ben", "cy"), n: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ k: fc.constantFrom("begin", "cancel", "refund"), pick: fc.nat() }),
      // A commit in flight ends in a sale, an abort (the store write failed), a failure (lease lost) or a refusal (cap).
      fc.record({ k: fc.constantFrom("finish", "abort", "fail", "refuse"), pick: fc.nat() }),
      fc.record({ k: fc.constant("advance" as const), n: fc.integer({ min: 1, max: 1500 }) }),
      fc.record({ k: fc.constant("void" as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.nat(), (ops, challengeAt) => {
        const clock = new ManualClock(0);
        const log = new EscrowTransitionLog(clock, { origin: ORIGIN, signerKey: key.signerKey });
        const ledger = new RegionLedger(1000, "eu~tix~1~");
        log.attach(ledger, "tix", "eu");
        const ids: string[] = [];
        const sold: string[] = [];
        const committing: string[] = [];
        for (const o of ops) {
          const id = "pick" in o ? ids[o.pick % Math.max(1, ids.length)] : undefined;
          const ends = o.k === "finish" || o.k === "abort" || o.k === "fail" || o.k === "refuse";
          const inFlight = ends && committing.length > 0 ? committing.splice(o.pick % committing.length, 1)[0] : undefined;
          if (o.k === "credit") ledger.credit(o.n);
          else if (o.k === "debit") ledger.debit(o.n);
          else if (o.k === "reserve") {
            const r = ledger.reserve(o.user, o.n, clock.now());
            if (r) ids.push(r.id);
          } else if (o.k === "advance") {
            clock.advance(o.n);
            ledger.expire(clock.now());
          } else if (o.k === "void") ledger.void();
          else if (o.k === "cancel" && id) ledger.release(id);
          else if (o.k === "refund") {
            const s = sold.shift();
            if (s) log.refund("tix", "eu", s);
          } else if (o.k === "begin") {
            if (id && ledger.beginCommit(id, clock.now()).ok) committing.push(id);
          } else if (inFlight) {
            if (o.k === "finish") {
              ledger.finishCommit(inFlight);
              sold.push(inFlight);
            } else if (o.k === "abort") ledger.abortCommit(inFlight);
            else if (o.k === "fail") ledger.failCommit(inFlight);
            else ledger.refuseCommit(inFlight);
          }
        }
        const cp = log.checkpoint();
        expect(log.refused).toBe(0);
        // The log's state is the ledger's: its free units (reservations are checked by the replay below).
        expect(Number(log.sequencer.state.read(freeKey("tix", "eu")) ?? 0)).toBe(ledger.free);
        const entries = log.sequencer.entries;
        expect(proveEscrow(cp.checkpoint, entries, cp.vkey, ORIGIN)).toBeUndefined();
        if (entries.length > 0) {
          const p = proveEscrow(cp.checkpoint, entries, cp.vkey, ORIGIN, challengeAt % entries.length)!;
          expect(checkEscrowFraudProof(p, cp.vkey, ORIGIN).fraud).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });
});
