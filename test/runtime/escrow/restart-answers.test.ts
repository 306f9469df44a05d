// A reservation across a restart of the escrow service (#17), on the real stores: PostgreSQL alone, and Redis with the
// PostgreSQL journal. The served service (the kit's app on port 0, real HTTP) reserves for ann, is closed, and a new one
// starts on the same store; ann's commit, cancel and GET of her unsold reservation are told it ended with the earlier run
// (410; GET 200 `restarted`) — its owner tag checks under the store's reservation secret (core/ids.ts `ownsToken`) — while
// bob (another verified buyer) and a made-up or altered id get 404, the same answer as an id nobody issued. Her sale
// made before the restart still answers sold to her, 404 to bob. Before: 404 to everyone, the owner included.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { defineEscrowService } from "../../../runtime/escrow/serve.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { as, testConfig } from "./fixture.js";
import { PG_URL, REDIS_URL, deleteRedisPrefix, dropPgSchema, ensurePgDatabase, uniqueName } from "./servers.js";

const schemas = [uniqueName("restart_pg"), uniqueName("restart_journal")];
const prefix = `mes:test:${uniqueName("restart")}:`;
const running: RunningService[] = [];
beforeAll(ensurePgDatabase);
afterAll(async () => {
  for (const s of running) await s.close().catch(() => undefined);
  await deleteRedisPrefix(prefix);
  for (const s of schemas) await dropPgSchema(s);
});

async function start(store: Record<string, unknown>): Promise<RunningService> {
  const config = await testConfig(["eu"], {
    reservationTtlSeconds: 600,
    skus: [{ sku: "tix", total: 20, globalReserve: 0, allocation: { eu: 20 }, refill: { batchSize: 5, reorderPoints: { eu: 1 } } }],
  });
  const raw = JSON.parse(JSON.stringify({ ...config, ...store, server: { port: 0 } })) as Record<string, unknown>;
  const svc = await startService(defineEscrowService(), raw, { clock: systemClock, processMetrics: false });
  running.push(svc);
  return svc;
}

async function call(svc: RunningService, method: string, path: string, user: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${svc.url}${path}`, { method, headers: { ...(await as(user, "eu")), "content-type": "application/json" }, body: method === "POST" ? "{}" : undefined });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const reservation = (id: string) => `/v1/reservations/${encodeURIComponent(id)}`;

/** The id with its token's first character changed (a forgery of a genuine id, by its owner or anyone). */
function altered(id: string): string {
  const t = id.slice(-16);
  return id.slice(0, -16) + (t[0] === "A" ? "B" : "A") + t.slice(1);
}

describe.each([
  ["PostgreSQL", { postgres: PG_URL, storeSchema: schemas[0] }],
  ["Redis + PostgreSQL journal", { postgres: PG_URL, storeSchema: schemas[1], redis: REDIS_URL, redisPrefix: prefix }],
])("escrow restart on %s: the owner is told her reservation is gone, nobody else learns of it", (_name, store) => {
  it("owner 410 (GET 200 restarted), another buyer 404, a made-up or altered id 404; a sale before the restart still answers sold", async () => {
    const first = await start(store);
    const reserve = async (user: string) => {
      const r = await call(first, "POST", "/v1/inventory/tix/reservations", user);
      expect(r.status).toBe(201);
      return r.body["reservationId"] as string;
    };
    const open = await reserve("ann");
    const sold = await reserve("ann");
    expect((await call(first, "POST", `${reservation(sold)}/commit`, "ann")).status).toBe(200);
    expect((await call(first, "GET", reservation(open), "ann")).body).toMatchObject({ status: "reserved" });
    await first.close();

    const second = await start(store);
    expect((await call(second, "POST", "/v1/inventory/tix/reservations", "cy")).status).toBe(201); // the new run sells
    const commit = await call(second, "POST", `${reservation(open)}/commit`, "ann");
    expect(commit.status).toBe(410);
    expect(commit.body).toMatchObject({ error: "reservation ended with its process" });
    expect(commit.body["detail"]).toMatch(/earlier run of region eu's escrow, which has restarted since/);
    expect((await call(second, "DELETE", reservation(open), "ann")).status).toBe(410);
    expect((await call(second, "GET", reservation(open), "ann")).body).toMatchObject({ reservationId: open, status: "restarted" });

    const nobody = (id: string) => ({ error: "unknown reservation", detail: `no reservation ${id} of yours: ids are answered only to the buyer they were issued to` });
    const madeUp = `${open.slice(0, -16)}${randomBytes(12).toString("base64url")}`;
    const otherRun = open.replace(/~[0-9a-f]{8}/, `~${randomBytes(4).toString("hex")}`);
    for (const [id, user] of [
      [open, "bob"],
      [sold, "bob"],
      [madeUp, "ann"],
      [altered(open), "ann"],
      [otherRun, "ann"],
    ] as const) {
      for (const [method, path] of [
        ["POST", `${reservation(id)}/commit`],
        ["DELETE", reservation(id)],
        ["GET", reservation(id)],
      ] as const) {
        const r = await call(second, method, path, user);
        expect({ id, user, method, status: r.status, body: r.body }).toEqual({ id, user, method, status: 404, body: nobody(id) });
      }
    }
    expect((await call(second, "POST", `${reservation(sold)}/commit`, "ann")).body).toMatchObject({ status: "sold", duplicate: true });
    await second.close();
  });
});
