/**
 * The transition log's fast paths (0242ef8b: the state's cache of recent leaves, counts as numbers while exact,
 * `submitBuilt`, the buyer pseudonym memo, `encodeEntry` writing the roots in place, csmt/sha256.ts) held against
 * references that share none of them: random ledger histories — valid and invalid events, counts past 15 digits and
 * 2^53, names at the 128-character limit and with characters JSON escapes — flushed at random points through
 * `EscrowTransitionLog`, and replayed through `parseEscrowTx` → `executeEscrow` on a map of every leaf, roots from a
 * compact sparse Merkle tree computed from scratch with node:crypto, entries as `JSON.stringify({ pre, tx, post })`,
 * counts checked against bigint arithmetic, and through `EscrowSequencer.submit` on a separate sequencer. Writes made
 * to the state tree from outside (a restore's) between txs, a kept log's restart, a flood of users.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import type { LedgerEvent, RegionLedger } from "../../../runtime/escrow/core/ledger.js";
import { EscrowTransitionLog } from "../../../runtime/escrow/transition-log.js";
import { openDurableTransitionLog, type ClaimedLog, type TransitionLogStore } from "../../../runtime/escrow/transport/transitions-durable.js";
import { encodeEntry, type Entry, EscrowSequencer, escrowKeys, executeEscrow, FraudInputError, freeKey, parseEscrowTx, proveEscrow, smtKey, type EscrowTx } from "../../../runtime/fraud/index.js";
import { generateKey, MerkleTree, newSigner } from "../../../runtime/prooflog/index.js";

const sha = (b: string | Uint8Array) => createHash("sha256").update(b).digest();
const ZERO = Buffer.alloc(32);
const bitOf = (k: Buffer, d: number) => (k[d >> 3]! >> (7 - (d & 7))) & 1;

/** The compact tree's root by its definition (empty: zeros; one key: its leaf hash; else node hash), from scratch. */
function csmtRoot(leaves: ReadonlyMap<string, string | undefined>): Buffer {
  const items = [...leaves]
    .filter(([, v]) => v !== undefined)
    .map(([name, v]) => {
      const key = sha(name);
      return { key, leaf: sha(Buffer.concat([Buffer.of(0), key, sha(v!)])) };
    });
  const sub = (xs: typeof items, d: number): Buffer => {
    if (xs.length === 0) return ZERO;
    if (xs.length === 1) return xs[0]!.leaf;
    const l = sub(
      xs.filter((x) => bitOf(x.key, d) === 0),
      d + 1,
    );
    const r = sub(
      xs.filter((x) => bitOf(x.key, d) === 1),
      d + 1,
    );
    return sha(Buffer.concat([Buffer.of(1), l, r]));
  };
  return sub(items, 0);
}

type Event = { sku: string; region: string; e: LedgerEvent | { op: "refund"; id: string } } | { flush: true };

/** The log's own tx for an event (what transition-log.ts builds), its buyer hashed here with node:crypto. */
function txOf(ev: Exclude<Event, { flush: true }>, now: number): EscrowTx {
  const { sku, region, e } = ev;
  const buyer = (u: string) => sha(u).toString("hex");
  if (e.op === "reserve") return { op: "reserve", sku, region, id: e.id, buyer: buyer(e.user), qty: e.qty, expiresAt: e.expiresAt };
  if (e.op === "commit" || e.op === "cancel") return { op: e.op, sku, region, id: e.id, buyer: buyer(e.user) };
  if (e.op === "expire") return { op: "expire", sku, region, id: e.id, at: e.at ?? now };
  if (e.op === "refill" || e.op === "debit") return { op: e.op, sku, region, qty: e.qty };
  return { op: e.op as "void" | "refund", sku, region, id: (e as { id: string }).id };
}

/** The reference: every leaf in a map, each tx parsed and executed on it, roots from scratch, entries in the old JSON form. */
class Reference {
  readonly leaves = new Map<string, string | undefined>();
  readonly entries: Buffer[] = [];
  readonly counts = new Map<string, bigint>(); // bigint oracle of the counters
  refused = 0;
  lastRefusal?: string;
  private root = csmtRoot(this.leaves);

