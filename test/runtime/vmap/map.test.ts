// The verifiable map core: proofs of inclusion, exclusion, batches and key ranges verify against the root,
// and a range proof that leaves out an entry, or any tampered proof, does not (fast-check properties).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { SparseMerkleTree } from "../../../runtime/prooflog/index.js";
import { decodeMapEntry, encodeMapEntry, MapError, prefixBounds, treeKey, VerifiableMap, verifyMapBatch, verifyMapRange, verifyMapRead, type MapWrite } from "../../../runtime/vmap/index.js";

const key = fc.stringMatching(/^[a-z]{1,3}:[0-9]{1,4}$/);
const value = fc.uint8Array({ minLength: 1, maxLength: 8 });

describe("verifiable map", () => {
  it("proves values and absences, one key or a batch", () => {
    const m = new VerifiableMap("balances");
    m.apply([
      ["acct:1", Buffer.from("10")],
      ["acct:2", Buffer.from("20")],
      ["quota:a", Buffer.from("5")],
    ]);
    const root = m.root();
    const r = m.prove("acct:2");
    expect(verifyMapRead(root, "acct:2", r.value, r.proof)).toBe(true);
    expect(verifyMapRead(root, "acct:2", Buffer.from("21"), r.proof)).toBe(false);
    const absent = m.prove("acct:3");
    expect(absent.value).toBeNull();
    expect(verifyMapRead(root, "acct:3", null, absent.proof)).toBe(true);
    const b = m.proveBatch(["acct:1", "acct:3", "quota:a"]);
    expect(verifyMapBatch(root, ["acct:1", "acct:3", "quota:a"], b.values, b.proof)).toBe(true);
    expect(verifyMapBatch(root, ["acct:1", "acct:3", "quota:a"], [b.values[0]!, Buffer.from("x"), b.values[2]!], b.proof)).toBe(false);
  });

  it("range proofs hold exactly the range's entries (property: any map, any prefix)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { maxLength: 25 }), fc.stringMatching(/^[a-z]{0,2}$/), (writes, prefix) => {
        const m = new VerifiableMap("p");
        m.apply(writes);
        const [lo, hi] = prefixBounds(prefix);
        const proof = m.proveRange(lo, hi);
        const want = [...new Map(writes).entries()]
          .filter(([k]) => k.startsWith(prefix))
          .map(([k]) => k)
          .sort();
        expect(proof.entries.map((e) => Buffer.from(e.key).toString("utf8").replace(/\0+$/, ""))).toEqual(want);
        expect(verifyMapRange(m.root(), lo, hi, proof)).toBe(true);
        if (proof.entries.length > 0) {
          expect(verifyMapRange(m.root(), lo, hi, { ...proof, entries: proof.entries.slice(1) })).toBe(false); // an entry withheld
          const bent = proof.entries.map((e, i) => (i === 0 ? { ...e, value: Buffer.concat([Buffer.from(e.value), Buffer.from("!")]) } : e));
          expect(verifyMapRange(m.root(), lo, hi, { ...proof, entries: bent })).toBe(false);
        }
        if (proof.outside.length > 0) expect(verifyMapRange(m.root(), lo, hi, { ...proof, outside: proof.outside.slice(1) })).toBe(false);
      }),
      { numRuns: 12 },
    );
  });

  it("records each batch as a canonical log entry that replays to the same root", () => {
    const m = new VerifiableMap("q");
    const e1 = m.apply([["a:1", Buffer.from("x")]]);
    const e2 = m.apply([
      ["a:1", null],
      ["b:2", Buffer.from("y")],
    ]);
    const replica = new VerifiableMap("q");
    for (const e of [e1, e2]) replica.replay(decodeMapEntry(encodeMapEntry(e))!);
    expect(Buffer.from(replica.root())).toEqual(Buffer.from(m.root()));
    expect(() => replica.replay(e1)).toThrow(/revision 1 does not follow 2/);
    const forged = { ...e2, revision: 3, root: e1.root };
    expect(() => replica.replay(forged)).toThrow(/different root/);
    expect(decodeMapEntry(Buffer.from("not json"))).toBeNull();
  });

  it("stages a batch without changing the map; committing it gives the staged root (property: any batches, repeats and deletes)", () => {
    const names = ["a:1", "a:2", "b:1", "bb:7", "c:9"];
    const batch = fc.array(fc.tuple(fc.constantFrom(...names), fc.option(fc.uint8Array({ maxLength: 4 }))), { minLength: 1, maxLength: 6 });
    const hex = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString("hex") : String(b));
    /** What a reader of the map sees: revision, root, entries in order, and every key's value and proof. */
    const seen = (m: VerifiableMap) => ({
      revision: m.revision,
      root: hex(m.root()),
      entries: [...m.entries()].map((e) => `${hex(e.key)}=${hex(e.value)}`),
      reads: names.map((k) => ({ value: hex(m.get(k)), proof: m.prove(k).proof.map(hex) })),
      batch: m.proveBatch(names).proof.map(hex),
    });
    fc.assert(
      fc.property(fc.array(batch, { maxLength: 6 }), batch, (history, next) => {
        const m = new VerifiableMap("s");
        const fallback = new VerifiableMap("s"); // commits copies of the entries: not the staged ones, so the writes are applied (setMany)
        const model = new SparseMerkleTree(); // the writes one by one, in order (a key written twice keeps its last value)
        for (const writes of history) {
          const e = m.apply(writes as MapWrite[]);
          fallback.commit({ ...e });
          for (const [k, v] of e.writes) model.set(treeKey(k), v ?? undefined);
          expect(seen(m)).toEqual(seen(fallback));
        }
        const before = seen(m);
        const staged = m.stage(next as MapWrite[]);
        expect(seen(m)).toEqual(before);
        for (const [k, v] of next) model.set(treeKey(k), v ?? undefined);
        expect(Buffer.from(staged.root).toString("hex")).toBe(Buffer.from(model.root()).toString("hex"));
        const snapshot = [...m.entriesAfter(staged)].map((e) => `${e.key.toString("hex")}=${Buffer.from(e.value).toString("hex")}`).sort();
        m.commit(staged);
        fallback.commit({ ...staged });
        expect([m.revision, Buffer.from(m.root()).toString("hex")]).toEqual([before.revision + 1, Buffer.from(staged.root).toString("hex")]);
        expect(seen(m)).toEqual(seen(fallback));
        expect([...m.entries()].map((e) => `${e.key.toString("hex")}=${Buffer.from(e.value).toString("hex")}`).sort()).toEqual(snapshot);
        expect(() => m.commit(staged)).toThrow(/does not apply/); // staged against a revision the map has left
      }),
      { numRuns: 40 },
    );
  });

  it("a staged entry commits only at its revision, and only with the writes and root it was staged with", () => {
    const m = new VerifiableMap("t");
    m.apply([["a:1", Buffer.from("x")]]);
    const first = m.stage([["a:2", Buffer.from("y")]]);
    const second = m.stage([["a:1", null]]); // the same revision: whichever commits first takes it
    m.commit(second);
    expect(() => m.commit(first)).toThrow(/does not apply/);
    expect(m.get("a:2")).toBeUndefined();
    // An entry whose writes were changed after staging is applied as it stands, and refused for its staged root.
    const bent = m.stage([["b:1", Buffer.from("z")]]);
    bent.writes[0] = ["b:1", Buffer.from("w")];
    expect(() => m.commit(bent)).toThrow(/different root/);
    // So is one whose value bytes were changed in place (the same buffer): the staged tree is not adopted for them.
    const value = Buffer.from("y");
    const inPlace = m.stage([["b:2", value]]);
    value[0] = 0x78;
    expect(() => m.commit(inPlace)).toThrow(/different root/);
  });

  it("rejects keys that do not fit the tree", () => {
    expect(() => treeKey("")).toThrow(MapError);
    expect(() => treeKey("x".repeat(33))).toThrow(/33 bytes/);
    expect(() => treeKey("a\0b")).toThrow(/NUL/);
  });
});
