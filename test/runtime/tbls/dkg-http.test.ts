/**
 * The DKG over HTTP (dkg-http.ts) with five participants on the kit in one process, each on its own port: a dealer
 * that answers a complaint with a bad share (the test hook `dishonestReveal`) is disqualified by all four others,
 * who agree on the key and whose shares sign under it. test/cli/tbls-dkg.test.ts runs five `meridian tbls dkg`
 * processes (the corrected-complaint case) on the same code.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { afterAll, describe, expect, it } from "vitest";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { awaitPeers, combine, DkgParticipant, dkgService, partialSign, runDkg } from "../../../runtime/tbls/index.js";

const running: RunningService[] = [];
afterAll(async () => {
  await Promise.all(running.map((r) => r.close()));
});
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("Pedersen DKG over HTTP, five participants in-process", () => {
  it("a dealer that answers the complaint with a bad share is disqualified by everyone; the other four make the key", async () => {
    const t = 3;
    const n = 5;
    const services = await Promise.all(
      Array.from({ length: n }, (_, k) =>
        startService(dkgService, { index: k + 1, t, n, ...(k + 1 === 2 ? { dishonestShareTo: 4, dishonestReveal: true } : {}), server: { port: 0 } }, { processMetrics: false }),
      ),
    );
    running.push(...services);
    const participants = services.map((s) => (s.parts as { participant: DkgParticipant }).participant);
    const logs: string[][] = participants.map(() => []);
    const opts = (k: number) => ({ peers: services.map((s) => s.url), phaseMs: 60_000, log: (line: string) => logs[k]!.push(line) });
    const results = await Promise.all(participants.map((p, k) => runDkg(p, opts(k))));
    expect(await Promise.all(participants.map((p, k) => awaitPeers(p, opts(k))))).toEqual(participants.map(() => []));

    const key = hex(results[0]!.groupPublicKey);
    for (const r of results) {
      expect([hex(r.groupPublicKey), r.qual]).toEqual([key, [1, 3, 4, 5]]);
      expect(r.disqualified).toEqual([{ dealer: 2, reason: "revealed a share for participant 4 that fails its commitments" }]);
    }
    expect(logs[3]).toContain("complaining against 2");
    const message = new TextEncoder().encode("example.com/log\n42\n");
    const sig = combine(
      t,
      [1, 3, 4].map((i) => partialSign(message, results[i - 1]!.share)),
    );
    const bls = bls12_381.shortSignatures;
    expect(bls.verify(sig, bls.hash(message), results[0]!.groupPublicKey)).toBe(true);
  });
});
