/**
 * Fraud proofs over a state-transition log (runtime/fraud): an honest log yields none; a wrong post root, an
 * overdraft, a malformed tx or a broken root chain is caught by a single-step proof whose size depends on the keys
 * touched and the log depth, not on the state; forged proofs against honest transitions are refused.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { generateKey, newSigner } from "../../../runtime/prooflog/index.js";
import { checkFraudProof, encodeEntry, EMPTY_STATE_ROOT, findFraud, proofSize, Sequencer, type Entry, type FraudProof, type Tx } from "../../../runtime/fraud/index.js";

const ORIGIN = "meridian.test/rollup";
const { signerKey, verifierKey } = generateKey("sequencer");
const other = generateKey("sequencer");

function sequencer(): Sequencer {
  return new Sequencer(ORIGIN, newSigner(signerKey));
}

function honest(txs: readonly Tx[]): Sequencer {
  const s = sequencer();
  for (const tx of txs) s.submit(tx);
  return s;
}

const TXS: Tx[] = [
  { op: "mint", to: "eu-west", amount: 100 },
  { op: "mint", to: "us-east", amount: 50 },
  { op: "transfer", from: "eu-west", to: "us-east", amount: 30 },
  { op: "transfer", from: "us-east", to: "ap-south", amount: 80 },
];

const wrongRoot = (seed: string) => createHash("sha256").update(seed).digest();

/** An honest run of `txs`, then `bad` appended as the sequencer writes it, then honest-looking entries after. */
function withBadEntry(txs: readonly Tx[], bad: (s: Sequencer) => Entry): Sequencer {
  const s = honest(txs);
  s.appendEntry(bad(s));
  return s;
}

function prove(s: Sequencer): FraudProof | undefined {
  return findFraud(s.checkpoint(), s.entries, verifierKey, ORIGIN);
}

