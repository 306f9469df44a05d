/**
 * `meridian fraud serve` in process (runtime/fraud/service.ts): checkpoints asserted with the sequencer's signature
 * are open for the challenge window and final after it; a valid fraud proof rejects its checkpoint for good, a forged
 * one is refused (422) and leaves it open, a checkpoint never asserted is 404, a proof after the window 409. A restart
 * on the same data keeps every window and verdict. Hostile input (the kit's suite) changes nothing.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { findFraud, Sequencer, type Tx } from "../../../runtime/fraud/index.js";
import { courtService } from "../../../runtime/fraud/service.js";
import { startService } from "../../../runtime/kit/index.js";
import { generateKey, newSigner } from "../../../runtime/prooflog/index.js";
import { hostileHttpSuite } from "../../hostile.js";

const ORIGIN = "meridian.test/court";
const key = generateKey(ORIGIN);
const stranger = generateKey(ORIGIN);
const TXS: Tx[] = [
  { op: "mint", to: "eu-west", amount: 100 },
  { op: "mint", to: "us-east", amount: 50 },
  { op: "transfer", from: "eu-west", to: "us-east", amount: 30 },
];
const run = (signer = key.signerKey, lieAt = -1) => {
  const s = new Sequencer(ORIGIN, newSigner(signer));
  TXS.forEach((tx, i) => s.submit(tx, i === lieAt ? new Uint8Array(32).fill(7) : undefined));
  return s;
};
const honest = run();
const bad = run(key.signerKey, 2);
const late = run(key.signerKey, 1);

const WINDOW = 1000;
const clock = new ManualClock(1_000_000);
const data = mkdtempSync(join(tmpdir(), "fraud-court-"));
const start = () => startService(courtService, { vkey: key.verifierKey, windowMs: WINDOW, data, server: { port: 0, timeouts: { headersMs: 500, requestMs: 1000 } } }, { clock, processMetrics: false });
let svc: Awaited<ReturnType<typeof start>>;
beforeAll(async () => {
  svc = await start();
});
afterAll(async () => {
  await svc?.close();
});
const post = async (path: string, body: unknown, url = svc.url) => {
  const r = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};
const get = async (path: string, url = svc.url) => (await (await fetch(`${url}${path}`)).json()) as Record<string, unknown>;

const ids: Record<string, string> = {};

describe("meridian fraud serve", () => {
  it("asserts signed checkpoints (open for the window); refuses another key's", async () => {
    for (const [name, s] of Object.entries({ honest, bad, late })) {
      const r = await post("/v1/fraud/claims", { checkpoint: s.checkpoint() });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ origin: ORIGIN, size: 3, status: "open", closesAt: 1_000_000 + WINDOW });
      ids[name] = r.body["id"] as string;
    }
    expect((await post("/v1/fraud/claims", { checkpoint: honest.checkpoint() })).status).toBe(200);
    const forged = await post("/v1/fraud/claims", { checkpoint: run(stranger.signerKey).checkpoint() });
    expect(forged.status).toBe(400);
    expect(forged.body["detail"]).toMatch(/signature|verif/i);
  });

  it("a fraud proof rejects its checkpoint for good; a forged one is refused and leaves it open", async () => {
    const proof = findFraud(bad.checkpoint(), bad.entries, key.verifierKey, ORIGIN)!;
    const r = await post("/v1/fraud/proofs", proof);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: ids["bad"], status: "rejected", fraud: { index: 2, reason: expect.stringMatching(/post root/) } });
    expect((await post("/v1/fraud/proofs", proof)).status).toBe(409); // already decided

    // The same proof pointed at the honest log's entry 2 (same pre state, same inclusion path): the transition re-executes to its logged root.
    const lying = { ...proof, checkpoint: honest.checkpoint(), challenged: { ...proof.challenged, entry: Buffer.from(honest.entries[2]!).toString("base64") } };
    const refused = await post("/v1/fraud/proofs", lying);
    expect(refused.status).toBe(422);
    expect(refused.body["detail"]).toMatch(/entry 2 is a valid transition/);
    expect(await get(`/v1/fraud/claims/${ids["honest"]}`)).toMatchObject({ status: "open" });
    // A checkpoint never asserted here.
    const unasserted = new Sequencer(ORIGIN, newSigner(key.signerKey));
    unasserted.submit({ op: "mint", to: "x", amount: 1 }, new Uint8Array(32).fill(9));
    expect((await post("/v1/fraud/proofs", findFraud(unasserted.checkpoint(), unasserted.entries, key.verifierKey, ORIGIN)!)).status).toBe(404);
  });

  it("after the window: unchallenged claims are final and a proof is too late", async () => {
    clock.advance(WINDOW);
    expect(await get(`/v1/fraud/claims/${ids["honest"]}`)).toMatchObject({ status: "final" });
    const tooLate = await post("/v1/fraud/proofs", findFraud(late.checkpoint(), late.entries, key.verifierKey, ORIGIN)!);
    expect(tooLate.status).toBe(409);
    expect(tooLate.body["detail"]).toMatch(/window closed/);
  });

  it("a restart on the same data keeps each claim's window and verdict", async () => {
    const again = await start();
    try {
      expect(await get(`/v1/fraud/claims/${ids["honest"]}`, again.url)).toMatchObject({ status: "final" });
      expect(await get(`/v1/fraud/claims/${ids["bad"]}`, again.url)).toMatchObject({ status: "rejected", fraud: { index: 2 } });
      expect(await get(`/v1/fraud/claims/${ids["late"]}`, again.url)).toMatchObject({ status: "final" });
    } finally {
      await again.close();
    }
  });
});

hostileHttpSuite("meridian fraud serve", () => ({
  url: svc.url,
  routes: [
    { method: "GET", path: `/v1/fraud/claims/${"0".repeat(64)}` },
    { method: "POST", path: "/v1/fraud/claims", json: true },
    { method: "POST", path: "/v1/fraud/proofs", json: true },
  ],
  state: async () => Promise.all(Object.values(ids).map((id) => get(`/v1/fraud/claims/${id}`))),
  slowlorisWaitMs: 4000,
}));
