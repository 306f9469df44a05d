import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Redis } from "ioredis";
import { LocalEstate } from "../../../runtime/local/estate.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";

// `meridian local --redis --postgres`: the same estate on the real stores (own Redis DB and database).
const REDIS = "redis://127.0.0.1:6379/5";
const DB = "meridian_local_test";
const POSTGRES = `postgres://postgres@127.0.0.1:5432/${DB}`;

describe("the local estate on Redis and PostgreSQL", () => {
  let estate: LocalEstate;
  const redis = new Redis(REDIS);

  beforeAll(async () => {
    await redis.flushdb();
    const admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DB}`);
    await admin.end();
    estate = await LocalEstate.start({ spec: buildEstateSpec("local", loadStack("local")), dnsPort: 0, basePort: 0, redisUrl: REDIS, postgresUrl: POSTGRES });
  });
  afterAll(async () => {
    await estate?.stop();
    await redis.quit();
  });

  it("escrow decides in Redis and journals every acknowledged sale in PostgreSQL", async () => {
    expect(estate.globals.escrow.store.kind).toBe("redis+postgres");
    expect(estate.globals.escrow.poolUrl).toBeUndefined();
    // The region's own escrow, at its public address: it reaches Redis/PostgreSQL itself.
    const url = `${estate.region("local-gcp").url}/escrow`;
    const auth = { authorization: `Bearer ${await estate.globals.buyers.token("u1")}` };
    const res = await fetch(`${url}/v1/inventory/concert-2027/reservations`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ qty: 3 }) });
    expect(res.status).toBe(201);
    const { reservationId } = (await res.json()) as { reservationId: string };
    expect((await fetch(`${url}/v1/reservations/${reservationId}/commit`, { method: "POST", headers: auth })).status).toBe(200);
    expect(await estate.globals.escrow.store.findSale("concert-2027", reservationId)).toMatchObject({ region: "local-gcp", qty: 3 });
    expect((await redis.keys("mes:*")).length).toBeGreaterThan(0);
    const db = new pg.Client({ connectionString: POSTGRES });
    await db.connect();
    const tables = await db.query("SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')");
    await db.end();
    expect(tables.rows.length).toBeGreaterThan(0);
  });

  it("the proof log keeps its entries in PostgreSQL and the regions' rate limiters count in Redis", async () => {
    // As the supervisor (the log takes appends from its submitters only, each by its token: trust-services.ts).
    const { index } = await estate.globals.log.client.add(new TextEncoder().encode("hello from the local estate"));
    expect(index).toBeGreaterThanOrEqual(0);
    expect((await fetch(`${estate.globals.log.url}/add`, { method: "POST", body: "hello from anyone" })).status).toBe(401);
    const states = (await estate.regionStates()) as Record<string, { services: { ratelimit: { http: string } } }>;
    const rl = states["local-aws"]!.services.ratelimit.http;
    const status = (await (await fetch(`${rl}/v1/ratelimit/status`)).json()) as { store: string };
    expect(status.store).toBe("redis");
  });
});
