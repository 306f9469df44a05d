// A monitor polls the same checkpoint every round while the log is idle: the fork detector and the light client must
// not verify a note they already hold again (ed25519 per signature, every poll, for nothing), and must still catch a
// second root at a held size.
import { describe, expect, it } from "vitest";
import { generateKey, newSigner, newVerifier, signCheckpoint, type Verifier } from "../../../../runtime/prooflog/index.js";
import { ForkDetector } from "../../../../runtime/prooflog/witness/quorum.js";
import { ForkError, LightClient } from "../../../../runtime/prooflog/lightclient.js";

const ORIGIN = "meridian.test/idle";
const key = generateKey(ORIGIN);
const signer = newSigner(key.signerKey);
const cp = (size: number, fill: number) => signCheckpoint({ origin: ORIGIN, size, root: Buffer.alloc(32, fill), extensions: [] }, [signer]);

/** The log's verifier, counting its signature checks. */
function counted(): { verifiers: Verifier[]; calls: () => number } {
  const v = newVerifier(key.verifierKey);
  let n = 0;
  return { verifiers: [{ name: v.name, keyId: v.keyId, verify: (t, s) => (n++, v.verify(t, s)) }], calls: () => n };
}

describe("an unchanged checkpoint, observed again", () => {
  it("is not verified again by the fork detector, which still reports a second root for a held size", () => {
    const { verifiers, calls } = counted();
    const detector = new ForkDetector(verifiers, ORIGIN);
    const note = cp(5, 1);
    expect(detector.observe(note)).toBeNull();
    const first = calls();
    for (let i = 0; i < 10; i++) expect(detector.observe(note)).toBeNull();
    expect(calls()).toBe(first);
    // Another source's copy of that checkpoint (its own cosignature beside the log's): checked once, then known to agree.
    const copy = signCheckpoint({ origin: ORIGIN, size: 5, root: Buffer.alloc(32, 1), extensions: [] }, [signer, newSigner(generateKey("w.test/witness").signerKey)]);
    expect(copy).not.toBe(note);
    expect(detector.observe(copy)).toBeNull();
    const second = calls();
    expect(second).toBeGreaterThan(first);
    for (let i = 0; i < 10; i++) expect(detector.observe(copy)).toBeNull();
    expect(calls()).toBe(second);
    const forked = cp(5, 2);
    expect(detector.observe(forked)).toMatchObject({ origin: ORIGIN, size: 5, notes: [note, forked] });
    // A note that does not verify is refused every time, never remembered as held.
    const bad = signCheckpoint({ origin: ORIGIN, size: 6, root: Buffer.alloc(32, 3), extensions: [] }, [newSigner(generateKey(ORIGIN).signerKey)]);
    expect(() => detector.observe(bad)).toThrow();
    expect(() => detector.observe(bad)).toThrow();
    // The equivocating note is reported every time it is seen, never remembered as agreeing.
    expect(detector.observe(forked)).not.toBeNull();
  });

  it("remembers a bounded number of agreeing notes; one it forgot is checked in full, with the same answer", () => {
    const { verifiers, calls } = counted();
    const detector = new ForkDetector(verifiers, ORIGIN);
    const notes = Array.from({ length: 100 }, (_, i) => cp(i + 1, 1));
    for (const n of notes) expect(detector.observe(n)).toBeNull();
    const before = calls();
    expect(detector.observe(notes.at(-1)!)).toBeNull();
    expect(calls()).toBe(before);
    expect(detector.observe(notes[0]!)).toBeNull(); // forgotten: opened again (and agrees with itself)
    expect(calls()).toBeGreaterThan(before);
    expect(detector.observe(cp(1, 9))).toMatchObject({ size: 1 });
  });

  it("is not verified again by the light client, which still refuses a fork at its size", async () => {
    const { verifiers, calls } = counted();
    const client = new LightClient({ origin: ORIGIN, logVerifiers: verifiers, fetchConsistency: async () => [] });
    const note = cp(5, 1);
    const held = await client.update(note);
    const first = calls();
    for (let i = 0; i < 10; i++) expect(await client.update(note)).toEqual(held);
    expect(calls()).toBe(first);
    await expect(client.update(cp(5, 2))).rejects.toBeInstanceOf(ForkError);
  });
});
