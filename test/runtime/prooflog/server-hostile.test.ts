// The shared hostile-input suite (test/hostile.ts) against the proof log as `meridian log serve` runs it (the kit's
// app, file store): malformed, oversized, slow and truncated requests, many connections — each refused clearly, no
// entry appended, no checkpoint re-signed, and the log still serving.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll } from "vitest";
import type { TransparencyLog } from "../../../runtime/prooflog/log.js";
import { generateKey } from "../../../runtime/prooflog/note.js";
import { startLogServer } from "../../../runtime/prooflog/serve.js";
import { hostileHttpSuite } from "../../hostile.js";

const ORIGIN = "meridian.test/log-hostile";
let app: FastifyInstance;
let log: TransparencyLog;
let url = "";

beforeAll(async () => {
  ({ app, log, url } = await startLogServer({
    origin: ORIGIN,
    signerKey: generateKey(ORIGIN).signerKey,
    dataDir: mkdtempSync(join(tmpdir(), "log-hostile-")),
    port: 0,
    checkpointIntervalMs: 20,
    maxEntrySize: 1000,
    server: { timeouts: { headersMs: 500, requestMs: 1000 } },
    notice: () => undefined,
  }));
  for (let i = 0; i < 300; i++) await log.add(Buffer.from(`entry ${i}`));
  await log.publishCheckpoint();
});
afterAll(() => app?.close());

hostileHttpSuite("meridian log serve", () => ({
  url,
  routes: [
    { method: "POST", path: "/add" },
    { method: "GET", path: "/checkpoint" },
    { method: "GET", path: "/tile/0/000" },
    { method: "GET", path: "/tile/entries/001.p/44" },
  ],
  state: async () => ({ size: log.size, checkpoint: log.checkpoint().note }),
  slowlorisWaitMs: 4000,
}));
