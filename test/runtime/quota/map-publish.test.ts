// The quota service publishing its state to the verifiable map, as deployed: the map writable only by the quota
// service's SPIFFE ID, which reaches it the way Istio's sidecar reports it (XFCC appended by a stand-in sidecar here),
// every batch's root recorded in a real proof log, real PostgreSQL under quota. A tenant's usage read from the map is
// proven (inclusion) against a root the log holds in a signed checkpoint; with the map refusing, down or hung, quota
// still answers every decision, says so on /metrics, and the map catches up afterwards; a restart republishes nothing.
import http from "node:http";
import { until } from "../../until.js";
import type { AddressInfo } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runtimeService, spiffeId } from "../../../model/services.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { generateKey, leafHash, LogClient, newVerifier, openCheckpoint, verifyInclusion } from "../../../runtime/prooflog/index.js";
import { startLogServer, type TransparencyLog } from "../../../runtime/prooflog/services.js";
import { quotaMapKey, type QuotaMapPublisher } from "../../../runtime/quota/map-publisher.js";
import { quotaService } from "../../../runtime/quota/service.js";
import { decodeMapEntry, MapClient } from "../../../runtime/vmap/index.js";
import { mapService } from "../../../runtime/vmap/services.js";
import { dropSchema, ensureQuotaDb, issuer, PG_URL, TREE, uniqueSchema } from "./fixture.js";

const TD = "meridian.test";
const MAP_ID = spiffeId(TD, runtimeService("map"));
const QUOTA_ID = spiffeId(TD, runtimeService("quota"));
const ORIGIN = "meridian.test/quota-map";
const keys = generateKey(ORIGIN);

let logServer: { app: { close(): Promise<void> }; url: string; log: TransparencyLog };
let map: RunningService;
let id: Awaited<ReturnType<typeof issuer>>;
const schemas: string[] = [];
const running: RunningService[] = [];

/** The map pod's sidecar: forwards to the map with the verified peer (quota) in XFCC; or refuses, or hangs. */
const sidecar = { mode: "up" as "up" | "down" | "hang", url: "", server: null as http.Server | null, hung: [] as http.ServerResponse[] };
function startSidecar(): Promise<void> {
  const server = http.createServer((req, res) => {
    if (sidecar.mode === "down") return void req.socket.destroy();
    if (sidecar.mode === "hang") return void sidecar.hung.push(res);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = { "x-forwarded-client-cert": `By=${MAP_ID};URI=${QUOTA_ID}` };
      if (req.headers["content-type"]) headers["content-type"] = req.headers["content-type"];
      const r = await fetch(`${map.url}${req.url}`, { method: req.method, headers, body: body.length > 0 ? body : undefined });
      res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/json" });
      res.end(Buffer.from(await r.arrayBuffer()));
    });
  });
  sidecar.server = server;
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      sidecar.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

async function startQuota(schema: string, withMap = true) {
  const svc = await startService(
    quotaService,
    { ...TREE, postgres: PG_URL, schema, log: logServer.url, ...(withMap ? { map: sidecar.url, mapTimeoutMs: 300 } : {}), server: { port: 0, auth: id.auth } },
    { clock: systemClock, processMetrics: false },
  );
  running.push(svc);
  return svc;
}