describe("fraud proofs", () => {
  it("an honest log yields no fraud proof", () => {
    const s = honest(TXS);
    expect(prove(s)).toBeUndefined();
    expect(s.state.balance("us-east")).toBe(0n);
    expect(s.state.balance("ap-south")).toBe(80n);
  });

  it("a wrong post root is caught by a proof that re-executes only the touched keys", () => {
    const s = withBadEntry(TXS, (q) => ({ pre: q.state.root(), tx: { op: "transfer", from: "eu-west", to: "ap-south", amount: 10 }, post: wrongRoot("x") }));
    const p = prove(s)!;
    expect(p.challenged.index).toBe(4);
    expect(p.reads).toEqual([
      { account: "eu-west", balance: "70" },
      { account: "ap-south", balance: "80" },
    ]);
    const v = checkFraudProof(p, verifierKey, ORIGIN);
    expect(v).toMatchObject({ fraud: true, index: 4 });
    expect(v.reason).toMatch(/post root is not the result of its tx/);
  });

  it("an overdraft is caught", () => {
    const s = withBadEntry(TXS, (q) => ({ pre: q.state.root(), tx: { op: "transfer", from: "eu-west", to: "ap-south", amount: 71 }, post: wrongRoot("y") }));
    const v = checkFraudProof(prove(s)!, verifierKey, ORIGIN);
    expect(v).toMatchObject({ fraud: true, index: 4 });
    expect(v.reason).toMatch(/overdraft: eu-west has 70, transfer of 71/);
  });

  it("a malformed tx and a broken root chain are caught", () => {
    const bad = withBadEntry(TXS, (q) => ({ pre: q.state.root(), tx: { op: "transfer", from: "a", to: "a", amount: 1 }, post: q.state.root() }));
    expect(checkFraudProof(prove(bad)!, verifierKey, ORIGIN)).toMatchObject({ fraud: true, reason: expect.stringMatching(/same account/) });
    const gap = withBadEntry(TXS, () => ({ pre: EMPTY_STATE_ROOT, tx: { op: "mint", to: "x", amount: 1 }, post: wrongRoot("z") }));
    const p = prove(gap)!;
    expect(p.previous?.index).toBe(3);
    expect(checkFraudProof(p, verifierKey, ORIGIN)).toMatchObject({ fraud: true, reason: expect.stringMatching(/pre root is not entry 3's post root/) });
  });

  it("the proof is compact: O(keys touched × depth), the same size whatever the state holds", () => {
    const sizes: number[] = [];
    for (const accounts of [10, 300]) {
      const s = sequencer();
      for (let i = 0; i < accounts; i++) s.submit({ op: "mint", to: `acct${i}`, amount: 1 + i });
      s.appendEntry({ pre: s.state.root(), tx: { op: "transfer", from: "acct3", to: "acct5", amount: 2 }, post: wrongRoot("w") });
      const p = prove(s)!;
      expect(checkFraudProof(p, verifierKey, ORIGIN).fraud).toBe(true);
      // Two touched keys: at most 2 × 256 SMT siblings, of which only ~log2(accounts) per key are non-default.
      expect(p.proof!.length).toBeLessThanOrEqual(2 * 256);
      const nonDefault = p.proof!.filter((h) => h !== null).length;
      expect(nonDefault).toBeLessThanOrEqual(2 * (Math.ceil(Math.log2(accounts)) + 8));
      expect(p.challenged.inclusion.length).toBeLessThanOrEqual(Math.ceil(Math.log2(accounts + 1)));
      sizes.push(proofSize(p));
    }
    // 30× the state, the proof grows by the few extra path hashes, far from 30×.
    expect(sizes[1]!).toBeLessThan(sizes[0]! * 3);
    expect(sizes[1]!).toBeLessThan(15_000);
  });

  it("forged fraud proofs against an honest transition are refused", () => {
    const s = honest(TXS);
    const cp = s.checkpoint();
    // Build what a challenger would send for entry 2 (honest), with lying balances, then with the truth.
    const q = honest(TXS.slice(0, 2));
    const honestEntry2 = { index: 2, entry: s.entries[2]!.toString("base64"), inclusion: s.log.inclusionProof(2).map((h) => Buffer.from(h).toString("base64")) };
    const reads = [
      { account: "eu-west", balance: q.state.balance("eu-west").toString() },
      { account: "us-east", balance: q.state.balance("us-east").toString() },
    ];
    const proof = q.state.tree.proveBatch(["eu-west", "us-east"].map((a) => createHash("sha256").update(a).digest())).map((h) => (h === null ? null : Buffer.from(h).toString("hex")));
    const truthful: FraudProof = { checkpoint: cp, challenged: honestEntry2, reads, proof };
    expect(checkFraudProof(truthful, verifierKey, ORIGIN)).toEqual({ fraud: false, reason: "entry 2 is a valid transition: nothing to challenge" });
    // Lie about a balance (claims eu-west had 10, so the transfer of 30 would be an overdraft).
    const lie = { ...truthful, reads: [{ account: "eu-west", balance: "10" }, reads[1]!] };
    expect(checkFraudProof(lie, verifierKey, ORIGIN)).toMatchObject({ fraud: false, reason: expect.stringMatching(/not those under entry 2's pre root/) });
    // Challenge an entry the log never committed (a dishonest entry in place of entry 2).
    const forgedEntry = encodeEntry({ pre: EMPTY_STATE_ROOT, tx: { op: "mint", to: "x", amount: 1 }, post: wrongRoot("e") });
    const notLogged = { ...truthful, challenged: { ...honestEntry2, entry: forgedEntry.toString("base64") } };
    expect(checkFraudProof(notLogged, verifierKey, ORIGIN)).toMatchObject({ fraud: false, reason: expect.stringMatching(/not in the signed log/) });
    // A checkpoint signed by another key, or of another log.
    expect(checkFraudProof(truthful, other.verifierKey, ORIGIN)).toMatchObject({ fraud: false });
    expect(checkFraudProof(truthful, verifierKey, "meridian.test/other")).toMatchObject({ fraud: false, reason: expect.stringMatching(/origin/) });
    // A "broken chain" claim between two honest entries.
    const chain = {
      checkpoint: cp,
      challenged: honestEntry2,
      previous: { index: 1, entry: s.entries[1]!.toString("base64"), inclusion: s.log.inclusionProof(1).map((h) => Buffer.from(h).toString("base64")) },
    };
    expect(checkFraudProof(chain, verifierKey, ORIGIN)).toMatchObject({ fraud: false, reason: expect.stringMatching(/follows from entry 1/) });
  });

  it("property: random honest sequences with one corrupted transition — the proof names exactly that one", () => {
    const account = fc.constantFrom("a", "b", "c", "d", "e");
    const tx: fc.Arbitrary<Tx> = fc.oneof(
      fc.record({ op: fc.constant("mint" as const), to: account, amount: fc.integer({ min: 1, max: 100 }) }),
      fc.record({ op: fc.constant("transfer" as const), from: account, to: account, amount: fc.integer({ min: 1, max: 100 }) }),
    );
    fc.assert(
      fc.property(fc.array(tx, { minLength: 1, maxLength: 25 }), fc.nat(), fc.constantFrom("post", "overdraft"), (txs, at, kind) => {
        const s = sequencer();
        for (const t of txs) {
          try {
            s.submit(t); // invalid ones (overdraft, self-transfer) are refused by the honest sequencer
          } catch {
            /* not logged */
          }
        }
        expect(prove(s)).toBeUndefined();
        const bad = s.entries.length === 0 ? 0 : at % (s.entries.length + 1);
        // Rebuild: honest up to `bad`, then the corruption, then honest entries continuing from the corrupt root.
        const r = sequencer();
        const logged = s.entries.map((e) => JSON.parse(e.toString()) as { tx: Tx });
        for (const e of logged.slice(0, bad)) r.submit(e.tx);
        const pre = r.state.root();
        if (kind === "post") r.appendEntry({ pre, tx: { op: "mint", to: "a", amount: 1 }, post: wrongRoot(`p${at}`) });
        else r.appendEntry({ pre, tx: { op: "transfer", from: "a", to: "b", amount: Number(r.state.balance("a")) + 1 }, post: pre });
        const p = prove(r)!;
        expect(p.challenged.index).toBe(bad);
        const v = checkFraudProof(p, verifierKey, ORIGIN);
        expect(v).toMatchObject({ fraud: true, index: bad });
        // The same proof with its reads tampered is refused.
        const t = { ...p, reads: p.reads!.map((x, i) => (i === 0 ? { ...x, balance: String(BigInt(x.balance) + 1n) } : x)) };
        expect(checkFraudProof(t, verifierKey, ORIGIN).fraud).toBe(false);
      }),
      { numRuns: 60 },
    );
  });
});
