/**
 * The transition log's own state tree and sequencer (runtime/escrow/transition-tree.ts) against runtime/prooflog's
 * SparseMerkleTree and runtime/fraud's EscrowSequencer: any sequence of writes and deletes gives the same root after
 * each, through the 65-byte WebAssembly function and through node:crypto alike; a sequence of ledger txs (valid and
 * refused) gives the same entries byte for byte, and the challenger's replay finds no fraud in them.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buyerOf, EscrowSequencer, FraudInputError, proveEscrow, smtKey, type EscrowTx } from "../../../runtime/fraud/index.js";
import { generateKey, newSigner, SparseMerkleTree } from "../../../runtime/prooflog/index.js";
import { TransitionSequencer, TransitionState, transitionHashingReady, useTransitionWasm } from "../../../runtime/escrow/transition-tree.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
// Few names, so writes revisit leaves, delete them and bring them back; many, so keys split and collapse subtrees.
const name = fc.oneof(
  fc.integer({ min: 0, max: 7 }).map((i) => `hot-${i}`),
  fc.integer({ min: 0, max: 400 }).map((i) => `res-${i}`),
);
const op = fc.tuple(name, fc.option(fc.string({ maxLength: 40 }), { nil: undefined, freq: 4 }));

describe.each([true, false])("TransitionState (WebAssembly %s)", (wasm) => {
  beforeAll(async () => {
    await transitionHashingReady;
    useTransitionWasm(wasm);
  });
  afterAll(() => useTransitionWasm(true));

  it("has SparseMerkleTree's root after every write and delete", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const ours = new TransitionState();
        const theirs = new SparseMerkleTree();
        expect(hex(ours.root())).toBe(hex(theirs.root()));
        for (const [n, v] of ops) {
          ours.write(n, v);
          theirs.set(smtKey(n), v === undefined ? undefined : Buffer.from(v, "utf8"));
          expect(hex(ours.root())).toBe(hex(theirs.root()));
          expect(ours.read(n)).toBe(v);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("writes the same entries as EscrowSequencer, refusing the same txs", () => {
    const key = generateKey("meridian.test/transition-tree");
    const ours = new TransitionSequencer("meridian.test/transition-tree", newSigner(key.signerKey));
    const theirs = new EscrowSequencer("meridian.test/transition-tree", newSigner(key.signerKey));
    const buyer = buyerOf("u1");
    const txs: EscrowTx[] = [{ op: "refill", sku: "s", region: "r", qty: 3 }];
    for (let i = 0; i < 40; i++) {
      const id = `r.s.x~1.${i}.tok`;
      txs.push({ op: "reserve", sku: "s", region: "r", id, buyer, qty: 1, expiresAt: 1000 + i });
      if (i % 5 === 0) txs.push({ op: "cancel", sku: "s", region: "r", id, buyer });
      else if (i % 5 === 1) txs.push({ op: "expire", sku: "s", region: "r", id, at: 2000 });
      else if (i % 5 === 2) txs.push({ op: "commit", sku: "s", region: "r", id, buyer }, { op: "commit", sku: "s", region: "r", id, buyer }, { op: "refund", sku: "s", region: "r", id });
      else if (i % 5 === 3) txs.push({ op: "void", sku: "s", region: "r", id }, { op: "refill", sku: "s", region: "r", qty: 1 });
      else txs.push({ op: "commit", sku: "s", region: "r", id, buyer }, { op: "refill", sku: "s", region: "r", qty: 2 });
    }
    let refused = 0;
    for (const tx of txs) {
      const a = (() => {
        try {
          return ours.submit(tx);
        } catch (e) {
          expect(e).toBeInstanceOf(FraudInputError);
          return (e as Error).message;
        }
      })();
      const b = (() => {
        try {
          return theirs.submit(tx);
        } catch (e) {
          return (e as Error).message;
        }
      })();
      if (typeof a === "string") refused++;
      expect(typeof a === "string" ? a : { pre: hex(a.pre), post: hex(a.post) }).toEqual(typeof b === "string" ? b : { pre: hex(b.pre), post: hex(b.post) });
    }
    expect(refused).toBeGreaterThan(0);
    expect(ours.entries).toEqual(theirs.entries);
    expect(hex(ours.log.root())).toBe(hex(theirs.log.root()));
    expect(proveEscrow(ours.checkpoint(), ours.entries, key.verifierKey, "meridian.test/transition-tree")).toBeUndefined();
  });
});