  /** Execute; the reason when refused. */
  submit(tx: unknown): string | undefined {
    const t = parseEscrowTx(tx);
    if (typeof t === "string") return t;
    const after = executeEscrow(t, new Map(escrowKeys(t).map((k) => [k, this.leaves.get(k)])));
    this.oracle(t, after);
    if (typeof after === "string") return after;
    for (const [k, v] of after) this.leaves.set(k, v);
    const post = csmtRoot(this.leaves);
    this.entries.push(Buffer.from(JSON.stringify({ pre: this.root.toString("hex"), tx: t, post: post.toString("hex") }), "utf8"));
    this.root = post;
    return undefined;
  }

  /** The counters by bigint arithmetic, held to what the machine (numbers while exact) made of them. */
  private oracle(t: EscrowTx, after: Map<string, string | undefined> | string): void {
    const free = freeKey(t.sku, t.region);
    const sold = JSON.stringify(["sold", t.sku, t.region]);
    const c = (k: string) => this.counts.get(k) ?? BigInt(this.leaves.get(k) ?? "0");
    const take = t.op === "debit" || t.op === "reserve" ? BigInt(t.qty) : 0n;
    if (typeof after === "string") {
      if (after.startsWith("oversell")) expect(c(free) < take).toBe(true);
      return;
    }
    // Valid: the leaves it read are well-formed.
    const res = "id" in t ? this.leaves.get(JSON.stringify(["res", t.sku, t.id])) : undefined;
    const rq = res === undefined ? 0n : BigInt((JSON.parse(res) as { qty: number }).qty);
    if (take > 0n) expect(c(free) >= take).toBe(true);
    const want = new Map<string, bigint>();
    if (t.op === "refill") want.set(free, c(free) + BigInt(t.qty));
    else if (take > 0n) want.set(free, c(free) - take);
    else if (t.op === "cancel" || t.op === "expire") want.set(free, c(free) + rq);
    else if (t.op === "commit") want.set(sold, c(sold) + rq);
    else if (t.op === "refund") want.set(sold, c(sold) - rq);
    for (const [k, v] of want) {
      this.counts.set(k, v);
      expect(after.get(k)).toBe(v === 0n ? undefined : v.toString());
    }
  }

  event(tx: EscrowTx, region: string): void {
    const bad = this.submit(tx);
    if (bad === undefined) return;
    this.refused++;
    this.lastRefusal = `${tx.op} in ${region}: ${bad}`;
  }

  /** Write a leaf from outside, as a restore does. */
  write(name: string, v: string | undefined): void {
    this.leaves.set(name, v);
    this.counts.delete(name);
    this.root = csmtRoot(this.leaves);
  }
}

const SKUS = ["s", "k".repeat(128), 'q"\\~{}', "k".repeat(129), "a b"];
const REGIONS = ["eu", 'r"\\', "y".repeat(128)];
const IDS = ["a", "b", 'i"\\d', "z".repeat(128), "z".repeat(129), "é"];
const USERS = ["u1", "u2", "u1\u0000", "ü", "u\u0308", "", 'x"\\', "\ud83d\ude00", "1"];
const QTY = [1, 2, 3, 7, 0, -1, 1.5, NaN, Number.MAX_SAFE_INTEGER, 2 ** 53, 999_999_999_999_999, 1_000_000_000_000_000, 9_000_000_000_000_000, 4_503_599_627_370_496];
const TIMES = [0, 5, 10, 1_000_000, Number.MAX_SAFE_INTEGER, -1, 1.5];

