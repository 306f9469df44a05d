// Escrow publishing its balances to the verifiable map (map `escrow`), beside quota's map on the same service, each
// writable only by its own writer (here JWT scopes, as `meridian local` runs it). After sales, a region's balance
// read from the map is proven (inclusion) against a root the real proof log holds in a signed checkpoint; with the
// map unreachable, sales still go through and only /metrics (and the log) say the map is behind. Beside the balances,
// the escrow's state-transition log is anchored (`.transitions/…`, transport/transitions-anchor.ts): a prefix of the log it serves.
import { mkdtempSync, writeFileSync } from "node:fs";
import { until } from "../../until.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { escrowMapKey } from "../../../runtime/escrow/map-publisher.js";
import { defineEscrowService } from "../../../runtime/escrow/serve.js";
import { localOperatorAuth, startService, type RunningService } from "../../../runtime/kit/index.js";
import { generateKey, leafHash, LogClient, MerkleTree, newVerifier, openCheckpoint, verifyInclusion } from "../../../runtime/prooflog/index.js";
import { startLogServer, type TransparencyLog } from "../../../runtime/prooflog/services.js";
import { decodeMapEntry, MapClient } from "../../../runtime/vmap/index.js";
import { mapService } from "../../../runtime/vmap/services.js";
import { testConfig } from "./fixture.js";

const ORIGIN = "meridian.test/escrow-map";
const keys = generateKey(ORIGIN);
const dir = mkdtempSync(join(tmpdir(), "escrow-map-"));
let logServer: { app: { close(): Promise<void> }; url: string; log: TransparencyLog };
let map: RunningService;
let auth: Awaited<ReturnType<typeof localOperatorAuth>>;
const running: RunningService[] = [];

async function startEscrow(mapUrl: string, tokenFile?: string) {
  const config = await testConfig(["eu", "us"], {
    skus: [{ sku: "tix", total: 100, globalReserve: 0, allocation: { eu: 60, us: 40 }, refill: { batchSize: 10, reorderPoints: { eu: 5, us: 5 } } }],
  });
  const raw = JSON.parse(JSON.stringify({ ...config, map: mapUrl, mapTimeoutMs: 300, ...(tokenFile ? { mapTokenFile: tokenFile } : {}), server: { port: 0 } })) as Record<string, unknown>;
  const svc = await startService(defineEscrowService(), raw, { clock: systemClock, processMetrics: false });
  running.push(svc);
  return svc;
}

/** Reserve and commit `qty` units for a new buyer in `region`. */
let buyers = 0;
async function sell(svc: RunningService, region: string, qty: number) {
  const service = (svc.parts as { service: import("../../../runtime/escrow/service.js").EscrowService }).service;
  const user = `buyer-${++buyers}`;
  const r = (await service.sale("tix", region))!.escrow.tryReserve(user, qty)!;
  return service.commit(r.id, { user, tier: "standard", weight: 1, admin: false });
}

beforeAll(async () => {
  auth = await localOperatorAuth(systemClock);
  logServer = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, dataDir: join(dir, "log"), port: 0, checkpointIntervalMs: 20, notice: () => undefined });
  map = await startService(
    mapService,
    {
      maps: ["quota", "escrow"],
      log: logServer.url,
      writers: { quota: { scope: "meridian.quota.map" }, escrow: { scope: "meridian.escrow.map" } },
      server: { port: 0, auth: auth.auth },
    },
    { clock: systemClock, processMetrics: false },
  );
});
afterAll(async () => {
  for (const s of running) await s.close().catch(() => undefined);
  await map?.close();
  await logServer?.app.close();
});

