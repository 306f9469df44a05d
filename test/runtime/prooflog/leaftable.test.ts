// The leaf table (leaftable.ts) behind the duplicate window and the memory store's index: a model check against a
// Map, with indices up to 2^53 - 1 (an index is kept in two u32 words beside its key) and growth by doubling; and
// the duplicate window (antispam.ts) against a Map over its last `capacity` entries.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Antispam } from "../../../runtime/prooflog/antispam.js";
import { LeafTable } from "../../../runtime/prooflog/leaftable.js";
import { leafHash } from "../../../runtime/prooflog/rfc6962.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("leaf table", () => {
  it("answers as a Map from leaf hash to the latest index set, fixed or growable", () => {
    const index = fc.oneof(fc.nat({ max: 1000 }), fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER - 1), fc.maxSafeNat());
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.tuple(fc.nat({ max: 400 }), index), { maxLength: 600 }), fc.array(fc.nat({ max: 800 }), { maxLength: 100 }), (growable, sets, probes) => {
        const t = new LeafTable(growable ? 4 : 450, growable);
        const model = new Map<string, number>();
        for (const [k, i] of sets) {
          const leaf = leafHash(Buffer.from(`k${k}`));
          t.set(leaf, i === Number.MAX_SAFE_INTEGER ? i - 1 : i);
          model.set(hex(leaf), i === Number.MAX_SAFE_INTEGER ? i - 1 : i);
        }
        expect(t.count).toBe(model.size);
        for (const k of [...sets.map(([k]) => k), ...probes]) {
          const leaf = leafHash(Buffer.from(`k${k}`));
          expect(t.get(leaf)).toBe(model.get(hex(leaf)));
        }
      }),
    );
  });

  it("setMany records packed leaves with consecutive indices exactly as set does one by one", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.tuple(fc.array(fc.nat({ max: 300 }), { maxLength: 80 }), fc.nat({ max: 2 ** 40 })), { maxLength: 12 }), (growable, batches) => {
        const many = new LeafTable(growable ? 4 : 1200, growable);
        const one = new LeafTable(growable ? 4 : 1200, growable);
        const seen: Uint8Array[] = [];
        for (const [keys, first] of batches) {
          const packed = new Uint8Array(32 * (keys.length + 1)); // one slot of padding in front: an offset is honoured
          keys.forEach((k, i) => {
            const leaf = leafHash(Buffer.from(`m${k}`));
            packed.set(leaf, 32 * (i + 1));
            one.set(leaf, first + i);
            seen.push(leaf);
          });
          many.setMany(packed, 32, keys.length, first);
        }
        expect(many.count).toBe(one.count);
        for (const leaf of seen) expect(many.get(leaf)).toBe(one.get(leaf));
        expect(many.get(leafHash(Buffer.from("absent")))).toBeUndefined();
      }),
    );
  });
});