const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
const where = {
  sku: fc.oneof({ weight: 12, arbitrary: fc.constant("s") }, { weight: 1, arbitrary: pick(SKUS) }),
  region: fc.oneof({ weight: 8, arbitrary: fc.constant("eu") }, { weight: 3, arbitrary: fc.constant("us") }, { weight: 1, arbitrary: pick(REGIONS) }),
};
const qty = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: pick(QTY) });
const id = fc.oneof({ weight: 10, arbitrary: pick(["a", "b", "c"]) }, { weight: 1, arbitrary: pick(IDS) });
const user = fc.oneof({ weight: 10, arbitrary: pick(["u1", "u2"]) }, { weight: 1, arbitrary: pick(USERS) });
const time = fc.oneof(fc.integer({ min: 0, max: 20 }), pick(TIMES));
const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ flush: true as const }) },
  { weight: 3, arbitrary: fc.record({ ...where, e: fc.record({ op: pick(["refill", "debit"] as const), qty }) }) },
  { weight: 4, arbitrary: fc.record({ ...where, e: fc.record({ op: fc.constant("reserve" as const), id, user, qty, expiresAt: time }) }) },
  { weight: 4, arbitrary: fc.record({ ...where, e: fc.record({ op: pick(["commit", "cancel"] as const), id, user }) }) },
  { weight: 1, arbitrary: fc.record({ ...where, e: fc.oneof(fc.record({ op: fc.constant("expire" as const), id, at: time }), fc.record({ op: fc.constant("expire" as const), id })) }) },
  { weight: 1, arbitrary: fc.record({ ...where, e: fc.record({ op: pick(["void", "refund"] as const), id }) }) },
);

/** Units for the histories to sell: every valid (sku, region) refilled first. */
const STOCK: Event[] = SKUS.slice(0, 3).flatMap((sku) => REGIONS.map((region): Event => ({ sku, region, e: { op: "refill", qty: 20 } })));

/** Drive a log and both references through the events; compare after every flush and at the end. */
function differential(events: readonly Event[], o: { flushEach?: boolean } = {}): void {
  const now = 777;
  const log = new EscrowTransitionLog(new ManualClock(now), { origin: "diff/0000000000000000" });
  const key = generateKey("ref");
  const seq = new EscrowSequencer("ref", newSigner(key.signerKey));
  const ref = new Reference();
  const seqRefusals: string[] = [];
  const ledgers = new Map<string, { onEvent?: (e: LedgerEvent) => void }>();
  const check = () => {
    expect(log.refused).toBe(ref.refused);
    expect(log.lastRefusal).toBe(ref.lastRefusal);
    expect(log.sequencer.entries.length).toBe(ref.entries.length);
  };
  for (const ev of events) {
    if ("flush" in ev) {
      log.flush();
      check();
      continue;
    }
    if (ev.e.op === "refund") log.refund(ev.sku, ev.region, ev.e.id);
    else {
      const k = JSON.stringify([ev.sku, ev.region]);
      let l = ledgers.get(k);
      if (l === undefined) {
        ledgers.set(k, (l = {}));
        log.attach(l as RegionLedger, ev.sku, ev.region);
      }
      l.onEvent!(ev.e);
    }
    const tx = txOf(ev, now);
    ref.event(tx, ev.region);
    try {
      seq.submit(tx);
    } catch (e) {
      if (!(e instanceof FraudInputError)) throw e;
      seqRefusals.push(e.message);
    }
    if (o.flushEach) {
      log.flush();
      check();
    }
  }
  log.flush();
  check();
  expect(seqRefusals.length).toBe(ref.refused);
  const got = log.sequencer.entries;
  for (let i = 0; i < ref.entries.length; i++) {
    expect(got[i]!.toString("utf8")).toBe(ref.entries[i]!.toString("utf8"));
    expect(seq.entries[i]!.toString("utf8")).toBe(ref.entries[i]!.toString("utf8"));
  }
  const tree = new MerkleTree();
  for (const e of ref.entries) tree.appendEntry(e);
  expect(Buffer.from(log.sequencer.log.root()).equals(Buffer.from(tree.root()))).toBe(true);
  expect(Buffer.from(log.sequencer.state.root()).equals(csmtRoot(ref.leaves))).toBe(true);
  for (const [k, v] of ref.leaves) expect(log.sequencer.state.read(k)).toBe(v);
  // Counters: exact decimals (the bigint sum of what the valid txs moved).
  for (const [k, v] of ref.leaves) if (k.startsWith('["free"') || k.startsWith('["sold"')) expect(v === undefined || /^[1-9][0-9]*$/.test(v)).toBe(true);
  // A challenger replaying the log finds every transition valid.
  if (ref.entries.length > 0) expect(proveEscrow(log.sequencer.checkpoint(), got, log.vkey)).toBeUndefined();
}

