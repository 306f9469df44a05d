// /readyz of `log serve` on the kit: ready only while the log is writable and a checkpoint is published. A store
// whose commit fails leaves the log refusing writes (503 on POST /add), and /readyz says so by name.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { generateKey } from "../../../runtime/prooflog/note.js";
import { startLogServer } from "../../../runtime/prooflog/serve.js";
import { MemoryStore } from "../../../runtime/prooflog/storage/store.js";
import type { Commit } from "../../../runtime/prooflog/storage/store.js";

/** A memory store whose disk "fills up" on demand. */
class FailingStore extends MemoryStore {
  full = false;
  override async commit(c: Commit): Promise<void> {
    if (this.full) throw new Error("ENOSPC: no space left on device");
    return super.commit(c);
  }
}

const ORIGIN = "meridian.test/log-ready";
const store = new FailingStore();
let app: FastifyInstance;
let url = "";
beforeAll(async () => {
  ({ app, url } = await startLogServer({ origin: ORIGIN, signerKey: generateKey(ORIGIN).signerKey, store, port: 0, checkpointIntervalMs: 3_600_000, notice: () => undefined }));
});
afterAll(() => app?.close());

describe("log serve readiness", () => {
  it("is ready with a writable log and a published checkpoint; not ready, naming why, once storage failed", async () => {
    const readyz = async () => {
      const r = await fetch(`${url}/readyz`);
      return { status: r.status, body: (await r.json()) as { ready: boolean; checks: Record<string, string> } };
    };
    expect(await readyz()).toMatchObject({ status: 200, body: { ready: true, checks: { writable: "ok", checkpoint: "ok" } } });
    const add = (body: string) => fetch(`${url}/add`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body });
    expect(await (await add("before")).json()).toEqual({ index: 0 });
    store.full = true;
    const refused = await add("after");
    expect(refused.status).toBe(503);
    expect(Object.keys((await refused.json()) as object).sort()).toEqual(["detail", "error"]);
    const r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body.ready).toBe(false);
    expect(r.body.checks["writable"]).toMatch(/^storage failed: .*ENOSPC/);
    expect(r.body.checks["checkpoint"]).toBe("ok");
  });
});

describe("log serve shutdown", () => {
  it("signs a final checkpoint covering every acknowledged entry when it closes (no witnesses)", async () => {
    const origin = "meridian.test/log-close";
    const keys = generateKey(origin);
    const kept = new MemoryStore();
    const opts = { origin, signerKey: keys.signerKey, store: kept, port: 0, checkpointIntervalMs: 3_600_000, notice: () => undefined };
    const first = await startLogServer(opts);
    for (const e of ["a", "b", "c"]) await fetch(`${first.url}/add`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: e });
    expect((await (await fetch(`${first.url}/checkpoint`)).text()).split("\n")[1]).toBe("0"); // the interval has not come round
    await first.app.close();
    // What the store holds as published, read as the next start would (before it signs anything itself).
    expect((await kept.open()).checkpoint?.split("\n")[1]).toBe("3");
  });
});
