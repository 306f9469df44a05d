/**
 * A map that answers a write 200 without applying it (garbage, or a lie: a root that holds none of the batch) must
 * not leave the escrow believing its balances are published: such a batch counts as a failed publish on /metrics
 * (`meridian_escrow_map_behind` stays 1) and is retried, so once the map answers honestly it holds the real balance.
 * Sales go through all along, promptly also while the map hangs on writes (that attack held: the same as an outage).
 * The map here is the real one (with its proof log) behind a proxy that lies on, or hangs, writes.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { until } from "../../until.js";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { escrowMapKey } from "../../../runtime/escrow/map-publisher.js";
import { defineEscrowService } from "../../../runtime/escrow/serve.js";
import type { EscrowService } from "../../../runtime/escrow/service.js";
import { localOperatorAuth, startService, type RunningService } from "../../../runtime/kit/index.js";
import { generateKey } from "../../../runtime/prooflog/index.js";
import { startLogServer } from "../../../runtime/prooflog/services.js";
import { MapClient } from "../../../runtime/vmap/index.js";
import { mapService } from "../../../runtime/vmap/services.js";
import { testConfig } from "./fixture.js";

const ORIGIN = "meridian.test/escrow-map-lying";
const keys = generateKey(ORIGIN);
const dir = mkdtempSync(join(tmpdir(), "escrow-map-lying-"));
let logServer: { app: { close(): Promise<void> }; url: string };
let map: RunningService;
let proxy: Server;
let proxyUrl: string;
let lie: "garbage" | "root" | "hung" | false = "garbage";
const running: RunningService[] = [];

beforeAll(async () => {
  const auth = await localOperatorAuth(systemClock);
  logServer = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, dataDir: join(dir, "log"), port: 0, checkpointIntervalMs: 20, notice: () => undefined });
  map = await startService(
    mapService,
    { maps: ["escrow"], log: logServer.url, writers: { escrow: { scope: "meridian.escrow.map" } }, server: { port: 0, auth: auth.auth } },
    { clock: systemClock, processMetrics: false },
  );
  writeFileSync(join(dir, "token"), await auth.token({ scope: "meridian.escrow.map" }));
  const target = new URL(map.url);
  proxy = createServer((req, res) => {
    if (lie && req.method === "POST" && /\/writes$/.test(req.url ?? "")) {
      req.resume();
      if (lie === "hung") return; // never answered: the escrow's client gives up after mapTimeoutMs (3 s)
      res.setHeader("content-type", "application/json");
      // Not applied: garbage, or a well-formed answer whose root holds none of the batch.
      return res.end(lie === "garbage" ? "{}" : JSON.stringify({ revision: 7, root: Buffer.alloc(32, 7).toString("base64"), logIndex: 3, keys: [], values: [], proof: [] }));
    }
    const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of running) await s.close().catch(() => undefined);
  proxy?.closeAllConnections();
  await new Promise((r) => proxy?.close(r));
  await map?.close();
  await logServer?.app.close();
});

describe("escrow balances to a map that acknowledges writes it did not apply", () => {
  for (const kind of ["garbage", "root", "hung"] as const)
    it(`(${kind}) counts them as failed, keeps retrying, and the map ends with the real balance`, { timeout: 60_000 }, async () => {
      lie = kind;
      const config = await testConfig(["eu"], { skus: [{ sku: `tix-${kind}`, total: 50, globalReserve: 0, allocation: { eu: 50 }, refill: { batchSize: 10, reorderPoints: { eu: 5 } } }] });
      const raw = JSON.parse(JSON.stringify({ ...config, map: proxyUrl, mapTimeoutMs: kind === "hung" ? 3000 : 300, mapTokenFile: join(dir, "token"), server: { port: 0 } })) as Record<
        string,
        unknown
      >;
      const escrow = await startService(defineEscrowService(), raw, { clock: systemClock, processMetrics: false });
      running.push(escrow);
      const service = (escrow.parts as { service: EscrowService }).service;
      const r = (await service.sale(`tix-${kind}`, "eu"))!.escrow.tryReserve("buyer", 3)!;
      expect(await service.commit(r.id, { user: "buyer", tier: "standard", weight: 1, admin: false })).toMatchObject({ status: "sold", qty: 3 });
      // A sale while the publisher's write is failing or hung: answered without waiting for the map.
      await new Promise((res) => setTimeout(res, 100));
      const t0 = performance.now();
      const r2 = (await service.sale(`tix-${kind}`, "eu"))!.escrow.tryReserve("buyer2", 1)!;
      expect(await service.commit(r2.id, { user: "buyer2", tier: "standard", weight: 1, admin: false })).toMatchObject({ status: "sold", qty: 1 });
      expect(performance.now() - t0).toBeLessThan(1000); // a write hangs 3 s before the client gives up

      const metrics = async () => (await fetch(`${escrow.url}/metrics`)).text();
      await until("a failed publish on /metrics", async () => (/meridian_escrow_map_failures_total\S* [1-9]/.test(await metrics()) ? true : undefined));
      expect(await metrics()).toMatch(/meridian_escrow_map_behind\S* 1/);
      const reader = new MapClient(map.url);
      expect((await reader.read("escrow", escrowMapKey("eu", `tix-${kind}`))).value).toBeNull();

      lie = false;
      const sold = await until("the real balance in the map", async () => {
        const v = (await reader.read("escrow", escrowMapKey("eu", `tix-${kind}`))).value;
        const sold = v ? (JSON.parse(v.toString("utf8")) as { sold: number }).sold : undefined;
        return sold === 4 ? sold : undefined;
      });
      expect(sold).toBe(4);
      await until("the map caught up on /metrics", async () => (/meridian_escrow_map_behind\S* 0/.test(await metrics()) ? true : undefined));
    });
});
