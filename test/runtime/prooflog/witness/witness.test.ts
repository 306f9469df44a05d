// Two witnesses and a forked log: each witness sees one branch and cosigns it, neither can be moved onto the other
// branch, and comparing their cosigned checkpoints yields equivocation evidence anyone can check offline.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { MerkleTree } from "../../../../runtime/prooflog/tree.js";
import { signCheckpoint } from "../../../../runtime/prooflog/checkpoint.js";
import { ALG_COSIGNATURE_V1, generateKey, newSigner, newVerifier, type Verifier } from "../../../../runtime/prooflog/note.js";
import { cosignatureTime, newCosignatureVerifier, newCosigner } from "../../../../runtime/prooflog/witness/cosignature.js";
import { attachCosignatures, Witness, type Misbehaviour } from "../../../../runtime/prooflog/witness/witness.js";
import { requestCosignature, WitnessRefusal } from "../../../../runtime/prooflog/witness/http.js";
import { witnessService } from "../../../../runtime/prooflog/witness/service.js";
import { startService } from "../../../../runtime/kit/index.js";
import { ForkDetector, verifyEquivocation, verifyQuorum } from "../../../../runtime/prooflog/witness/quorum.js";
import { ForkError, LightClient } from "../../../../runtime/prooflog/lightclient.js";

const ORIGIN = "meridian.test/forked";
const logKey = generateKey(ORIGIN);
const logSigner = newSigner(logKey.signerKey);
const logVerifiers: Verifier[] = [newVerifier(logKey.verifierKey)];
const clock = new ManualClock(1_700_000_000_000);

// One log key, two histories that share their first 10 entries.
const branch = (tag: string, n: number) => {
  const t = new MerkleTree();
  for (let i = 0; i < n; i++) t.appendEntry(Buffer.from(i < 10 ? `common ${i}` : `${tag} ${i}`));
  return t;
};
const honest = branch("honest", 30);
const evil = branch("evil", 30);
const cp = (t: MerkleTree, size: number) => signCheckpoint({ origin: ORIGIN, size, root: t.rootAt(size), extensions: [] }, [logSigner]);

const witnessKeys = ["w1.example/witness", "w2.example/witness"].map((n) => generateKey(n, ALG_COSIGNATURE_V1));
const witnessVerifiers = witnessKeys.map((k) => newCosignatureVerifier(k.verifierKey));
const servers: { url: string; close(): Promise<void>; parts: { misbehaviours: Misbehaviour[] } }[] = [];
const urls: string[] = [];
const reported = () => servers.flatMap((s) => s.parts.misbehaviours);

beforeAll(async () => {
  for (const k of witnessKeys) {
    const s = await startService(witnessService, { key: k.signerKey, logs: [logKey.verifierKey], data: ":memory:", server: { port: 0 } }, { clock, processMetrics: false });
    servers.push(s);
    urls.push(s.url);
  }
});
afterAll(() => Promise.all(servers.map((s) => s.close())));

async function refusal(p: Promise<unknown>): Promise<WitnessRefusal> {
  try {
    await p;
  } catch (e) {
    if (e instanceof WitnessRefusal) return e;
    throw e;
  }
  throw new Error("witness cosigned but should have refused");
}

