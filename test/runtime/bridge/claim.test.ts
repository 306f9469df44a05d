// Bridge state proofs (#22, §13.3.2): region B's verifier follows region A's log through a light client that
// demands the log's signature and a witness cosignature quorum, and accepts a state claim only with an inclusion
// proof under the checkpoint it verified last. Refused: a forged entry or proof, a claim under an older tree
// (stale), under a tree never verified, under a checkpoint past its age limit, for another log, and any claim
// while the only checkpoints offered lack the witness quorum or fork the log.
import { describe, expect, it } from "vitest";
import { BridgeVerifier, ClaimRefused, type StateClaim } from "../../../runtime/bridge/index.js";
import { ManualClock } from "../../../runtime/common/clock.js";
import { ALG_COSIGNATURE_V1, generateKey, MerkleTree, newSigner, newVerifier, signCheckpoint } from "../../../runtime/prooflog/index.js";
import { newCosignatureVerifier, newCosigner } from "../../../runtime/prooflog/witness/cosignature.js";
import { attachCosignatures, Witness } from "../../../runtime/prooflog/witness/witness.js";

const ORIGIN = "region-a.meridian.test/escrow-log";
const logKey = generateKey(ORIGIN);
const logVerifiers = [newVerifier(logKey.verifierKey)];
const clock = new ManualClock(1_700_000_000_000);
const witnessKey = generateKey("w.region-b.test/witness", ALG_COSIGNATURE_V1);
const newWitness = () => new Witness({ cosigner: newCosigner(witnessKey.signerKey, clock), logs: new Map([[ORIGIN, logVerifiers]]) });

const source = new MerkleTree();
const entry = (i: number) => Buffer.from(`escrow region-a: lot ${i} sold to order ${1000 + i}`);
for (let i = 0; i < 40; i++) source.appendEntry(entry(i));
const cp = (t: MerkleTree, size: number) => signCheckpoint({ origin: ORIGIN, size, root: t.rootAt(size), extensions: [] }, [newSigner(logKey.signerKey)]);
let witness = newWitness();
let witnessed = 0;
async function cosigned(size: number): Promise<string> {
  const note = cp(source, size);
  const lines = await witness.addCheckpoint({ oldSize: witnessed, proof: witnessed === 0 || witnessed === size ? [] : source.consistencyProof(witnessed, size), note });
  witnessed = size;
  return attachCosignatures(note, lines);
}
const claim = (index: number, size: number): StateClaim => ({ origin: ORIGIN, index, size, entry: entry(index), inclusionProof: source.inclusionProof(index, size) });
const verifier = () =>
  new BridgeVerifier({
    origin: ORIGIN,
    logVerifiers,
    fetchConsistency: async (a, b) => source.consistencyProof(a, b),
    witnesses: { verifiers: [newCosignatureVerifier(witnessKey.verifierKey)], quorum: 1 },
    clock,
    maxAgeMs: 60_000,
  });

describe("bridge state claims", () => {
  it("accepts a claim proven under the relayed, cosigned checkpoint; refuses forged and stale ones", async () => {
    witness = newWitness();
    witnessed = 0;
    const v = verifier();
    expect(() => v.accept(claim(3, 20))).toThrow(/no checkpoint .* has been verified yet/);
    expect(await v.relay(await cosigned(20))).toEqual({ size: 20 });
    expect(v.accept(claim(3, 20))).toEqual({ origin: ORIGIN, index: 3, size: 20 });

    // Forged: another entry at that index, a proof hash changed, the proof of another index.
    expect(() => v.accept({ ...claim(3, 20), entry: Buffer.from("escrow region-a: lot 3 sold to order 9999") })).toThrow(/^forged/);
    const bad = claim(3, 20);
    bad.inclusionProof[1] = Buffer.alloc(32, 9);
    expect(() => v.accept(bad)).toThrow(/^forged/);
    expect(() => v.accept({ ...claim(3, 20), inclusionProof: source.inclusionProof(4, 20) })).toThrow(/^forged/);
    expect(() => v.accept({ ...claim(3, 20), origin: "region-c.meridian.test/log" })).toThrow(/follows "region-a/);
    // Under a tree the light client never verified (the relay has not brought it).
    expect(() => v.accept(claim(30, 35))).toThrow(/no verified checkpoint covers/);

    // The relay brings size 35: claims proven under 20 are now stale, and 35 ones are accepted.
    clock.advance(1000);
    await v.relay(await cosigned(35));
    expect(() => v.accept(claim(3, 20))).toThrow(/^stale: the claim is proven under tree size 20/);
    expect(v.accept(claim(30, 35))).toMatchObject({ index: 30, size: 35 });
    // With no relay for longer than maxAgeMs the verified checkpoint itself is stale.
    clock.advance(60_001);
    expect(() => v.accept(claim(30, 35))).toThrow(/^stale: the verified checkpoint/);
    expect(() => v.accept(claim(30, 35))).toThrow(ClaimRefused);
  });

  it("a checkpoint without the witness quorum, or forking the log, is not relayed and backs no claim", async () => {
    witness = newWitness();
    witnessed = 0;
    const v = verifier();
    await expect(v.relay(cp(source, 20))).rejects.toThrow(/quorum needs 1/);
    expect(() => v.accept(claim(3, 20))).toThrow(/no checkpoint/);
    await v.relay(await cosigned(20));
    // A forked history at size 20, signed by the log key and cosigned by a witness that saw only it.
    const fork = new MerkleTree();
    for (let i = 0; i < 20; i++) fork.appendEntry(i === 3 ? Buffer.from("escrow region-a: lot 3 sold to order 9999") : entry(i));
    const other = new Witness({ cosigner: newCosigner(witnessKey.signerKey, clock), logs: new Map([[ORIGIN, logVerifiers]]) });
    const forkNote = cp(fork, 20);
    await expect(v.relay(attachCosignatures(forkNote, await other.addCheckpoint({ oldSize: 0, proof: [], note: forkNote })))).rejects.toThrow(/equivocated/);
    expect(() => v.accept({ ...claim(3, 20), entry: Buffer.from("escrow region-a: lot 3 sold to order 9999"), inclusionProof: fork.inclusionProof(3, 20) })).toThrow(/^forged/);
    expect(v.accept(claim(3, 20))).toMatchObject({ index: 3 });
  });
});