describe("the transition log's fast paths against references that share none of them", () => {
  it("property: random ledger histories, flushed at random points: the same entries, roots, refusals and reasons", () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 20, maxLength: 150 }), (events) => differential([...STOCK, ...events])),
      { numRuns: 300 },
    );
  });

  it("property: flushed after every event, the same", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 50 }), (events) => differential([...STOCK, ...events], { flushEach: true })),
      { numRuns: 100 },
    );
  });

  it("counts near 2^53 and past 15 digits, exact through reserve, commit, cancel, refund and debit", () => {
    const at = (e: LedgerEvent | { op: "refund"; id: string }): Event => ({ sku: "s", region: "eu", e });
    const M = Number.MAX_SAFE_INTEGER;
    const events: Event[] = [
      at({ op: "refill", qty: 999_999_999_999_999 }),
      at({ op: "refill", qty: 1 }), // 16 digits
      { flush: true },
      at({ op: "refill", qty: M }),
      at({ op: "refill", qty: M }),
      at({ op: "reserve", id: "a", user: "u1", qty: M, expiresAt: 1 }),
      at({ op: "commit", id: "a", user: "u1" }),
      at({ op: "reserve", id: "b", user: "u1", qty: M, expiresAt: 1 }),
      at({ op: "commit", id: "b", user: "u1" }), // sold 2^54 - 2
      at({ op: "refund", id: "a" }),
      at({ op: "reserve", id: "c", user: "u2", qty: M, expiresAt: 1 }), // oversell: 10^15 left
      at({ op: "reserve", id: "c", user: "u2", qty: 999_999_999_999_999, expiresAt: 1 }),
      at({ op: "cancel", id: "c", user: "u2" }),
      at({ op: "debit", qty: 1_000_000_000_000_001 }), // oversell by one
      at({ op: "debit", qty: 1_000_000_000_000_000 }),
      at({ op: "refund", id: "b" }),
      at({ op: "refund", id: "b" }), // refunded, not sold
      // Sums of a 15-digit-or-shorter count and a safe qty past 2^53 (odd: a double would round them).
      { sku: "s", region: "us", e: { op: "refill", qty: 2 } },
      { sku: "s", region: "us", e: { op: "refill", qty: M } }, // 2^53 + 1
      { sku: "s", region: "us", e: { op: "reserve", id: "d", user: "u1", qty: 2, expiresAt: 1 } },
      { sku: "s", region: "us", e: { op: "commit", id: "d", user: "u1" } },
      { sku: "s", region: "us", e: { op: "reserve", id: "e", user: "u1", qty: M, expiresAt: 1 } },
      { sku: "s", region: "us", e: { op: "commit", id: "e", user: "u1" } }, // sold 2^53 + 1
      { sku: "s", region: "us", e: { op: "refund", id: "d" } },
      { sku: "s", region: "us", e: { op: "debit", qty: 1 } },
      { sku: "s", region: "us", e: { op: "refill", qty: M } },
    ];
    differential(events);
    differential(events, { flushEach: true });
  });

  it("a count is never rounded: a reservation leaf's qty that is no integer (a forged state's) gives no sum", () => {
    // No valid log makes such a leaf (reserve takes a safe integer); a faulty escrow's post root can hold one, and a
    // challenge of a later entry re-executes on it. Before 0242ef8b every sum was a bigint (BigInt(4000000000000000.5)
    // throws); a double sum of it rounds to an integer (4999999999999999.5 → 5000000000000000), which must not be taken.
    const b = "a".repeat(64);
    const forged = (qty: number, status: string) => JSON.stringify({ buyer: b, qty, region: "eu", expiresAt: 3, status });
    const res = JSON.stringify(["res", "s", "x"]);
    const sold = JSON.stringify(["sold", "s", "eu"]);
    const outcome = (tx: EscrowTx, before: [string, string][]) => {
      try {
        return executeEscrow(tx, new Map(before));
      } catch (e) {
        return e;
      }
    };
    const commit: EscrowTx = { op: "commit", sku: "s", region: "eu", id: "x", buyer: b };
    expect(
      outcome(commit, [
        [res, forged(4_000_000_000_000_000.5, "reserved")],
        [sold, "999999999999999"],
      ]),
    ).toMatch(/reservation leaf .* is not canonical/);
    expect(
      outcome(commit, [
        [res, forged(1.5, "reserved")],
        [sold, "2"],
      ]),
    ).toMatch(/reservation leaf .* is not canonical/);
    const cancel: EscrowTx = { op: "cancel", sku: "s", region: "eu", id: "x", buyer: b };
    expect(
      outcome(cancel, [
        [res, forged(4_000_000_000_000_000.5, "reserved")],
        [freeKey("s", "eu"), "999999999999999"],
      ]),
    ).toMatch(/reservation leaf .* is not canonical/);
    const refund: EscrowTx = { op: "refund", sku: "s", region: "eu", id: "x" };
    expect(
      outcome(refund, [
        [res, forged(4_000_000_000_000_000.5, "sold")],
        [sold, "8999999999999999"],
      ]),
    ).toMatch(/reservation leaf .* is not canonical/);
  });

  it("the pseudonym memo: users whose names collide cheaply, renamed, and a flood that does not grow it past its bound", () => {
    const at = (e: LedgerEvent): Event => ({ sku: "s", region: "eu", e });
    const events: Event[] = [at({ op: "refill", qty: 100 })];
    const pairs: [string, string][] = [
      ["ann", "ann\u0000"],
      ["ü", "u\u0308"],
      ["1", "01"],
      ["Ann", "ann"],
      ["ann ", "ann"],
      ["__proto__", "constructor"],
    ];
    pairs.forEach(([a, b], i) => {
      events.push(at({ op: "reserve", id: `p${i}`, user: a, qty: 1, expiresAt: 1 }), at({ op: "commit", id: `p${i}`, user: b }), at({ op: "commit", id: `p${i}`, user: a }));
    });
    // A user renamed between reserve and commit: the new name is another buyer.
    events.push(at({ op: "reserve", id: "r", user: "old-name", qty: 1, expiresAt: 1 }), at({ op: "commit", id: "r", user: "new-name" }), at({ op: "cancel", id: "r", user: "old-name" }));
    differential(events, { flushEach: true });

    const log = new EscrowTransitionLog(new ManualClock(1), { origin: "flood/0000000000000000" });
    const l: { onEvent?: (e: LedgerEvent) => void } = {};
    log.attach(l as RegionLedger, "s", "eu");
    l.onEvent!({ op: "refill", qty: 1_000_000 });
    const buyers = (log as unknown as { buyers: Map<string, string> }).buyers;
    let most = 0;
    for (let i = 0; i < 20_000; i++) {
      l.onEvent!({ op: "reserve", id: `f${i}`, user: `user-${i}`, qty: 1, expiresAt: 1 });
      if (i % 1000 === 999) {
        log.flush();
        most = Math.max(most, buyers.size);
      }
    }
    // Early users again after the memo started over: their commits still match their reservations.
    for (let i = 0; i < 50; i++) l.onEvent!({ op: "commit", id: `f${i}`, user: `user-${i}` });
    log.flush();
    expect(most).toBeLessThanOrEqual(4096);
    expect(log.refused).toBe(0);
    expect(log.sequencer.log.size).toBe(1 + 20_000 + 50);
    // 20,050 leaves touched: the state's recent leaves started over twice. The state is the reference's.
    const leaves = new Map<string, string | undefined>();
    for (const bytes of log.sequencer.entries) {
      const { tx } = JSON.parse(bytes.toString("utf8")) as { tx: EscrowTx };
      if ("buyer" in tx) expect(tx.buyer).toBe(sha(`user-${tx.id.slice(1)}`).toString("hex"));
      const after = executeEscrow(tx, new Map(escrowKeys(tx).map((k) => [k, leaves.get(k)])));
      if (typeof after === "string") throw new Error(after);
      for (const [k, v] of after) leaves.set(k, v);
    }
    expect(Buffer.from(log.sequencer.state.root()).equals(csmtRoot(leaves))).toBe(true);
  });
});

