/**
 * Threshold witnessing (runtime/prooflog/witness/threshold.ts): five witnesses hold shares of a 3-of-5 group key
 * from a Pedersen DKG. Each answers add-checkpoint (after its consistency checks) with a partial signature; any 3
 * combine into one signature that @noble/curves verifies under the group key as an ordinary BLS signature over the
 * checkpoint, and that the light client and the verifier accept. Two partials combine to nothing either accepts; a
 * forged partial is named by its position and share; a share not on the group's polynomial is refused at start.
 * End to end over HTTP: a log whose pool combines the witnesses' partials publishes only checkpoints carrying the
 * group signature, names the witness with the forged partial, and publishes nothing once fewer than t are valid.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { startService } from "../../../../runtime/kit/index.js";
import { contribute, deal, finish, groupJson, interpolate, shareJson, type Share } from "../../../../runtime/tbls/index.js";
import { signCheckpoint } from "../../../../runtime/prooflog/checkpoint.js";
import { LightClient } from "../../../../runtime/prooflog/lightclient.js";
import { ALG_COSIGNATURE_V1, generateKey, newSigner, newVerifier } from "../../../../runtime/prooflog/note.js";
import { MerkleTree } from "../../../../runtime/prooflog/tree.js";
import { newCosigner } from "../../../../runtime/prooflog/witness/cosignature.js";
import { witnessService } from "../../../../runtime/prooflog/witness/service.js";
import { Witness } from "../../../../runtime/prooflog/witness/witness.js";
import { startLogServer } from "../../../../runtime/prooflog/serve.js";
import { LogClient } from "../../../../runtime/prooflog/client.js";
import {
  checkShare,
  combineCheckpoint,
  parsePartials,
  partialLine,
  thresholdMessage,
  ThresholdCombineError,
  verifyThresholdCheckpoint,
  type ThresholdGroup,
} from "../../../../runtime/prooflog/witness/threshold.js";

const ORIGIN = "meridian.test/threshold";
const NAME = "quorum.test/witnesses";
const clock = new ManualClock(1_700_000_000_000);
const logKey = generateKey(ORIGIN);
const logVerifiers = [newVerifier(logKey.verifierKey)];

/** A dealer-free t-of-n group: every participant deals, nobody complains, each adds up its shares. */
function dkg(t: number, n: number): { group: ThresholdGroup; shares: Share[] } {
  const cs = Array.from({ length: n }, (_, k) => contribute(k + 1, t, n));
  const tr = { t, n, commitments: new Map(cs.map((c) => [c.dealer, c.commitments])), complaints: new Map(), reveals: new Map() };
  const results = Array.from({ length: n }, (_, k) => finish(tr, k + 1, new Map(cs.map((c) => [c.dealer, c.shares.get(k + 1)!]))));
  return { group: { name: NAME, t, n, commitments: results[0]!.commitments, groupPublicKey: results[0]!.groupPublicKey }, shares: results.map((r) => r.share) };
}

/** Another group's shares (a dealer's: cheaper than a second DKG), for forged partials and foreign keys. */
function dealt(t: number, n: number): { group: ThresholdGroup; shares: Share[] } {
  const d = deal(t, n);
  return { group: { name: NAME, t, n, commitments: d.commitments, groupPublicKey: d.commitments[0]! }, shares: d.shares };
}

const { group, shares } = dkg(3, 5);
const other = dealt(3, 5);
const tree = new MerkleTree();
for (let i = 0; i < 40; i++) tree.appendEntry(Buffer.from(`threshold ${i}`));
const checkpointAt = (size: number) => signCheckpoint({ origin: ORIGIN, size, root: tree.rootAt(size), extensions: [] }, [newSigner(logKey.signerKey)]);
const textOf = (note: string) => note.slice(0, note.indexOf("\n\n") + 1);

function witness(i: number, share: Share = shares[i]!) {
  const k = generateKey(`w${i}.test/witness`, ALG_COSIGNATURE_V1);
  return new Witness({ cosigner: newCosigner(k.signerKey, clock), logs: new Map([[ORIGIN, logVerifiers]]), partialSigner: (text) => partialLine(group, share, text) });
}

