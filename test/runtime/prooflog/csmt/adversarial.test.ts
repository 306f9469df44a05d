/**
 * Trying to break the compact SMT's batch proofs (runtime/prooflog/csmt/proof.ts) as a prover would: over random
 * canonical trees whose keys share long prefixes (differing only in late bits), for batches of 1-2 keys present or
 * absent, every proof — the honest one, the other encodings a prover may choose ("down" past a one-key or batch-only
 * subtree), and those mutated at random (items swapped, dropped, inserted, an item or a whole subtree's items replaced by any leaf, node, null or "down"
 * of the tree, a batch key's own leaf moved anywhere, a key off its subtree, truncated, over-long) — either is
 * refused or recomputes exactly the true root from exactly the true values, and then the true root after any write of
 * the batch's keys (inserts, updates, deletes that lift a one-key subtree). Also: roots depend on the key set alone
 * (deletes down to empty and re-inserts included), and malformed batches (a key twice, a key of the wrong length)
 * are refused.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CompactMerkleTree, CSMT_EMPTY, csmtLeafHash, valueHashOf } from "../../../../runtime/prooflog/csmt/csmt.js";
import { csmtRootFromProof, proveCsmt, verifyCsmtBatch, type CsmtItem, type CsmtProof } from "../../../../runtime/prooflog/csmt/proof.js";
import { nodeHash } from "../../../../runtime/prooflog/rfc6962.js";
import { SmtError } from "../../../../runtime/prooflog/smt/hashing.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bitOf = (k: Uint8Array, i: number) => (k[i >> 3]! >> (7 - (i & 7))) & 1;
type Entry = [Buffer, Buffer | undefined];

/** Keys that share long prefixes: a fixed base with a few bits flipped, mostly late ones; or random keys. */
const BASE = Buffer.alloc(32, 0x5a);
const keyArb = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((k) => Buffer.from(k)) },
  {
    weight: 4,
    arbitrary: fc.uniqueArray(fc.oneof(fc.integer({ min: 240, max: 255 }), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }).map((bits) => {
      const k = Buffer.from(BASE);
      for (const b of bits) k[b >> 3]! ^= 1 << (7 - (b & 7));
      return k;
    }),
  },
);
const valueArb = fc.uint8Array({ maxLength: 4 }).map((v) => Buffer.from(v));

/** The definition, over a key → value map restricted to the keys under (prefix of) `depth` bits. */
function naive(items: readonly [Buffer, Buffer][], depth = 0): Buffer {
  if (items.length === 0) return Buffer.from(CSMT_EMPTY);
  if (items.length === 1) return Buffer.from(csmtLeafHash(items[0]![0], valueHashOf(items[0]![1])));
  const side = (b: number) =>
    naive(
      items.filter(([k]) => bitOf(k, depth) === b),
      depth + 1,
    );
  return Buffer.from(nodeHash(side(0), side(1)));
}

/**
 * A proof the verifier should accept, built from the key set with a prover's free choices: "down" (at random) where
 * a batch key's subtree holds no other key or one, instead of null or that key's leaf.
 */
function altProve(items: readonly [Buffer, Buffer][], batch: readonly Buffer[], rand: () => number): CsmtProof {
  const out: CsmtProof = [];
  const walk = (s: readonly [Buffer, Buffer][], b: readonly Buffer[], depth: number): void => {
    const others = s.filter(([k]) => !b.some((x) => x.equals(k)));
    if (b.length === 0) {
      if (s.length === 0) out.push(null);
      else if (s.length === 1) out.push({ key: s[0]![0], valueHash: valueHashOf(s[0]![1]) });
      else
        out.push({
          left: naive(
            s.filter(([k]) => bitOf(k, depth) === 0),
            depth + 1,
          ),
          right: naive(
            s.filter(([k]) => bitOf(k, depth) === 1),
            depth + 1,
          ),
        });
      return;
    }
    if (others.length <= 1 && (depth === 256 || rand() < 0.6)) {
      out.push(others.length === 0 ? null : { key: others[0]![0], valueHash: valueHashOf(others[0]![1]) });
      return;
    }
    out.push("down");
    for (const side of [0, 1])
      walk(
        s.filter(([k]) => bitOf(k, depth) === side),
        b.filter((k) => bitOf(k, depth) === side),
        depth + 1,
      );
  };
  walk(items, batch, 0);
  return out;
}

