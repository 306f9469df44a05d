// Read-your-writes on the proof log over HTTP (runtime/prooflog/tokens.ts): POST /add answers a consistency
// token (the log's HLC after the entry is durable, with its epoch, as escrow's), and GET /checkpoint with it
// is answered only by a checkpoint covering the entry — waiting for one, or 503 when none is signed in time.
// Tokens from an older epoch are 409 "hlc reset"; one from further ahead than max offset 409, unapplied.
import { afterEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { ClockNode } from "../../../runtime/clock/index.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { startLogServer } from "../../../runtime/prooflog/serve.js";
import { generateKey } from "../../../runtime/prooflog/note.js";
import { MemoryStore } from "../../../runtime/prooflog/storage/store.js";

const ORIGIN = "meridian.test/log-tokens";
const keys = generateKey(ORIGIN);
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function serve(o: { checkpointIntervalMs: number; tokenWaitMs?: number; hlc?: ClockNode }): Promise<string> {
  const s = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, store: new MemoryStore(), port: 0, ...o });
  app = s.app;
  return s.url;
}
const add = (url: string, body: string) => fetch(`${url}/add`, { method: "POST", body });
const sizeOf = (note: string) => Number(note.split("\n")[1]);

describe("proof log consistency tokens (HTTP)", () => {
  it("an append answers a token; a checkpoint read with it covers the entry (it waits for the next signing)", async () => {
    // No clock node given and no MERIDIAN_HLC_MAX_OFFSET_MS: the log still has an HLC to make tokens of.
    const url = await serve({ checkpointIntervalMs: 200 });
    let token = "";
    for (let i = 0; i < 5; i++) {
      const res = await add(url, `entry ${i}`);
      expect(res.status).toBe(200);
      token = res.headers.get("x-meridian-consistency")!;
      expect(token).toMatch(/^\d+\.\d+$/); // epoch 0: no suffix
    }
    const res = await fetch(`${url}/checkpoint`, { headers: { "x-meridian-consistency": token } });
    expect(res.status).toBe(200);
    expect(sizeOf(await res.text())).toBeGreaterThanOrEqual(5);
  });

  it("with no checkpoint signed in time: 503 'checkpoint behind token', while a read without a token gets the older one", async () => {
    const url = await serve({ checkpointIntervalMs: 3_600_000, tokenWaitMs: 50 });
    const first = await fetch(`${url}/checkpoint`);
    const before = await first.text();
    const earlier = first.headers.get("x-meridian-hlc")!; // an HLC reading from before the append
    const token = (await add(url, "one")).headers.get("x-meridian-consistency")!;
    const res = await fetch(`${url}/checkpoint`, { headers: { "x-meridian-consistency": token } });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: "checkpoint behind token", detail: expect.stringMatching(/at least 1 entries; the latest published covers 0/) });
    expect(await (await fetch(`${url}/checkpoint`)).text()).toBe(before);
    // A token from before the append needs nothing the published checkpoint lacks.
    const older = await fetch(`${url}/checkpoint`, { headers: { "x-meridian-consistency": earlier } });
    expect(older.status).toBe(200);
    expect(await older.text()).toBe(before);
  });

  it("a token from an older epoch is 409 'hlc reset'; one from beyond max offset 409, the clock unchanged", async () => {
    const node = new ClockNode({ clock: systemClock, maxOffsetMs: 250 });
    const atMicros = Date.now() * 1000;
    node.setEpoch({ epoch: 1, lastReset: { epoch: 1, atMicros, at: new Date(atMicros / 1000).toISOString(), reason: "test", fromWallMicros: atMicros + 5e6, toWallMicros: atMicros } });
    const url = await serve({ checkpointIntervalMs: 50, hlc: node });
    const token = (await add(url, "x")).headers.get("x-meridian-consistency")!;
    expect(token).toMatch(/^\d+\.\d+@1$/);
    expect((await fetch(`${url}/checkpoint`, { headers: { "x-meridian-consistency": token } })).status).toBe(200);
    const stale = await fetch(`${url}/checkpoint`, { headers: { "x-meridian-consistency": token.replace(/@1$/, "") } });
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({ error: "hlc reset", detail: expect.stringMatching(/epoch 0; this clock was reset to epoch 1/) });
    const future = `${(Date.now() + 60_000) * 1000}.0@1`;
    const before = node.hlc.peek();
    const ahead = await fetch(`${url}/checkpoint`, { headers: { "x-meridian-consistency": future } });
    expect(ahead.status).toBe(409);
    expect(await ahead.json()).toMatchObject({ error: "untrustworthy HLC timestamp" });
    expect(node.hlc.peek().wall).toBeLessThan(before.wall + 60_000_000);
    // The same refusal on an append: nothing is written.
    const write = await fetch(`${url}/add`, { method: "POST", body: "y", headers: { "x-meridian-consistency": future } });
    expect(write.status).toBe(409);
    expect(sizeOf(await (await fetch(`${url}/checkpoint`, { headers: { "x-meridian-consistency": token } })).text())).toBe(1);
  });
});