describe("witnesses and a forked log", () => {
  it("each witness cosigns its branch only after checking consistency, and the fork is detected", async () => {
    const [w1, w2] = urls as [string, string];
    // Both witnesses see the common prefix, then diverge.
    const c10 = cp(honest, 10);
    for (const u of urls) expect(await requestCosignature(u, 0, [], c10)).toMatch(/^— w\d\.example\/witness \S+\n$/);
    const h20 = cp(honest, 20);
    const e20 = cp(evil, 20);
    const sigH = await requestCosignature(w1, 10, honest.consistencyProof(10, 20), h20);
    const sigE = await requestCosignature(w2, 10, evil.consistencyProof(10, 20), e20);
    const cosignedH = attachCosignatures(h20, sigH);
    // cosignature/v1: key ID ‖ u64 timestamp (the witness clock, seconds) ‖ Ed25519 signature
    expect(cosignatureTime(Buffer.from(sigH.trim().split(" ").pop()!, "base64").subarray(4))).toBe(1_700_000_000);
    const cosignedE = attachCosignatures(e20, sigE);
    expect(verifyQuorum(cosignedH, logVerifiers, witnessVerifiers, 1, ORIGIN).witnesses.map((s) => s.name)).toEqual(["w1.example/witness"]);
    expect(() => verifyQuorum(cosignedH, logVerifiers, witnessVerifiers, 2, ORIGIN)).toThrow(/needs 2 of 2/);

    // Witness 1 refuses the other branch at the same size (422: a second root for a size it cosigned) ...
    const fork = await refusal(requestCosignature(w1, 20, [], e20));
    expect(fork.status).toBe(422);
    // ... a replay of the log's own older checkpoint (409 with its size; anyone can replay it: no evidence) ...
    const replay = await refusal(requestCosignature(w1, 0, [], c10));
    expect([replay.status, replay.knownSize]).toEqual([409, 20]);
    const rollback = await refusal(requestCosignature(w1, 10, [], cp(honest, 15)));
    expect([rollback.status, rollback.knownSize]).toEqual([409, 20]);
    // ... and a longer evil checkpoint whose "consistency proof" cannot connect to what it saw (422), as well as a
    // genuine checkpoint sent with a junk proof (422): neither convicts the log, so neither is reported.
    const bad = await refusal(requestCosignature(w1, 20, evil.consistencyProof(20, 25), cp(evil, 25)));
    expect(bad.status).toBe(422);
    const junk = await refusal(requestCosignature(w1, 20, [Buffer.alloc(32, 1)], cp(honest, 25)));
    expect(junk.status).toBe(422);
    // Size 0 must carry the empty tree's root.
    const zeroBad = signCheckpoint({ origin: ORIGIN, size: 0, root: Buffer.alloc(32, 3), extensions: [] }, [logSigner]);
    expect((await refusal(requestCosignature(w1, 0, [], zeroBad))).status).toBe(422);
    // Unknown origin → 404; a checkpoint the log did not sign → 403; garbage → 400.
    const stranger = signCheckpoint({ origin: "other.example/log", size: 1, root: honest.rootAt(1), extensions: [] }, [logSigner]);
    expect((await refusal(requestCosignature(w1, 0, [], stranger))).status).toBe(404);
    const forged = signCheckpoint({ origin: ORIGIN, size: 30, root: honest.rootAt(30), extensions: [] }, [newSigner(generateKey(ORIGIN).signerKey)]);
    expect((await refusal(requestCosignature(w1, 20, honest.consistencyProof(20, 30), forged))).status).toBe(403);
    const garbage = await fetch(`${w1}/add-checkpoint`, { method: "POST", body: "hello" });
    expect(garbage.status).toBe(400);
    // The only report: the equivocation, with two log-signed roots for size 20 that anyone can check offline.
    expect(reported().map((m) => m.size)).toEqual([20]);
    expect(verifyEquivocation({ origin: ORIGIN, size: 20, notes: reported()[0]!.notes }, logVerifiers)).toBe(true);

    // A monitor comparing what the two witnesses cosigned finds the equivocation; the evidence checks offline.
    const detector = new ForkDetector(logVerifiers, ORIGIN);
    expect(detector.observe(cosignedH)).toBeNull();
    const evidence = detector.observe(cosignedE);
    expect(evidence).not.toBeNull();
    expect(evidence!.size).toBe(20);
    expect(verifyEquivocation(evidence!, logVerifiers)).toBe(true);
    expect(verifyEquivocation({ ...evidence!, notes: [cosignedH, cosignedH] }, logVerifiers)).toBe(false);

    // Witness 2 cosigned the evil branch, so it cannot be moved onto the honest one either.
    const moveW2 = await refusal(requestCosignature(w2, 20, honest.consistencyProof(20, 30), cp(honest, 30)));
    expect(moveW2.status).toBe(422);
  });

  it("a light client follows consistency proofs only, requires a quorum, and refuses forks and rollbacks", async () => {
    const fresh = generateKey("w3.example/witness", ALG_COSIGNATURE_V1);
    const w3 = new Witness({ cosigner: newCosigner(fresh.signerKey, clock), logs: new Map([[ORIGIN, logVerifiers]]) });
    const v3 = [newCosignatureVerifier(fresh.verifierKey)];
    const cosign = async (t: MerkleTree, old: number, size: number) =>
      attachCosignatures(cp(t, size), await w3.addCheckpoint({ oldSize: old, proof: old === 0 || old === size ? [] : t.consistencyProof(old, size), note: cp(t, size) }));
    const client = new LightClient({ origin: ORIGIN, logVerifiers, fetchConsistency: async (a, b) => honest.consistencyProof(a, b), witnesses: { verifiers: v3, quorum: 1 } });
    await client.update(await cosign(honest, 0, 12));
    await client.update(await cosign(honest, 12, 25));
    expect(client.checkpoint!.size).toBe(25);
    await expect(client.update(cp(honest, 30))).rejects.toThrow(/quorum needs 1/);
    const evil25 = attachCosignatures(
      cp(evil, 25),
      await new Witness({ cosigner: newCosigner(fresh.signerKey, clock), logs: new Map([[ORIGIN, logVerifiers]]) }).addCheckpoint({ oldSize: 0, proof: [], note: cp(evil, 25) }),
    );
    await expect(client.update(evil25)).rejects.toBeInstanceOf(ForkError);
    const older = attachCosignatures(
      cp(honest, 20),
      await new Witness({ cosigner: newCosigner(fresh.signerKey, clock), logs: new Map([[ORIGIN, logVerifiers]]) }).addCheckpoint({ oldSize: 0, proof: [], note: cp(honest, 20) }),
    );
    await expect(client.update(older)).rejects.toThrow(/rollback/);
    // A log serving a bogus consistency proof cannot move the client either.
    const liar = new LightClient({ origin: ORIGIN, logVerifiers, fetchConsistency: async (a, b) => evil.consistencyProof(a, b) });
    await liar.update(cp(honest, 12));
    await expect(liar.update(cp(honest, 25))).rejects.toThrow(/mismatch/);
    expect(liar.checkpoint!.size).toBe(12);
  });
});

describe("witness state on disk", () => {
  it("survives a restart: a new witness process on the same directory still refuses rollbacks", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { FileWitnessStore } = await import("../../../../runtime/prooflog/witness/store.js");
    const { WitnessError } = await import("../../../../runtime/prooflog/witness/witness.js");
    const dir = mkdtempSync(join(tmpdir(), "witness-state-"));
    const k = generateKey("w4.example/witness", ALG_COSIGNATURE_V1);
    const make = () => new Witness({ cosigner: newCosigner(k.signerKey, clock), logs: new Map([[ORIGIN, logVerifiers]]), store: new FileWitnessStore(dir) });
    await make().addCheckpoint({ oldSize: 0, proof: [], note: cp(honest, 10) });
    const restarted = make();
    const err = await restarted.addCheckpoint({ oldSize: 0, proof: [], note: cp(honest, 5) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WitnessError);
    expect((err as InstanceType<typeof WitnessError>).knownSize).toBe(10);
    await expect(restarted.addCheckpoint({ oldSize: 10, proof: honest.consistencyProof(10, 20), note: cp(honest, 20) })).resolves.toMatch(/^— w4/);
  });
});