/** Every subtree of two or more keys as a node item (its children's hashes), the root's included. */
function branches(items: readonly [Buffer, Buffer][], depth = 0): CsmtItem[] {
  if (items.length < 2) return [];
  const l = items.filter(([k]) => bitOf(k, depth) === 0);
  const r = items.filter(([k]) => bitOf(k, depth) === 1);
  return [{ left: naive(l, depth + 1), right: naive(r, depth + 1) }, ...branches(l, depth + 1), ...branches(r, depth + 1)];
}

/** Where the items of the subtree whose first item is at `i` end (a "down" is followed by its two children's). */
function end(proof: readonly CsmtItem[], i: number): number {
  return proof[i] === "down" ? end(proof, end(proof, i + 1)) : Math.min(i + 1, proof.length);
}

const sorted = (m: Map<string, [Buffer, Buffer]>) => [...m.values()].sort((a, b) => Buffer.compare(a[0], b[0]));

/** The root `proof` gives these entries, or null when it is refused. */
function rootOr(entries: readonly Entry[], proof: readonly CsmtItem[]): string | null {
  try {
    return hex(csmtRootFromProof(entries, proof));
  } catch (e) {
    if (e instanceof SmtError) return null;
    throw e;
  }
}

describe("compact SMT batch proofs, adversarially", () => {
  it("property: honest, alternative and mutated proofs either are refused or show exactly the true values and post roots", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(keyArb, valueArb), { maxLength: 24 }),
        fc.uniqueArray(keyArb, { minLength: 1, maxLength: 2, selector: hex }),
        fc.array(fc.nat(), { minLength: 2, maxLength: 2 }),
        fc.array(fc.option(valueArb, { nil: undefined }), { minLength: 2, maxLength: 2 }),
        fc.array(fc.tuple(fc.nat(6), fc.nat(), fc.nat()), { minLength: 1, maxLength: 3 }),
        fc.integer(),
        (state, picked, pickState, writes, mutations, seed) => {
          const model = new Map<string, [Buffer, Buffer]>();
          for (const [k, v] of state) model.set(hex(k), [k, v]);
          const items = sorted(model);
          const t = new CompactMerkleTree();
          t.setMany(items);
          const root = hex(t.root());
          expect(root).toBe(hex(naive(items)));
          // Batch keys: half the time a present key of the state in place of a picked one.
          const keys = [
            ...new Map(
              picked.map((k, i) => {
                const c = items.length > 0 && pickState[i]! % 2 === 0 ? items[pickState[i]! % items.length]![0] : k;
                return [hex(c), c] as const;
              }),
            ).values(),
          ];
          const truth: Entry[] = keys.map((k) => [k, model.get(hex(k))?.[1]]);
          const next: Entry[] = keys.map((k, i) => [k, writes[i]]);
          const after = new Map(model);
          for (const [k, v] of next) {
            if (v === undefined) after.delete(hex(k));
            else after.set(hex(k), [k, v]);
          }
          const postRoot = hex(naive(sorted(after)));
          let s = seed;
          const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) | 0) >>> 8) / (1 << 24);
          // Lies: each key's value changed, dropped or made up (one key at a time, and both).
          const lie = (v: Buffer | undefined, n: number): Buffer | undefined =>
            v === undefined ? Buffer.from([n & 0xff]) : n % 3 === 0 ? undefined : n % 3 === 1 ? Buffer.concat([v, Buffer.from([1])]) : Buffer.alloc(0).equals(v) ? Buffer.from([0]) : v.subarray(1);
          const lies: Entry[][] = [...truth.map((_, i) => truth.map(([k, v], j) => [k, i === j ? lie(v, seed) : v] as Entry)), truth.map(([k, v], j) => [k, lie(v, seed + j + 1)] as Entry)];
          // Every proof: the verdict on the truth must be the true root (or a refusal), on a lie never the true root.
          const check = (proof: readonly CsmtItem[], mustAccept: boolean) => {
            const got = rootOr(truth, proof);
            if (mustAccept) expect(got).toBe(root);
            if (got === root) {
              expect(rootOr([...truth].reverse(), proof)).toBe(root);
              expect(rootOr(next, proof)).toBe(postRoot);
            }
            for (const l of lies) expect(rootOr(l, proof)).not.toBe(root);
          };
          const honest = proveCsmt(t, keys);
          check(honest, true);
          const alt = altProve(items, keys, rand);
          check(alt, true);
          // Mutations from a pool of what this tree offers: every key's leaf (batch keys' own included), every branch
          // as a node (above batch keys too), null, "down", and a leaf whose key is nobody's.
          const pool: CsmtItem[] = [null, "down", { key: Buffer.alloc(32, 0x77), valueHash: valueHashOf(Buffer.from("x")) }];
          for (const [k, v] of items) pool.push({ key: k, valueHash: valueHashOf(v) });
          for (const p of [honest, alt]) for (const it of p) if (it !== null && it !== "down") pool.push(it);
          pool.push(...branches(items)); // every branch of the tree as a node, those above batch keys included
          for (const base of [honest, alt]) {
            let proof = [...base];
            for (const [kind, a, b] of mutations) {
              const i = a % (proof.length + 1);
              const x = pool[b % pool.length]!;
              if (kind === 0) proof = proof.toSpliced(i, 1);
              else if (kind === 1) proof = proof.toSpliced(i, 0, x);
              else if (kind === 2 && i < proof.length) proof = proof.with(i, x);
              else if (kind === 3 && proof.length > 1) {
                const j = b % proof.length;
                const k = i % proof.length;
                [proof[j], proof[k]] = [proof[k]!, proof[j]!];
              } else if (kind === 4) proof = proof.slice(0, i);
              else if (kind === 5 && i < proof.length) proof = proof.toSpliced(i, end(proof, i) - i, x);
              else proof = [...proof, x];
              check(proof, false);
            }
          }
          // A batch key's own leaf (present: its value; absent: a made-up one) in place of any item: never the truth's
          // root with a lie, and never accepted for an absent key's "absence".
          for (const [k, v] of truth) {
            const own: CsmtItem = { key: k, valueHash: valueHashOf(v ?? Buffer.from("own")) };
            const at = [0, honest.length - 1, ...Array.from({ length: 6 }, () => Math.floor(rand() * honest.length))];
            for (const i of at) check(honest.with(i, own), false);
            for (const i of at) check(honest.toSpliced(i + 1, 0, own), false);
            for (const i of at) check(honest.toSpliced(i, end(honest, i) - i, own), false);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("the classic forgeries are refused: a present key shown absent by its own leaf beside its path, a leaf off its prefix, a leaf as a branch", () => {
    const a = Buffer.from(BASE);
    const b = Buffer.from(BASE);
    b[31]! ^= 1; // a and b differ in the last bit only
    const va = Buffer.from("A");
    const vb = Buffer.from("B");
    const t = new CompactMerkleTree();
    t.setMany([
      [a, va],
      [b, vb],
    ]);
    const la: CsmtItem = { key: a, valueHash: valueHashOf(va) };
    const lb: CsmtItem = { key: b, valueHash: valueHashOf(vb) };
    // Honest: the proof for a shows b's leaf as its sibling 256 levels down.
    const p = proveCsmt(t, [a]);
    expect(p.filter((x) => x === "down")).toHaveLength(256);
    expect(verifyCsmtBatch(t.root(), [[a, va]], p)).toBe(true);
    // a shown absent: its own leaf given as "another key's" (refused), or with both leaves as a node (refused: a node
    // in a subtree holding a batch key), or the whole root as a node item.
    expect(verifyCsmtBatch(t.root(), [[a, undefined]], [la])).toBe(false);
    expect(verifyCsmtBatch(t.root(), [[a, undefined]], p.with(p.length - 2, la))).toBe(false);
    // A 256-level-deep tree: the root's children are EMPTY and the next branch; a node item at the root with them.
    const bit0 = bitOf(a, 0);
    const sub = naive(
      [
        [a, va],
        [b, vb],
      ],
      1,
    );
    const [left, right] = bit0 === 0 ? [sub, Buffer.from(CSMT_EMPTY)] : [Buffer.from(CSMT_EMPTY), sub];
    const rootNode: CsmtItem = { left, right };
    expect(hex(nodeHash(left, right))).toBe(hex(t.root()));
    expect(verifyCsmtBatch(t.root(), [[a, undefined]], [rootNode])).toBe(false);
    // b's leaf on a's side at the last level (off its prefix): refused.
    expect(verifyCsmtBatch(t.root(), [[a, undefined]], p.with(p.length - 2, lb).with(p.length - 1, null))).toBe(false);
    // Delete a: the post root is b's leaf alone (lifted 256 levels), as the tree says.
    expect(hex(csmtRootFromProof([[a, undefined]], p))).toBe(hex(csmtLeafHash(b, valueHashOf(vb))));
    t.setMany([[a, undefined]]);
    expect(hex(t.root())).toBe(hex(csmtLeafHash(b, valueHashOf(vb))));
  });

  it("refuses malformed batches: a key twice, a key of the wrong length, a proof item of the wrong shape", () => {
    const k = Buffer.from(BASE);
    const t = new CompactMerkleTree();
    t.setMany([[k, Buffer.from("v")]]);
    const p = proveCsmt(t, [k]);
    expect(verifyCsmtBatch(t.root(), [[k, Buffer.from("v")]], p)).toBe(true);
    expect(
      verifyCsmtBatch(
        t.root(),
        [
          [k, Buffer.from("v")],
          [Buffer.from(k), Buffer.from("v")],
        ],
        p,
      ),
    ).toBe(false);
    expect(
      verifyCsmtBatch(
        t.root(),
        [
          [k, Buffer.from("v")],
          [Buffer.from(k), undefined],
        ],
        p,
      ),
    ).toBe(false);
    expect(verifyCsmtBatch(t.root(), [[k.subarray(0, 31), Buffer.from("v")]], p)).toBe(false);
    expect(verifyCsmtBatch(t.root(), [[Buffer.concat([k, Buffer.from([0])]), Buffer.from("v")]], p)).toBe(false);
    expect(verifyCsmtBatch(t.root(), [], p)).toBe(false);
    expect(verifyCsmtBatch(t.root(), [[k, Buffer.from("v")]], [])).toBe(false);
    for (const bad of [undefined, 0, "leaf", {}, { key: k.subarray(1), valueHash: Buffer.alloc(32) }, { left: Buffer.alloc(31), right: Buffer.alloc(32) }])
      expect(verifyCsmtBatch(t.root(), [[k, Buffer.from("v")]], ["down", bad as CsmtItem, null])).toBe(false);
    expect(() => proveCsmt(t, [k, Buffer.from(k)])).toThrow(SmtError);
  });

  it("property: the root depends on the key set alone, through deletes down to empty and re-inserts", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(keyArb, fc.option(valueArb, { nil: undefined, freq: 3 })), { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 40 }), (writes, order) => {
        const t = new CompactMerkleTree();
        const model = new Map<string, [Buffer, Buffer]>();
        for (const [k, v] of writes) {
          t.setMany([[k, v]]);
          if (v === undefined) model.delete(hex(k));
          else model.set(hex(k), [k, v]);
          expect(hex(t.root())).toBe(hex(naive(sorted(model))));
        }
        // Delete everything (in a shuffled order): the empty root; then put it all back in another order.
        const all = sorted(model);
        const shuffled = all
          .map((x, i) => [x, order[i] ?? i] as const)
          .sort((a, b) => a[1] - b[1])
          .map(([x]) => x);
        for (const [k] of shuffled) t.setMany([[k, undefined]]);
        expect(hex(t.root())).toBe(hex(CSMT_EMPTY));
        expect(t.trie).toBeUndefined();
        t.setMany(shuffled.reverse());
        expect(hex(t.root())).toBe(hex(naive(all)));
        // And a fresh tree of the same set, one write at a time.
        const f = new CompactMerkleTree();
        for (const e of all) f.setManyOwned([e]);
        expect(hex(f.root())).toBe(hex(t.root()));
      }),
      { numRuns: 300 },
    );
  });
});
