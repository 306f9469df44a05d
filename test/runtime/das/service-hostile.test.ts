// The hostile-input suite against `meridian das serve` on the service kit: public reads of one encoded blob.
// No probe may change what is served (the commitment, and which shards are held).
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { dasService, encodeBlob, writeEncoded } from "../../../runtime/das/index.js";
import { startService } from "../../../runtime/kit/index.js";
import { hostileHttpSuite } from "../../hostile.js";

const dir = join(mkdtempSync(join(tmpdir(), "das-hostile-")), "blob");
let das: Awaited<ReturnType<typeof start>>;
const start = () => startService(dasService, { dir, server: { port: 0, timeouts: { headersMs: 500, requestMs: 1000 } } }, { processMetrics: false });

beforeAll(async () => {
  writeEncoded(dir, encodeBlob(new TextEncoder().encode("a blob that light clients sample"), 4, 8));
  das = await start();
});
afterAll(async () => {
  await das?.close();
});

hostileHttpSuite("meridian das serve", () => ({
  url: das.url,
  routes: [
    { method: "GET", path: "/v1/das/commitment" },
    { method: "GET", path: "/v1/das/shards/3" },
  ],
  state: async () => ({ commitment: await (await fetch(`${das.url}/v1/das/commitment`)).json(), files: readdirSync(dir).sort() }),
  slowlorisWaitMs: 4000,
}));
