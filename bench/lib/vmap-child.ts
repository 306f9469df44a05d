/**
 * Child processes for bench/vmap.ts, so each server is measured in its own process:
 *   bare                a fastify server doing no work: POST /v1/maps/:map/writes and GET /v1/maps/:map/keys/:key
 *                       answer a fixed small JSON body, as the map's routes would
 *   map <dir> <n>       the proof log (file store) and `map serve` (file store) on <dir>, map `bench` preloaded with
 *                       <n> keys (batches of 200: a log entry stays under the log's body limit); writes need the operator token it prints
 * Servers print one line {"url", "token"?} when ready.
 */
import Fastify from "fastify";
import { join } from "node:path";
import { systemClock } from "../../runtime/common/clock.js";
import { localOperatorAuth, startService } from "../../runtime/kit/index.js";
import { generateKey } from "../../runtime/prooflog/index.js";
import { startLogServer } from "../../runtime/prooflog/services.js";
import { MapClient } from "../../runtime/vmap/index.js";
import { mapService } from "../../runtime/vmap/services.js";

const [mode, dir, n] = process.argv.slice(2) as [string, string, string];
if (mode === "bare") {
  const app = Fastify({ logger: false });
  app.post("/v1/maps/:map/writes", async () => ({ map: "bench", revision: 1, root: "", logIndex: 0 }));
  app.get("/v1/maps/:map/keys/:key", async () => ({ key: "", value: null, revision: 1, root: "", proof: [] }));
  console.log(JSON.stringify({ url: await app.listen({ port: 0, host: "127.0.0.1" }) }));
} else if (mode === "map") {
  const keys = generateKey("bench.example/vmap");
  const log = await startLogServer({ origin: "bench.example/vmap", signerKey: keys.signerKey, dataDir: join(dir, "log"), port: 0, checkpointIntervalMs: 1000, notice: () => undefined });
  const operator = await localOperatorAuth(systemClock);
  const svc = await startService(
    mapService,
    // As the bare server: no keep-alive rotation (bench/lib/prooflog-child.ts says why: autocannon keeps sending on a
    // socket the kit closes after 1,000 requests, and counts Node's 503s there).
    {
      maps: ["bench"],
      log: log.url,
      store: { dir: join(dir, "map") },
      server: { port: 0, host: "127.0.0.1", auth: operator.auth, log: { level: "warn" }, limits: { requestsPerSocket: 0 } },
    },
    { clock: systemClock, processMetrics: false },
  );
  const token = await operator.token({ ttlSeconds: 3600 });
  const client = new MapClient(svc.url, { headers: { authorization: `Bearer ${token}` } });
  for (let i = 0; i < Number(n); i += 200)
    await client.write(
      "bench",
      Array.from({ length: Math.min(200, Number(n) - i) }, (_, j) => [`k${i + j}`, Buffer.from(`value ${i + j}`)] as [string, Buffer]),
    );
  console.log(JSON.stringify({ url: svc.url, token }));
  process.on(
    "SIGTERM",
    () =>
      void svc
        .close()
        .then(() => log.app.close())
        .then(() => process.exit(0)),
  );
} else {
  console.error("usage: vmap-child bare | map <dir> <keys>");
  process.exit(2);
}