const post = async (svc: RunningService, path: string, who: string, body: unknown) => {
  const res = await fetch(`${svc.url}${path}`, { method: "POST", headers: { ...(await id.as(who)), "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { usage?: Record<string, number> } };
};

const reader = () => new MapClient(map.url);
const valueOf = async (node: string, trustedRoot?: string) => {
  const r = await reader().read("quota", quotaMapKey(node), trustedRoot);
  return r.value === null ? null : (JSON.parse(r.value.toString("utf8")) as { node: string; usage: Record<string, number>; hard: Record<string, number>; closed: boolean });
};

beforeAll(async () => {
  await ensureQuotaDb();
  id = await issuer();
  logServer = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, dataDir: mkdtempSync(join(tmpdir(), "quota-map-log-")), port: 0, checkpointIntervalMs: 20, notice: () => undefined });
  map = await startService(
    mapService,
    { maps: ["quota"], log: logServer.url, writers: { quota: { spiffe: [QUOTA_ID] } }, server: { port: 0, identity: { xfcc: "istio-sidecar", spiffeId: MAP_ID } } },
    { clock: systemClock, processMetrics: false },
  );
  await startSidecar();
});
afterAll(async () => {
  for (const s of running) await s.close().catch(() => undefined);
  for (const r of sidecar.hung) r.destroy();
  sidecar.server?.closeAllConnections();
  await new Promise((r) => sidecar.server?.close(r));
  await map?.close();
  await logServer?.app.close();
  for (const s of schemas) await dropSchema(s);
});

describe("quota state in the verifiable map", () => {
  it("publishes usage and limits; a tenant's read is proven against a root the log holds in a signed checkpoint", async () => {
    const schema = uniqueSchema("quota_map");
    schemas.push(schema);
    const quota = await startQuota(schema);
    // The map is writable by the quota service only: the same write without its identity is refused.
    await expect(reader().write("quota", [["acme", Buffer.from("{}")]])).rejects.toThrow(/HTTP 401/);

    expect((await post(quota, "/v1/quota/nodes/alice/reserve", "quota-admin", { amounts: { cpu: 2, memory: 4 } })).status).toBe(200);
    const acme = await until("acme's usage in the map", async () => {
      const v = await valueOf("acme");
      return v?.usage["cpu"] === 2 ? v : undefined;
    });
    expect(acme).toMatchObject({ node: "acme", usage: { cpu: 2, memory: 4 }, hard: { cpu: 100, memory: 64 }, closed: false });
    // Inherited limits: shop is bounded by its own cpu and its tenant's memory.
    expect(await valueOf("shop")).toMatchObject({ usage: { cpu: 2, memory: 4 }, hard: { cpu: 10, memory: 64 } });
    await (quota.parts as { publisher: QuotaMapPublisher }).publisher.idle();

    // The map's current root is the root of a batch entry in the log, included in a checkpoint the log signed.
    const head = await reader().root("quota");
    const log = new LogClient(logServer.url);
    const signed = async () => openCheckpoint(await log.checkpoint(), [newVerifier(keys.verifierKey)], ORIGIN);
    const cp = await until("a checkpoint covering the map's batch", async () => {
      const c = (await signed()).checkpoint;
      return c.size > head.logIndex! ? c : undefined;
    });
    const entry = await log.entry(head.logIndex!, cp.size);
    verifyInclusion(head.logIndex!, cp.size, leafHash(entry), await log.inclusionProof(head.logIndex!, cp.size), cp.root);
    const logged = decodeMapEntry(entry)!;
    expect([logged.map, logged.revision]).toEqual(["quota", head.revision]);
    const loggedRoot = Buffer.from(logged.root).toString("base64");
    expect(loggedRoot).toBe(head.root);
    // Proven against the logged root: alice's usage (inclusion) and a node that does not exist (exclusion).
    expect(await valueOf("alice", loggedRoot)).toMatchObject({ node: "alice", usage: { cpu: 2, memory: 4 } });
    expect(await valueOf("mallory", loggedRoot)).toBeNull();
    // A root the log never held is not accepted as trusted.
    await expect(valueOf("alice", Buffer.alloc(32, 7).toString("base64"))).rejects.toThrow(/not the trusted/);
  });

  it("with the map refusing, down or hung, quota still answers and says so; the map catches up; a restart republishes nothing", async () => {
    const schema = uniqueSchema("quota_map_down");
    schemas.push(schema);
    let quota = await startQuota(schema);
    expect((await post(quota, "/v1/quota/nodes/alice/reserve", "quota-admin", { amounts: { cpu: 1 } })).status).toBe(200);
    await (quota.parts as { publisher: QuotaMapPublisher }).publisher.idle();
    const before = await reader().root("quota");

    for (const mode of ["down", "hang"] as const) {
      sidecar.mode = mode;
      const r = await post(quota, "/v1/quota/nodes/alice/reserve", "quota-admin", { amounts: { cpu: 1 } });
      expect(r, mode).toMatchObject({ status: 200, body: { usage: { cpu: mode === "down" ? 2 : 3 } } });
    }
    expect((await post(quota, "/v1/quota/nodes/alice/release", "quota-admin", { amounts: { cpu: 0.5 } })).status).toBe(200);
    // The outage is stated: behind, and failed attempts counted.
    const metrics = await until("failures on /metrics", async () => {
      const text = await (await fetch(`${quota.url}/metrics`)).text();
      return /meridian_quota_map_failures_total(\{[^}]*\})? [1-9]/.test(text) ? text : undefined;
    });
    expect(metrics).toMatch(/meridian_quota_map_behind(\{[^}]*\})? 1/);
    expect((await reader().root("quota")).revision).toBe(before.revision);

    sidecar.mode = "up";
    for (const r of sidecar.hung.splice(0)) r.destroy();
    await until("alice's latest usage in the map", async () => ((await valueOf("alice"))?.usage["cpu"] === 2.5 ? true : undefined));
    await (quota.parts as { publisher: QuotaMapPublisher }).publisher.idle();
    expect(await (await fetch(`${quota.url}/metrics`)).text()).toMatch(/meridian_quota_map_behind(\{[^}]*\})? 0/);

    // A restarted quota service reads the map back (proven complete) and finds nothing to write.
    const settled = await reader().root("quota");
    await quota.close();
    quota = await startQuota(schema);
    await (quota.parts as { publisher: QuotaMapPublisher }).publisher.idle();
    expect((await reader().root("quota")).revision).toBe(settled.revision);
    expect(await valueOf("acme")).toMatchObject({ usage: { cpu: 2.5 } });
  });

  it("without `map` nothing is published", async () => {
    const schema = uniqueSchema("quota_nomap");
    schemas.push(schema);
    const quota = await startQuota(schema, false);
    expect((quota.parts as { publisher: QuotaMapPublisher | null }).publisher).toBeNull();
    expect((await post(quota, "/v1/quota/nodes/alice/reserve", "quota-admin", { amounts: { cpu: 1 } })).status).toBe(200);
  });
});