describe("duplicate window", () => {
  it("holds exactly the last `capacity` entries numbered, and claims like a Map over them", () => {
    const capacity = 30_000;
    const w = new Antispam(capacity);
    const leaf = (i: number) => leafHash(Buffer.from(`w${i}`));
    const N = 75_000;
    for (let i = 0; i < N; i++) expect(w.claim(leaf(i), i)).toBeUndefined();
    expect(w.size).toBe(capacity);
    for (let i = N - capacity; i < N; i += 97) expect(w.lookup(leaf(i))).toBe(i);
    expect(w.lookup(leaf(N - capacity))).toBe(N - capacity);
    expect(w.lookup(leaf(N - capacity - 1))).toBeUndefined();
    for (let i = 0; i < N - capacity; i += 997) expect(w.lookup(leaf(i))).toBeUndefined();
    expect(w.claim(leaf(N - 1), N)).toBe(N - 1);
  });

  // Leaf hashes built so that bucket and fingerprint (the first 8 bytes) collide often: tiny tables overflow into
  // the next buckets, equal fingerprints must be told apart by the ring, and evicted slots are reused.
  it("equals a Map over the last `capacity` entries through random claims, lookups, evictions and restarts", () => {
    const key = fc.noBias(fc.nat({ max: 60 }));
    const op = fc.oneof(
      { arbitrary: fc.record({ claim: key }), weight: 6 },
      { arbitrary: fc.record({ lookup: key }), weight: 3 },
      { arbitrary: fc.record({ restart: fc.nat({ max: 2 ** 40 }) }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.nat({ max: 3 }), fc.array(op, { maxLength: 400, size: "max" }), (capacity, spread, ops) => {
        const w = new Antispam(capacity);
        const leaf = (k: number) => {
          const h = leafHash(Buffer.from(`k${k}`));
          h.fill(k % (spread + 1), 0, 8); // same bucket and fingerprint for many keys
          return h;
        };
        let next = 0;
        /** The model: leaf → index for the entries numbered since the last restart, of which the last `capacity` count. */
        let model = new Map<string, number>();
        const held = (k: number) => {
          const i = model.get(hex(leaf(k)));
          return i !== undefined && i >= next - capacity ? i : undefined;
        };
        for (const o of ops) {
          if ("claim" in o) {
            const want = held(o.claim);
            expect(w.claim(leaf(o.claim), next)).toBe(want);
            if (want === undefined) model.set(hex(leaf(o.claim)), next++);
          } else if ("lookup" in o) expect(w.lookup(leaf(o.lookup))).toBe(held(o.lookup));
          else {
            w.restart(o.restart);
            if (o.restart !== next) model = new Map();
            next = o.restart;
          }
          expect(w.size).toBe(Math.min(capacity, [...model.values()].filter((i) => i >= next - capacity).length));
        }
      }),
      { numRuns: 200 },
    );
  });

  // Tags are index mod (2^32 − 1), plus 1: the window is started just below a multiple of 2^32 − 1 (a restart at that
  // index, as a log reopened at that size does), so the entries it holds straddle the wrap — tags 2^32 − 1 … 1, 2 …
  // side by side — and claims, duplicates and evictions all cross it. Colliding leaves crowd the buckets, so overflow
  // tags cross it too.
  it("tags wrapping past 2^32 − 1 change nothing: a Map over the last `capacity` entries across the wrap", () => {
    const TAG_MOD = 2 ** 32 - 1;
    let crossings = 0;
    const runs = 120;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.nat({ max: 3 }),
        fc.constantFrom(1, 2, 3, 2 ** 20, Math.floor(Number.MAX_SAFE_INTEGER / TAG_MOD) - 1),
        fc.nat({ max: 30 }),
        fc.array(fc.oneof({ arbitrary: fc.record({ claim: fc.nat({ max: 80 }) }), weight: 4 }, { arbitrary: fc.record({ lookup: fc.nat({ max: 80 }) }), weight: 1 }), {
          minLength: 60,
          maxLength: 300,
        }),
        (capacity, spread, k, below, ops) => {
          const w = new Antispam(capacity);
          const leaves = Array.from({ length: 81 }, (_, key) => {
            const h = leafHash(Buffer.from(`wrap${key}`));
            h.fill(key % (spread + 1), 0, 8); // same bucket and fingerprint for many keys
            return h;
          });
          const start = k * TAG_MOD - below;
          let next = start;
          const model = new Map<number, number>();
          const held = (key: number) => {
            const i = model.get(key);
            return i !== undefined && i >= next - capacity ? i : undefined;
          };
          for (const o of ops) {
            if ("claim" in o) {
              const want = held(o.claim);
              expect(w.claim(leaves[o.claim]!, next)).toBe(want);
              if (want === undefined) model.set(o.claim, next++);
            } else expect(w.lookup(leaves[o.lookup]!)).toBe(held(o.lookup));
          }
          leaves.forEach((l, key) => expect(w.lookup(l)).toBe(held(key)));
          expect(w.size).toBe(Math.min(capacity, next - start));
          if (next > k * TAG_MOD) crossings++;
        },
      ),
      { numRuns: runs },
    );
    expect(crossings).toBeGreaterThan(runs * 0.8); // most runs number entries on both sides of the wrap
  });

  it("a window held across the wrap finds every entry on both sides of it, and evicts exactly the oldest", () => {
    const TAG_MOD = 2 ** 32 - 1;
    const capacity = 1000;
    const leaf = (i: number) => leafHash(Buffer.from(`x${i}`));
    for (const k of [1, 2]) {
      const w = new Antispam(capacity);
      const start = k * TAG_MOD - 600; // tags ... 2^32 − 1, then 1, 2, ...: 600 entries before the wrap, 1,400 after
      for (let i = start; i < start + 2000; i++) expect(w.claim(leaf(i), i)).toBeUndefined();
      const end = start + 2000;
      for (let i = end - capacity; i < end; i++) expect(w.lookup(leaf(i))).toBe(i);
      for (let i = start; i < end - capacity; i++) expect(w.lookup(leaf(i))).toBeUndefined();
      // Resubmissions of held entries from before the wrap (window of 1,000 reaching back across it when it is recent).
      const w2 = new Antispam(capacity);
      for (let i = start; i < start + 900; i++) w2.claim(leaf(i), i);
      for (let i = start; i < start + 900; i++) expect(w2.claim(leaf(i), start + 900)).toBe(i);
      for (let i = start + 900; i < start + 1300; i++) expect(w2.claim(leaf(i), i)).toBeUndefined();
      expect(w2.lookup(leaf(start + 299))).toBeUndefined();
      expect(w2.lookup(leaf(start + 300))).toBe(start + 300); // 300 indices before the wrap, still held
      expect(w2.size).toBe(capacity);
    }
  });
});
