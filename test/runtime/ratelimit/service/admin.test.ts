/**
 * The admin API: operators only (a verified JWT with the operator scope; no credential 401, another
 * scope 403, a header never counts), and its effects across two replicas sharing Redis — inspect,
 * block (every replica answers OVER_LIMIT, probes included, until unblocked), reset.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../../runtime/common/clock.js";
import { localOperatorAuth, type LocalOperatorAuth } from "../../../../runtime/kit/index.js";
import { startServer, type RunningServer } from "../../../../runtime/ratelimit/service/server.js";

const RULES = `
domain: api
descriptors:
  - key: api_key
    rate_limit: { unit: hour, requests_per_unit: 5 }
`;
const prefix = `mrl:test:admin:${process.pid}:`;
let ops: LocalOperatorAuth;
let a: RunningServer;
let b: RunningServer;

beforeAll(async () => {
  const file = join(mkdtempSync(join(tmpdir(), "mrl-admin-")), "api.yaml");
  writeFileSync(file, RULES);
  ops = await localOperatorAuth(systemClock);
  const start = () => startServer({ configPath: file, redisUrl: "redis://127.0.0.1:6379/2", redisPrefix: prefix, port: 0, grpcPort: 0, watch: false, server: { auth: ops.auth } });
  [a, b] = await Promise.all([start(), start()]);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  const r = new Redis("redis://127.0.0.1:6379/2");
  const keys = await r.keys(`${prefix}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
});

const key = `k-${process.pid}`;
const target = { domain: "api", entries: [{ key: "api_key", value: key }] };
const admin = async (s: RunningServer, path: string, body?: unknown, token?: string) => {
  const r = await fetch(`http://127.0.0.1:${s.httpPort}/v1/ratelimit/admin/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), "x-spiffe-id": "spiffe://example.org/ns/ops/sa/oncall" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};
const hit = async (s: RunningServer, hits?: number) =>
  (
    await fetch(`http://127.0.0.1:${s.httpPort}/v1/ratelimit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ domain: "api", descriptors: [{ entries: target.entries, ...(hits === undefined ? {} : { hits_addend: hits }) }] }),
    })
  ).status;

describe("rate limit admin API", () => {
  it("answers 401 without a credential (headers never count) and 403 without the operator scope", async () => {
    expect((await admin(a, "inspect", target)).status).toBe(401);
    expect((await admin(a, "inspect", target, await ops.token({ scope: "meridian.reader" }))).status).toBe(403);
    expect((await admin(a, "blocks", undefined, await ops.token())).status).toBe(200);
  });

  it("inspects a counter by its descriptor, and 404s a descriptor no rule limits", async () => {
    const token = await ops.token();
    expect(await hit(a)).toBe(200);
    expect(await hit(b)).toBe(200);
    const i = await admin(b, "inspect", target, token);
    expect(i.status).toBe(200);
    expect(i.body).toMatchObject({
      domain: "api",
      stats_key: "api.api_key",
      levels: [{ policy: "api.api_key", limit: { requests_per_unit: 5, unit: "hour", algorithm: "fixed-window" }, remaining: 3, blocked_until: null }],
    });
    expect(await admin(a, "inspect", { domain: "api", entries: [{ key: "other", value: "x" }] }, token)).toMatchObject({ status: 404, body: { error: "no limit" } });
  });

  it("blocks a counter on every replica until unblocked, then resets it", async () => {
    const token = await ops.token();
    const blocked = await admin(a, "block", { ...target, seconds: 600 }, token);
    expect(blocked.status).toBe(200);
    // The other replica mirrors the shared block list within one sync (1 s).
    await new Promise((r) => setTimeout(r, 1300));
    expect([await hit(a), await hit(b), await hit(b, 0)]).toEqual([429, 429, 429]);
    expect(((await admin(b, "blocks", undefined, token)).body.blocks as unknown[]).length).toBeGreaterThan(0);
    expect((await admin(b, "unblock", target, token)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1300));
    expect(await hit(a)).toBe(200);
    expect((await admin(a, "unblock", target, token)).status).toBe(404);
    const reset = await admin(a, "reset", target, token);
    expect(reset.body.reset).toHaveLength(1);
    expect(((await admin(b, "inspect", target, token)).body.levels as { remaining: number }[])[0]!.remaining).toBe(5);
  });
});