describe("a witness quorum signing a checkpoint as one threshold signature", () => {
  it("any 3 of 5 partials combine into a BLS signature noble verifies under the group key; the light client takes it", async () => {
    const note = checkpointAt(20);
    const answers = await Promise.all(shares.map((_, i) => witness(i).addCheckpoint({ oldSize: 0, proof: [], note })));
    const partials = answers.flatMap((a) => parsePartials(group, a));
    expect(partials.map((p) => p.index)).toEqual([1, 2, 3, 4, 5]);
    const lines = new Set<string>();
    for (const pick of [
      [0, 1, 2],
      [0, 2, 4],
      [1, 3, 4],
      [4, 3, 2],
    ]) {
      const { line, signers, forged } = combineCheckpoint(
        group,
        textOf(note),
        pick.map((k) => partials[k]!),
      );
      expect([signers.length, forged]).toEqual([3, []]);
      lines.add(line);
      // Ordinary BLS verification, straight from @noble/curves: the group key and the checkpoint's tagged text.
      const sig = Buffer.from(line.trim().split(" ")[2]!, "base64").subarray(4);
      const bls = bls12_381.shortSignatures;
      expect(bls.verify(sig, bls.hash(thresholdMessage(textOf(note))), group.groupPublicKey)).toBe(true);
      const client = new LightClient({ origin: ORIGIN, logVerifiers, fetchConsistency: async () => [], threshold: group });
      expect((await client.update(note + line)).size).toBe(20);
    }
    // The signature of the group secret is unique: every 3 give the same line.
    expect(lines.size).toBe(1);
    // A client that requires the group signature refuses the checkpoint without it, and under another group's key.
    const client = new LightClient({ origin: ORIGIN, logVerifiers, fetchConsistency: async () => [], threshold: group });
    await expect(client.update(note)).rejects.toThrow(/no threshold signature of quorum.test\/witnesses/);
    expect(() => verifyThresholdCheckpoint(note + [...lines][0]!, logVerifiers, other.group, ORIGIN)).toThrow(/no threshold signature/);
  });

  it("two partials are refused by the combiner, and what two colluders can interpolate is refused by clients", async () => {
    const note = checkpointAt(25);
    const partials = (await Promise.all([0, 1].map((i) => witness(i).addCheckpoint({ oldSize: 0, proof: [], note })))).flatMap((a) => parsePartials(group, a));
    expect(() => combineCheckpoint(group, textOf(note), partials)).toThrow(/2 valid partial signatures, the group needs 3 of 5/);
    // Attach the Lagrange combination of the two as if it were the group signature (same key name and ID).
    const three = combineCheckpoint(group, textOf(note), [...partials, parsePartials(group, await witness(2).addCheckpoint({ oldSize: 0, proof: [], note }))[0]!]).line;
    const keyIdAndSig = Buffer.from(three.trim().split(" ")[2]!, "base64");
    const fake = Buffer.concat([keyIdAndSig.subarray(0, 4), interpolate(partials)]);
    const forgedNote = `${note}— ${NAME} ${fake.toString("base64")}\n`;
    const client = new LightClient({ origin: ORIGIN, logVerifiers, fetchConsistency: async () => [], threshold: group });
    await expect(client.update(forgedNote)).rejects.toThrow(/does not verify under the group key/);
    expect(() => verifyThresholdCheckpoint(forgedNote, logVerifiers, group, ORIGIN)).toThrow(/does not verify under the group key/);
  });

  it("a forged partial is identified (position and share) and left out; with too few valid ones nothing is combined", async () => {
    const note = checkpointAt(30);
    // Witness 3 signs with share 3 of another group: a well-formed partial that fails share 3's public key.
    const answers = await Promise.all([0, 1, 2, 3].map((i) => (i === 2 ? witness(2, other.shares[2]) : witness(i)).addCheckpoint({ oldSize: 0, proof: [], note })));
    const partials = answers.flatMap((a) => parsePartials(group, a));
    const r = combineCheckpoint(group, textOf(note), partials);
    expect(r.forged).toEqual([2]);
    expect(r.signers).toEqual([1, 2, 4]);
    verifyThresholdCheckpoint(note + r.line, logVerifiers, group, ORIGIN);
    // A partial relabelled as another share, or with a bit flipped, is forged too.
    const relabelled = { ...partials[0]!, index: 5 };
    const flipped = { ...partials[1]!, signature: Uint8Array.from(partials[1]!.signature, (b, k) => (k === 47 ? b ^ 1 : b)) };
    let err: unknown;
    try {
      combineCheckpoint(group, textOf(note), [relabelled, flipped, partials[2]!, partials[3]!]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ThresholdCombineError);
    expect((err as ThresholdCombineError).forged).toEqual([0, 1, 2]);
    expect((err as Error).message).toMatch(/1 valid partial signatures, the group needs 3 of 5; the partial signatures of share 5, 2, 3 did not verify/);
    expect(() => checkShare(group, other.shares[0]!)).toThrow(/does not lie on the group's committed polynomial/);
  });
});

describe("threshold witnessing over HTTP: witness services and a log that combines", () => {
  const dir = mkdtempSync(join(tmpdir(), "threshold-witness-"));
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  });

  it("publishes only group-signed checkpoints, names the witness with a forged partial, and stops below t", async () => {
    // 2 of 3, so that one forger and one honest witness leave the log one valid partial short.
    const g = dkg(2, 3);
    const stranger = dealt(2, 3);
    writeFileSync(join(dir, "group.json"), JSON.stringify(groupJson({ t: 2, n: 3, commitments: g.group.commitments, shares: [] })));
    writeFileSync(join(dir, "stranger.json"), JSON.stringify(groupJson({ t: 2, n: 3, commitments: stranger.group.commitments, shares: [] })));
    g.shares.forEach((s) => writeFileSync(join(dir, `share-${s.index}.json`), JSON.stringify(shareJson(s))));
    writeFileSync(join(dir, "stranger-share-3.json"), JSON.stringify(shareJson(stranger.shares[2]!)));
    // A witness with a share that is not on the configured group is refused at start.
    await expect(
      startService(
        witnessService,
        {
          key: generateKey("bad.test/witness", ALG_COSIGNATURE_V1).signerKey,
          logs: [logKey.verifierKey],
          data: ":memory:",
          server: { port: 0 },
          threshold: { name: NAME, group: join(dir, "group.json"), share: join(dir, "stranger-share-3.json") },
        },
        { clock, processMetrics: false },
      ),
    ).rejects.toThrow(/threshold: share 3 does not lie on the group's committed polynomial/);

    const keys = [1, 2, 3].map((i) => generateKey(`w${i}.test/witness`, ALG_COSIGNATURE_V1));
    const services = await Promise.all(
      keys.map((k, i) =>
        startService(
          witnessService,
          {
            key: k.signerKey,
            logs: [logKey.verifierKey],
            data: ":memory:",
            server: { port: 0 },
            // Witness 3 is configured with another group's share 3: every partial it sends is forged for this group.
            threshold:
              i === 2
                ? { name: NAME, group: join(dir, "stranger.json"), share: join(dir, "stranger-share-3.json") }
                : { name: NAME, group: join(dir, "group.json"), share: join(dir, `share-${i + 1}.json`) },
          },
          { clock, processMetrics: false },
        ),
      ),
    );
    services.forEach((s) => closers.push(() => s.close()));
    const { newCosignatureVerifier } = await import("../../../../runtime/prooflog/witness/cosignature.js");
    const notices: string[] = [];
    const log = await startLogServer({
      origin: ORIGIN,
      signerKey: logKey.signerKey,
      dataDir: join(dir, "log"),
      port: 0,
      checkpointIntervalMs: 20,
      witnesses: services.map((s, i) => ({ url: s.url, verifier: newCosignatureVerifier(keys[i]!.verifierKey) })),
      witnessThreshold: { name: NAME, group: join(dir, "group.json") },
      notice: (l) => notices.push(l),
    });
    closers.push(() => log.app.close());
    const client = new LogClient(log.url);
    for (let i = 0; i < 10; i++) await client.add(Buffer.from(`entry ${i}`));
    const light = new LightClient({ origin: ORIGIN, logVerifiers, fetchConsistency: (a, b) => client.consistencyProof(a, b), threshold: g.group });
    let cp = null;
    for (let tries = 0; tries < 500 && (cp?.size ?? 0) < 10; tries++) {
      try {
        cp = await light.update(await client.checkpoint());
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    expect(cp?.size).toBe(10);
    // Every checkpoint the log serves carries the group signature (a client requiring it accepts each one).
    verifyThresholdCheckpoint(await client.checkpoint(), logVerifiers, g.group, ORIGIN);
    expect(() => verifyThresholdCheckpoint(light.note!, logVerifiers, stranger.group, ORIGIN)).toThrow(/no threshold signature/);

    // Witness 2 goes away: one valid partial (witness 1) and a forged one (witness 3) — nothing more is published.
    await services[1]!.close();
    for (let i = 10; i < 15; i++) await client.add(Buffer.from(`entry ${i}`));
    const below = () =>
      log.witnessFailures.find(
        (f) => f.url === "(threshold)" && / 1 valid partial signatures, the group needs 2 of 3; the partial signature of share 3 did not verify, so it is not published$/.test(f.error),
      );
    for (let tries = 0; tries < 500 && !below(); tries++) await new Promise((r) => setTimeout(r, 20));
    expect(below()).toBeDefined();
    // The forger is named: witness 3's URL, share 3 (also while the checkpoints were still published).
    expect(log.witnessFailures.some((f) => f.url === services[2]!.url && /witness \S+ sent a partial signature for share 3 that does not verify/.test(f.error))).toBe(true);
    expect(Number((await client.checkpoint()).split("\n")[1])).toBe(10);
  });
});