describe("encodeEntry", () => {
  it("property: the old JSON.stringify({ pre, tx, post }) bytes, for any tx JSON value (or none) and hashes of any length", () => {
    const hash = fc.oneof({ weight: 4, arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) });
    const tx = fc.oneof(
      fc.jsonValue(),
      fc.constant(undefined),
      fc.string({ unit: "binary" }),
      fc.dictionary(fc.string({ unit: "binary" }), fc.oneof(fc.string({ unit: "binary" }), fc.integer(), fc.constant(undefined))),
    );
    fc.assert(
      fc.property(hash, tx, hash, (pre, t, post) => {
        const e = { pre, tx: t, post } as unknown as Entry;
        const old = Buffer.from(JSON.stringify({ pre: Buffer.from(pre).toString("hex"), tx: t, post: Buffer.from(post).toString("hex") }), "utf8");
        expect(encodeEntry(e).equals(old)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

/** Names a sequence of txs touches: the leaves an outside write may change. */
const LEAF_NAMES = [freeKey("s", "eu"), freeKey("s", "us"), JSON.stringify(["sold", "s", "eu"]), JSON.stringify(["res", "s", "a"]), JSON.stringify(["res", "s", "b"])];
const resLeaf = (buyer: string, qty: number, region: string, status: string) => JSON.stringify({ buyer, qty, region, expiresAt: 3, status });
const B1 = sha("u1").toString("hex");
const B2 = sha("u2").toString("hex");

describe("the state's cache of recent leaves and writes to its tree from outside", () => {
  it("property: txs interleaved with outside writes (a restore's), cached leaves read between: the reference's outcomes and roots", () => {
    const tx: fc.Arbitrary<EscrowTx> = fc.oneof(
      fc.record({ op: pick(["refill", "debit"] as const), sku: fc.constant("s"), region: pick(["eu", "us"]), qty: fc.integer({ min: 1, max: 6 }) }),
      fc.record({
        op: fc.constant("reserve" as const),
        sku: fc.constant("s"),
        region: pick(["eu", "us"]),
        id: pick(["a", "b"]),
        buyer: pick([B1, B2]),
        qty: fc.integer({ min: 1, max: 3 }),
        expiresAt: fc.constant(3),
      }),
      fc.record({ op: pick(["commit", "cancel"] as const), sku: fc.constant("s"), region: pick(["eu", "us"]), id: pick(["a", "b"]), buyer: pick([B1, B2]) }),
      fc.record({ op: fc.constant("expire" as const), sku: fc.constant("s"), region: pick(["eu", "us"]), id: pick(["a", "b"]), at: pick([0, 5]) }),
      fc.record({ op: pick(["void", "refund"] as const), sku: fc.constant("s"), region: pick(["eu", "us"]), id: pick(["a", "b"]) }),
    );
    const value = fc.oneof(
      fc.constant(undefined),
      pick(["1", "2", "5", "9007199254740993", "07", "x"]),
      fc.record({ b: pick([B1, B2]), q: fc.integer({ min: 1, max: 3 }), r: pick(["eu", "us"]), s: pick(["reserved", "sold", "refunded"]) }).map(({ b, q, r, s }) => resLeaf(b, q, r, s)),
    );
    const write = fc.array(fc.tuple(pick(LEAF_NAMES), value), { minLength: 1, maxLength: 3 });
    const step = fc.oneof(
      { weight: 5, arbitrary: tx.map((t) => ({ tx: t })) },
      { weight: 2, arbitrary: write.map((w) => ({ write: w })) },
      { weight: 1, arbitrary: pick(LEAF_NAMES).map((read) => ({ read })) },
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const seq = new EscrowSequencer("cache", newSigner(generateKey("cache").signerKey));
        const ref = new Reference();
        for (const s of steps) {
          if ("read" in s) expect(seq.state.read(s.read)).toBe(ref.leaves.get(s.read));
          else if ("write" in s) {
            seq.state.tree.setMany(s.write.map(([k, v]) => [smtKey(k), v === undefined ? undefined : Buffer.from(v)] as const)); // as transitions-durable.ts's restore writes
            for (const [k, v] of s.write) ref.write(k, v);
          } else {
            const want = ref.submit(s.tx);
            let got: string | undefined;
            try {
              seq.submitBuilt(s.tx);
            } catch (e) {
              if (!(e instanceof FraudInputError)) throw e;
              got = e.message;
            }
            expect(got).toBe(want);
            if (want === undefined) expect(seq.entries.at(-1)!.toString("utf8")).toBe(ref.entries.at(-1)!.toString("utf8"));
          }
          expect(Buffer.from(seq.state.root()).equals(csmtRoot(ref.leaves))).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("a kept log's restart (its state tree written from outside while leaves were read): flush, restore, flush — one valid log", async () => {
    const stored: { origin?: string; vkey?: string; entries: Buffer[]; root: string; epoch: number } = { entries: [], root: "", epoch: 0 };
    const store: TransitionLogStore = {
      migrate: async () => undefined,
      claim: async (_base, fresh): Promise<ClaimedLog> => {
        stored.origin ??= fresh.origin;
        stored.vkey ??= fresh.vkey;
        stored.epoch++;
        return { origin: stored.origin, vkey: stored.vkey, epoch: stored.epoch, size: stored.entries.length, root: stored.root, entries: [...stored.entries] };
      },
      append: async (_base, _claimed, from, entries, root) => {
        stored.entries.splice(from, entries.length, ...entries.map((e) => Buffer.from(e)));
        stored.root = root;
      },
      replace: async () => {
        throw new Error("not continued");
      },
      isTakeover: () => false,
      close: async () => undefined,
    };
    const clock = new ManualClock(1_000);
    const signerKey = generateKey("escrow").signerKey;
    const first = await openDurableTransitionLog(store, { clock, base: "diff", signerKey });
    const l1: { onEvent?: (e: LedgerEvent) => void } = {};
    first.log.attach(l1 as RegionLedger, "s", "eu");
    l1.onEvent!({ op: "refill", qty: 10 });
    for (const [i, u] of ["u1", "u2", "u3"].entries()) l1.onEvent!({ op: "reserve", id: `r${i}`, user: u, qty: 2, expiresAt: 2_000 });
    l1.onEvent!({ op: "commit", id: "r0", user: "u1" });
    first.log.flush();
    await first.close();

    const second = await openDurableTransitionLog(store, { clock, base: "diff", signerKey });
    const state = second.log.sequencer.state;
    // Read (and cache) the leaves the restore is about to write, while they are still absent.
    for (const k of [freeKey("s", "eu"), JSON.stringify(["res", "s", "r1"]), JSON.stringify(["sold", "s", "eu"])]) expect(state.read(k)).toBeUndefined();
    const l2: { onEvent?: (e: LedgerEvent) => void } = {};
    second.log.attach(l2 as RegionLedger, "s", "eu");
    l2.onEvent!({ op: "refill", qty: 3 });
    l2.onEvent!({ op: "reserve", id: "n1", user: "u9", qty: 3, expiresAt: 2_000 });
    l2.onEvent!({ op: "commit", id: "n1", user: "u9" });
    await second.restored;
    expect(second.log.sealed).toBeUndefined();
    second.log.flush();
    expect(second.log.refused).toBe(0);
    expect(state.read(JSON.stringify(["sold", "s", "eu"]))).toBe("5"); // r0's 2 and n1's 3
    expect(state.read(freeKey("s", "eu"))).toBeUndefined(); // the previous free units debited, the new 3 sold
    const entries = second.log.sequencer.entries;
    expect(proveEscrow(second.log.sequencer.checkpoint(), entries, second.log.vkey)).toBeUndefined();
    // The whole log replayed by the reference from the empty state: the same bytes.
    const ref = new Reference();
    for (const e of entries) expect(ref.submit((JSON.parse(e.toString("utf8")) as { tx: unknown }).tx)).toBeUndefined();
    expect(ref.entries.map((e) => e.toString("utf8"))).toEqual(entries.map((e) => e.toString("utf8")));
    await second.close();
  });
});
