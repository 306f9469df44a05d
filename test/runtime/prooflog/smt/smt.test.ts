import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DEFAULTS, SmtError } from "../../../../runtime/prooflog/smt/hashing.js";
import { SparseMerkleTree, verifySmtBatch, verifySmtProof } from "../../../../runtime/prooflog/smt/smt.js";
import { VerifiableState, verifyRead, verifyReadBatch, verifyWrite } from "../../../../runtime/prooflog/smt/state.js";
import { hashEquals, nodeHash } from "../../../../runtime/prooflog/rfc6962.js";
import { smtLeafHash } from "../../../../runtime/prooflog/smt/hashing.js";

const key = (n: number) => {
  const k = Buffer.alloc(32);
  k.writeUInt32BE(n, 28);
  return k;
};

describe("sparse Merkle tree", () => {
  it("the empty tree has the default root and stores nothing; deleting restores it", () => {
    const t = new SparseMerkleTree();
    expect(Buffer.from(t.root())).toEqual(Buffer.from(DEFAULTS[256]!));
    t.set(key(1), Buffer.from("v"));
    expect(t.storedNodes).toBe(257);
    t.set(key(1), undefined);
    expect(Buffer.from(t.root())).toEqual(Buffer.from(DEFAULTS[256]!));
    expect(t.storedNodes).toBe(0);
    expect(() => t.set(Buffer.alloc(31), Buffer.from("x"))).toThrow(SmtError);
  });

  it("property: inclusion and exclusion proofs verify, wrong values and flipped siblings fail; root is order-independent", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 12, selector: (k) => Buffer.from(k).toString("hex") }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (keys, absent) => {
          const t = new SparseMerkleTree();
          keys.forEach((k, i) => t.set(k, Buffer.from(`value ${i}`)));
          const root = t.root();
          keys.forEach((k, i) => {
            const p = t.prove(k);
            expect(verifySmtProof(root, k, Buffer.from(`value ${i}`), p)).toBe(true);
            expect(verifySmtProof(root, k, Buffer.from(`value ${i}!`), p)).toBe(false);
            expect(verifySmtProof(root, k, undefined, p)).toBe(false);
            // Tamper with one sibling: flip a bit of a real hash, or put a hash where the default was.
            const at = i % 256;
            const flipped = p.map((s, j) => (j !== at ? s : s ? Buffer.from(s.map((b, n) => (n === 0 ? b ^ 1 : b))) : Buffer.alloc(32, 1)));
            expect(verifySmtProof(root, k, Buffer.from(`value ${i}`), flipped)).toBe(false);
          });
          if (!keys.some((k) => Buffer.from(k).equals(Buffer.from(absent)))) {
            expect(verifySmtProof(root, absent, undefined, t.prove(absent))).toBe(true);
            expect(verifySmtProof(root, absent, Buffer.from("forged"), t.prove(absent))).toBe(false);
          }
          const reversed = new SparseMerkleTree();
          [...keys].reverse().forEach((k) => reversed.set(k, Buffer.from(`value ${keys.indexOf(k)}`)));
          expect(hashEquals(reversed.root(), root)).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("batch proofs share path nodes and verify present and absent keys together", () => {
    const t = new SparseMerkleTree();
    for (let i = 0; i < 64; i++) t.set(key(i), Buffer.from(`v${i}`));
    const asked = [key(3), key(4), key(5), key(1000)];
    const proof = t.proveBatch(asked);
    const singles = asked.map((k) => t.prove(k).length).reduce((a, b) => a + b, 0);
    expect(proof.length).toBeLessThan(singles / 3);
    const vals: [Uint8Array, Uint8Array | undefined][] = [
      [key(3), Buffer.from("v3")],
      [key(4), Buffer.from("v4")],
      [key(5), Buffer.from("v5")],
      [key(1000), undefined],
    ];
    expect(verifySmtBatch(t.root(), vals, proof)).toBe(true);
    expect(
      verifySmtBatch(
        t.root(),
        vals.map(([k, v], i) => [k, i === 1 ? Buffer.from("v999") : v]),
        proof,
      ),
    ).toBe(false);
    expect(verifySmtBatch(t.root(), vals, proof.slice(1))).toBe(false);
    expect(verifySmtBatch(t.root(), vals, [...proof, null])).toBe(false);
  });
});

/** The root from the definition: every one of the 256 levels hashed, straight from the key → value contents. */
function definitionRoot(contents: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const rec = (keys: Buffer[], depth: number): Uint8Array => {
    if (keys.length === 0) return DEFAULTS[256 - depth]!;
    if (depth === 256) return smtLeafHash(keys[0]!, contents.get(keys[0]!.toString("hex"))!);
    const bitOf = (k: Buffer) => (k[depth >> 3]! >> (7 - (depth & 7))) & 1;
    return nodeHash(
      rec(
        keys.filter((k) => bitOf(k) === 0),
        depth + 1,
      ),
      rec(
        keys.filter((k) => bitOf(k) === 1),
        depth + 1,
      ),
    );
  };
  return rec(
    [...contents.keys()].map((h) => Buffer.from(h, "hex")),
    0,
  );
}

describe("sparse Merkle tree representation", () => {
  it("property: any sequence of writes and deletes gives the definition's root and proofs, batched or one by one", () => {
    // Keys differ in a few scattered bits, so paths share long prefixes and part at every depth.
    const bitKey = fc.subarray([0, 7, 8, 100, 200, 254, 255]).map((bits) => {
      const k = Buffer.alloc(32);
      for (const b of bits) k[b >> 3]! |= 1 << (7 - (b & 7));
      return k;
    });
    const op = fc.tuple(bitKey, fc.option(fc.uint8Array({ minLength: 0, maxLength: 8 }), { nil: undefined }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const t = new SparseMerkleTree();
        const batched = new SparseMerkleTree();
        const model = new Map<string, Uint8Array>();
        for (const [k, v] of ops) {
          t.set(k, v);
          if (v === undefined) model.delete(k.toString("hex"));
          else model.set(k.toString("hex"), v);
          expect(Buffer.from(t.root()).toString("hex")).toBe(Buffer.from(definitionRoot(model)).toString("hex"));
        }
        expect(Buffer.from(batched.setMany(ops)).toString("hex")).toBe(Buffer.from(t.root()).toString("hex"));
        const root = t.root();
        for (const bits of [[], [0, 7], [255], [8, 100, 200, 254]]) {
          const k = Buffer.alloc(32);
          for (const b of bits) k[b >> 3]! |= 1 << (7 - (b & 7));
          const value = model.get(k.toString("hex"));
          expect(verifySmtProof(root, k, value, t.prove(k))).toBe(true);
          expect(verifySmtProof(root, k, value, batched.prove(k))).toBe(true);
          // The one-walk proof is the sibling-by-sibling one, default marks included.
          expect(t.prove(k)).toEqual(t.proveBatch([k]));
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe("verifiable state", () => {
  it("proves reads, and a root-only holder can check a write and compute the next root", () => {
    const s = new VerifiableState();
    s.apply([
      ["alice", Buffer.from("100")],
      ["bob", Buffer.from("50")],
    ]);
    const r = s.read("alice");
    expect(verifyRead(r.root, "alice", Buffer.from("100"), r.proof)).toBe(true);
    const carol = s.read("carol");
    expect(carol.value).toBeUndefined();
    expect(verifyRead(carol.root, "carol", undefined, carol.proof)).toBe(true);
    const batch = s.readBatch(["alice", "bob", "carol"]);
    expect(verifyReadBatch(batch.root, ["alice", "bob", "carol"], batch.values, batch.proof)).toBe(true);

    const before = s.root();
    const proof = s.read("alice").proof;
    const next = verifyWrite(before, "alice", Buffer.from("100"), Buffer.from("70"), proof);
    s.set("alice", Buffer.from("70"));
    expect(next && hashEquals(next, s.root())).toBe(true);
    expect(verifyWrite(before, "alice", Buffer.from("999"), Buffer.from("70"), proof)).toBeNull();
  });
});

describe("staged trees (path copying)", () => {
  // Keys differ in a few scattered bits (paths share long prefixes and part at every depth, lone keys above and below
  // MID); half of them from four bits, so a batch often writes a key twice.
  const bitKey = (bits: number[]) =>
    fc.subarray(bits).map((set) => {
      const k = Buffer.alloc(32);
      for (const b of set) k[b >> 3]! |= 1 << (7 - (b & 7));
      return k;
    });
  const anyKey = fc.oneof(bitKey([0, 7, 8, 100, 200, 254, 255]), bitKey([0, 100, 254, 255]));
  const write = fc.tuple(anyKey, fc.option(fc.uint8Array({ minLength: 0, maxLength: 6 }), { nil: undefined }));
  const batch = fc.array(write, { maxLength: 10 });
  const probes = [[], [0], [0, 7], [255], [8, 100, 200, 254], [0, 100, 254, 255], [1, 2, 3]].map((bits) => {
    const k = Buffer.alloc(32);
    for (const b of bits) k[b >> 3]! |= 1 << (7 - (b & 7));
    return k;
  });
  const hex = (h: Uint8Array | null | undefined) => (h ? Buffer.from(h).toString("hex") : String(h));
  /** Everything a reader sees: root, entries in order, and per probe key its value, proof and a batch proof. */
  const seen = (t: SparseMerkleTree) => ({
    root: hex(t.root()),
    entries: [...t.entries()].map((e) => `${hex(e.key)}=${hex(e.value)}`),
    gets: probes.map((k) => hex(t.get(k))),
    proofs: probes.map((k) => t.prove(k).map(hex)),
    batch: t.proveBatch(probes).map(hex),
  });

  it("property: staging never changes what readers see; adopting gives exactly what setMany gives, batch after batch", () => {
    const step = fc.record({ live: fc.boolean(), decoy: batch, writes: batch });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), (steps) => {
        const t = new SparseMerkleTree();
        const model = new SparseMerkleTree(); // every batch written in place
        for (const { live, decoy, writes } of steps) {
          if (live) {
            // A write in place, into a trie that holds adopted (once staged) nodes.
            t.setMany(writes);
            model.setMany(writes);
            expect(seen(t)).toEqual(seen(model));
            continue;
          }
          const before = seen(t);
          const other = t.stage(decoy); // staged and dropped: shares nodes with the next one, whose hashing it fills in
          expect(seen(t)).toEqual(before);
          const staged = t.stage(writes);
          expect(seen(t)).toEqual(before);
          expect(t.canAdopt(other) && t.canAdopt(staged)).toBe(true);
          const root = model.setMany(writes);
          expect(hex(staged.root)).toBe(hex(root));
          expect(hex(t.adopt(staged))).toBe(hex(root));
          expect(seen(t)).toEqual(seen(model));
          expect(t.canAdopt(other)).toBe(false);
        }
      }),
      { numRuns: 30 },
    );
  });

  it("property: a staged tree is refused, changing nothing, once the tree was written (or by another tree)", () => {
    const stale = fc.constantFrom("set", "setMany", "adopt another", "adopt twice", "other tree");
    fc.assert(
      fc.property(batch, batch, fc.array(write, { minLength: 1, maxLength: 4 }), stale, (history, writes, meanwhile, how) => {
        const t = new SparseMerkleTree();
        t.setMany(history);
        const staged = t.stage(writes);
        if (how === "set")
          t.set(...meanwhile[0]!); // even a write that changes no value (deleting an absent key)
        else if (how === "setMany") t.setMany(meanwhile);
        else if (how === "adopt another") t.adopt(t.stage(meanwhile));
        else if (how === "adopt twice") t.adopt(staged);
        const target = how === "other tree" ? new SparseMerkleTree() : t;
        if (how === "other tree") target.setMany(history);
        const before = seen(target);
        expect(target.canAdopt(staged)).toBe(false);
        expect(() => target.adopt(staged)).toThrow(SmtError);
        expect(seen(target)).toEqual(before);
      }),
      { numRuns: 60 },
    );
  });
});
