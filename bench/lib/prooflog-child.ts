/**
 * Child processes for bench/prooflog.ts, so servers and restarts are measured in their own process:
 *   bare <port-file>          a fastify server doing no work: POST /add answers {"index":0}
 *   log <dir>                 `log serve` on the file store in <dir> (durable appends)
 *   restart <dir>             open the log in <dir>, print {"ms" (serving), "readyMs" (duplicate detection answers),
 *                             "filterMs" (its membership filter rebuilt), "rssMiB", "size"} and exit
 * Servers print one line {"url"} when listening.
 */
import Fastify from "fastify";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TransparencyLog } from "../../runtime/prooflog/log.js";
import { newSigner } from "../../runtime/prooflog/note.js";
import { startLogServer } from "../../runtime/prooflog/serve.js";
import { FileStore } from "../../runtime/prooflog/storage/file.js";

const [mode, dir] = process.argv.slice(2) as [string, string];
if (mode === "bare") {
  const app = Fastify({ logger: false, bodyLimit: 65_535 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  app.post("/add", async () => ({ index: 0 }));
  console.log(JSON.stringify({ url: await app.listen({ port: 0, host: "127.0.0.1" }) }));
} else if (mode === "log") {
  const { app, url } = await startLogServer({
    origin: "bench.example/log",
    signerKey: readFileSync(join(dir, "log.key"), "utf8").trim(),
    dataDir: join(dir, "data"),
    port: 0,
    checkpointIntervalMs: 1000,
    // As the bare server: no keep-alive rotation. The kit's default closes a connection after 1,000 requests
    // (Connection: close), which autocannon does not honour — it kept sending on those sockets and counted the
    // 503s Node answers there; real clients (undici, Envoy) reconnect.
    server: { limits: { requestsPerSocket: 0 } },
  });
  console.log(JSON.stringify({ url }));
  process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));
} else if (mode === "restart") {
  const before = process.memoryUsage().rss;
  const t = performance.now();
  const log = await TransparencyLog.open({ origin: "bench.example/log", signer: newSigner(readFileSync(join(dir, "log.key"), "utf8").trim()), store: new FileStore(join(dir, "data")) });
  const ms = performance.now() - t;
  await log.find(new Uint8Array(32)); // duplicate detection answers from the store's index at once
  const readyMs = performance.now() - t;
  await log.dedupeReady(); // its membership filter: loaded from state/filter, then the tiles past it (a full rebuild without one)
  const filterMs = performance.now() - t;
  const rssMiB = (process.memoryUsage().rss - before) / 2 ** 20;
  console.log(JSON.stringify({ ms, readyMs, filterMs, rssMiB, size: log.size }));
  await log.close();
} else {
  console.error("usage: prooflog-child bare | log <dir> | restart <dir>");
  process.exit(2);
}