describe("escrow balances in the verifiable map", () => {
  it("after sales, a region's balance read from the map verifies against a root in a signed log checkpoint", { timeout: 60_000 }, async () => {
    const tokenFile = join(dir, "escrow-map.token");
    writeFileSync(tokenFile, await auth.token({ scope: "meridian.escrow.map" }));
    const escrow = await startEscrow(map.url, tokenFile);
    expect(await sell(escrow, "eu", 3)).toMatchObject({ status: "sold", qty: 3 });
    expect(await sell(escrow, "us", 2)).toMatchObject({ status: "sold", qty: 2 });
    expect(await sell(escrow, "eu", 1)).toMatchObject({ status: "sold", qty: 1 });

    const reader = new MapClient(map.url);
    const balance = async (region: string, trustedRoot?: string) => {
      const r = await reader.read("escrow", escrowMapKey(region, "tix"), trustedRoot);
      return r.value === null ? null : (JSON.parse(r.value.toString("utf8")) as { region: string; sku: string; held: number; sold: number; total: number });
    };
    const eu = await until("eu's balance after 6 sold", async () => {
      const v = await balance("eu");
      return v?.sold === 6 ? v : undefined;
    });
    expect(eu).toMatchObject({ v: "meridian-escrow/1", region: "eu", sku: "tix", total: 100, sold: 6 });
    const service = (escrow.parts as { service: import("../../../runtime/escrow/service.js").EscrowService }).service;
    expect(eu.held).toBe((await service.sale("tix", "eu"))!.escrow.ledger.held);
    await until("us's balance", async () => ((await balance("us"))?.sold === 6 ? true : undefined));

    // The map's current root is the root of a batch entry in the log, included in a checkpoint the log signed.
    const head = await reader.root("escrow");
    const log = new LogClient(logServer.url);
    const cp = await until("a checkpoint covering the map's batch", async () => {
      const c = openCheckpoint(await log.checkpoint(), [newVerifier(keys.verifierKey)], ORIGIN).checkpoint;
      return c.size > head.logIndex! ? c : undefined;
    });
    const entry = await log.entry(head.logIndex!, cp.size);
    verifyInclusion(head.logIndex!, cp.size, leafHash(entry), await log.inclusionProof(head.logIndex!, cp.size), cp.root);
    const logged = decodeMapEntry(entry)!;
    expect([logged.map, logged.revision]).toEqual(["escrow", head.revision]);
    const loggedRoot = Buffer.from(logged.root).toString("base64");
    // Proven against the logged root: eu's balance (inclusion) and a region escrow does not serve (exclusion).
    expect((await balance("eu", loggedRoot))!.sold).toBe(6);
    expect(await balance("ap", loggedRoot)).toBeNull();
    // The state-transition log is anchored in the same map, under this process's own `.transitions/` key (proven
    // complete by the range read): it names the log's key and a size and root that are exactly a prefix of the log the
    // escrow serves now, so the escrow cannot later serve another history for it.
    const served = (await (await fetch(`${escrow.url}/v1/transitions/checkpoint`)).json()) as { origin: string; vkey: string; size: number };
    const anchor = await until("the transition log's anchor", async () => {
      const all = (await reader.readPrefix("escrow", ".transitions/")).entries.map(
        ([, v]) => JSON.parse(v.toString("utf8")) as { v: string; origin: string; vkey: string; size: number; root: string },
      );
      return all.find((a) => a.origin === served.origin && a.size > 0);
    });
    expect(anchor).toMatchObject({ v: "meridian-escrow-transitions/2", origin: served.origin, vkey: served.vkey, epoch: 0 });
    expect(anchor.size).toBeLessThanOrEqual(served.size);
    const prefix = new MerkleTree();
    for (const e of ((await (await fetch(`${escrow.url}/v1/transitions?limit=${anchor.size}`)).json()) as { entries: string[] }).entries) prefix.appendEntry(Buffer.from(e, "utf8"));
    expect(Buffer.from(prefix.root()).toString("hex")).toBe(anchor.root);
    // Escrow's token cannot write quota's map.
    const forged = new MapClient(map.url, { headers: { authorization: `Bearer ${await auth.token({ scope: "meridian.escrow.map" })}` } });
    await expect(forged.write("quota", [["acme", Buffer.from("{}")]])).rejects.toThrow(/HTTP 403.*may not write map quota/s);
  });

  it("with the map unreachable, sales go through and only /metrics says the map is behind", { timeout: 60_000 }, async () => {
    const escrow = await startEscrow("http://127.0.0.1:9/");
    expect(await sell(escrow, "eu", 2)).toMatchObject({ status: "sold", qty: 2 });
    const metrics = async () => (await fetch(`${escrow.url}/metrics`)).text();
    await until("a failed publish on /metrics", async () => (/meridian_escrow_map_failures_total\S* [1-9]/.test(await metrics()) ? true : undefined));
    expect(await metrics()).toMatch(/meridian_escrow_map_behind\S* 1/);
    expect(await sell(escrow, "eu", 1)).toMatchObject({ status: "sold", qty: 1 });
  });
});
