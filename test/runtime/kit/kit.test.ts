// The service kit in process: config validation, limits and errors, identity and per-route authorization,
// HLC hooks, readiness with stores, RED metrics, bind and store failures, slowloris, connection caps, drain.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, connect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import https from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../../../runtime/common/clock.js";
import { createLocalTrustDomain, mtlsClientOptions, allowTrustDomain } from "../../../runtime/identity/index.js";
import { BindError, ConfigFileError, StoreUnreachableError, localOperatorAuth, mergeConfig, readConfigFile, startService, type RunningService } from "../../../runtime/kit/index.js";
import { flaky, itemsService, openService } from "./fixture.js";

const dir = mkdtempSync(join(tmpdir(), "kit-"));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** Send raw bytes; resolves with everything the server wrote before closing (or "" on timeout). */
function raw(port: number, data: string, waitMs = 5000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    let text = "";
    const timer = setTimeout(() => (s.destroy(), resolve({ text, closed: false })), waitMs);
    s.on("data", (d) => (text += d.toString()));
    s.on("close", () => (clearTimeout(timer), resolve({ text, closed: true })));
    s.on("error", () => undefined);
    s.write(data);
  });
}

describe("config", () => {
  it("reads YAML and JSON, merges flags over the file, and names the file and every bad key", async () => {
    const yaml = file("items.yaml", "greeting: hi\nserver:\n  port: 0\n  limits: { bodyBytes: 2048 }\n");
    expect(readConfigFile(yaml)).toEqual({ greeting: "hi", server: { port: 0, limits: { bodyBytes: 2048 } } });
    expect(mergeConfig(readConfigFile(yaml), { server: { host: "127.0.0.1", port: undefined } })).toEqual({ greeting: "hi", server: { port: 0, host: "127.0.0.1", limits: { bodyBytes: 2048 } } });
    const bad = file("bad.json", JSON.stringify({ greeting: 7, server: { port: 70000, timeouts: { headersMs: "soon" }, colour: "red" } }));
    const err = await startService(itemsService, readConfigFile(bad), { source: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigFileError);
    const msg = (err as Error).message;
    expect(msg).toContain(`config ${bad}: `);
    for (const key of ["server.port", "server.timeouts.headersMs", 'server: Unrecognized key: "colour"', "greeting"]) expect(msg).toContain(key);
    expect(() => readConfigFile(file("broken.yaml", "a: [1, 2"))).toThrow(/broken\.yaml: not valid YAML/);
    expect(() => readConfigFile(join(dir, "missing.yaml"))).toThrow(/missing\.yaml: cannot read \(ENOENT\)/);
    expect(() => readConfigFile(file("list.yaml", "- 1\n"))).toThrow(/expected a map of keys/);
  });

  it("refuses to start a service with a route that declares no auth", async () => {
    await expect(startService(openService, { server: { port: 0 } })).rejects.toThrow(/route GET \/oops declares no auth/);
  });
});

describe("a running service", () => {
  const clock = new ManualClock(Date.now());
  let svc: RunningService<unknown, Awaited<ReturnType<typeof itemsService.start>>>;
  let op: Awaited<ReturnType<typeof localOperatorAuth>>;
  let port: number;
  const url = (p: string) => `${svc.url}${p}`;

  beforeAll(async () => {
    op = await localOperatorAuth(clock);
    svc = await startService(
      itemsService,
      { flakyStore: true, server: { port: 0, auth: op.auth, timeouts: { headersMs: 300, requestMs: 2000 }, limits: { paramLength: 32, connections: 50 } } },
      { clock, processMetrics: false },
    );
    port = svc.port;
  });
  afterAll(() => svc?.close());

  it("answers health, readiness and metrics", async () => {
    expect(await (await fetch(url("/healthz"))).json()).toEqual({ live: true, service: "items" });
    expect(await (await fetch(url("/readyz"))).json()).toEqual({ ready: true, service: "items", checks: { "store:flaky": "ok" } });
    flaky.down = true;
    const down = await fetch(url("/readyz"));
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ ready: false, checks: { "store:flaky": "flaky store is down" } });
    flaky.down = false;
    await fetch(url("/readyz"));
    await fetch(url("/v1/items/999"));
    const metrics = await (await fetch(url("/metrics"))).text();
    expect(metrics).toMatch(/^meridian_http_requests_total\{route="\/v1\/items\/:id",method="GET",code="404",service="items"\} 1$/m);
    expect(metrics).toMatch(/^meridian_http_request_duration_seconds_count\{service="items",route="\/readyz",method="GET"\} 3$/m);
    expect(metrics).toMatch(/^meridian_service_ready\{service="items"\} 1$/m);
  });

  it("refuses malformed and oversized input with {error, detail} and changes nothing", async () => {
    const post = (body: string, type = "application/json") => fetch(url("/v1/items"), { method: "POST", body, headers: { "content-type": type } });
    expect(await (await post("{nope")).json()).toMatchObject({ error: "invalid JSON" });
    const big = await post(JSON.stringify({ name: "x".repeat(5000) }));
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: "body too large" });
    expect((await post('{"name": ""}')).status).toBe(400);
    expect((await post('{"__proto__": {"x": 1}, "name": "a"}')).status).toBe(400);
    expect((await post("name=a", "application/x-www-form-urlencoded")).status).toBe(415);
    const long = await fetch(url(`/v1/items/${"9".repeat(100)}`));
    expect(long.status).toBe(414);
    expect(await long.json()).toEqual({ error: "URI too long", detail: expect.stringMatching(/exceeding the max param length/) });
    expect(svc.parts.items).toEqual([]);
    const boom = await fetch(url("/v1/boom"));
    expect(boom.status).toBe(500);
    expect(JSON.stringify(await boom.json())).not.toContain("secret internal detail");
    expect(await (await fetch(url("/nowhere"))).json()).toEqual({ error: "not found", detail: "GET /nowhere" });
  });

  it("authorizes operator routes by verified JWT only; forged identity headers count for nothing", async () => {
    const reset = (headers: Record<string, string>) => fetch(url("/admin/reset"), { method: "POST", headers });
    await fetch(url("/v1/items"), { method: "POST", body: '{"name":"keep"}', headers: { "content-type": "application/json" } });
    const forged = { "x-spiffe-id": "spiffe://td/ns/ops/sa/admin", "x-forwarded-client-cert": "URI=spiffe://td/ns/ops/sa/admin", "x-user": "admin", "x-forwarded-for": "127.0.0.1" };
    expect((await reset(forged)).status).toBe(401);
    expect((await reset({ authorization: "Bearer not.a.jwt" })).status).toBe(401);
    expect((await reset({ authorization: "Basic YWRtaW46YWRtaW4=" })).status).toBe(401);
    expect((await reset({ authorization: `Bearer ${await op.token({ scope: "meridian.reader" })}` })).status).toBe(403);
    const other = await localOperatorAuth(clock); // same issuer and audience, a key the service does not trust
    expect((await reset({ authorization: `Bearer ${await other.token()}` })).status).toBe(401);
    const expired = await op.token({ ttlSeconds: 60 });
    clock.advance(120_000);
    expect((await reset({ authorization: `Bearer ${expired}` })).status).toBe(401);
    expect(svc.parts.items).toEqual(["keep"]);
    expect((await reset({ authorization: `Bearer ${await op.token()}` })).status).toBe(200);
    expect(svc.parts.items).toEqual([]);
    // An mTLS-only route on a plain-HTTP listener: nobody qualifies.
    expect((await fetch(url("/peer"), { headers: forged })).status).toBe(401);
  });

  it("cuts a slowloris connection after the headers timeout and keeps serving", async () => {
    const r = await raw(port, "GET /v1/hello HTTP/1.1\r\nHost: x\r\nX-Slow: 1", 8000);
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1\.1 408/);
    expect((await fetch(url("/v1/hello"))).status).toBe(200);
  });

  it("answers garbage, oversized headers and truncated requests with 4xx and stays up", async () => {
    expect((await raw(port, "\x16\x03\x01\x00\xff garbage\r\n\r\n")).text).toMatch(/^HTTP\/1\.1 400/);
    expect((await raw(port, `GET /v1/hello HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`)).text).toMatch(/^HTTP\/1\.1 431/);
    const truncated = await raw(port, 'POST /v1/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":', 8000);
    expect(truncated.closed).toBe(true);
    expect(svc.parts.items).toEqual([]);
    expect((await fetch(url("/v1/hello"))).status).toBe(200);
  });
});

describe("identity over mTLS", () => {
  let svc: RunningService;
  let ca: Awaited<ReturnType<typeof createLocalTrustDomain>>;
  beforeAll(async () => {
    ca = await createLocalTrustDomain("kit.test", systemClock);
    const server = await ca.issueSvid("spiffe://kit.test/ns/meridian/sa/items", { dnsNames: ["localhost"] });
    svc = await startService(
      itemsService,
      {
        peers: ["spiffe://kit.test/ns/meridian/sa/escrow"],
        server: { port: 0, tls: { cert: file("server.pem", server.cert), key: file("server.key", server.key), bundle: file("bundle.pem", ca.bundle) } },
      },
      { processMetrics: false },
    );
  });
  afterAll(() => svc?.close());

  const get = async (path: string, as?: string): Promise<{ status: number; body: string }> => {
    const client = as ? await ca.issueSvid(as) : undefined;
    const options = client ? mtlsClientOptions(client, ca.bundle, allowTrustDomain("kit.test")) : { ca: ca.bundle, checkServerIdentity: () => undefined };
    return new Promise((resolve, reject) => {
      const req = https.request({ ...options, host: "127.0.0.1", port: svc.port, path, agent: false }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    });
  };

  it("lets the allowed SPIFFE ID in, refuses others (403) and the anonymous (401), and keeps public routes open", async () => {
    const ok = await get("/peer", "spiffe://kit.test/ns/meridian/sa/escrow");
    expect(ok).toEqual({ status: 200, body: JSON.stringify({ peer: "spiffe://kit.test/ns/meridian/sa/escrow" }) });
    expect((await get("/peer", "spiffe://kit.test/ns/meridian/sa/ratelimit")).status).toBe(403);
    expect((await get("/peer")).status).toBe(401);
    expect((await get("/healthz")).status).toBe(200);
    expect(svc.url).toMatch(/^https:\/\//);
  });
});

describe("startup failures", () => {
  // A port that is taken by a server that accepts connections and never says a word (a hung store).
  let blocker: Server;
  let taken: number;
  const sockets = new Set<import("node:net").Socket>();
  beforeAll(async () => {
    blocker = createServer((s) => (sockets.add(s), s.on("close", () => sockets.delete(s))));
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    taken = (blocker.address() as { port: number }).port;
  });
  afterAll(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => blocker.close(() => r()));
  });

  it("a taken port is a BindError naming host:port", async () => {
    const err = await startService(itemsService, { server: { port: taken } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BindError);
    expect((err as Error).message).toBe(`cannot listen on 127.0.0.1:${taken} (http): address already in use`);
  });

  it("an unreachable or hung store is one StoreUnreachableError, within the store timeout, password redacted", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const refused = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    for (const [port, reason] of [
      [refused, /ECONNREFUSED/],
      [taken, /no answer within 500 ms/],
    ] as const) {
      const err = await startService(itemsService, { redis: `redis://:hunter2@127.0.0.1:${port}/0`, server: { port: 0, timeouts: { storeMs: 500 } } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnreachableError);
      expect((err as Error).message).toMatch(new RegExp(`^store redis \\(redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}/0\\) unreachable: `));
      expect((err as Error).message).toMatch(reason);
      expect((err as Error).message).not.toContain("hunter2");
    }
  });

  it("a reachable Redis passes the preflight and is checked on /readyz", async () => {
    const svc = await startService(itemsService, { redis: "redis://127.0.0.1:6379/15", server: { port: 0 } }, { processMetrics: false });
    try {
      expect(await (await fetch(`${svc.url}/readyz`)).json()).toMatchObject({ ready: true, checks: { "store:redis": "ok" } });
    } finally {
      await svc.close();
    }
  });
});

describe("graceful drain", () => {
  it("finishes in-flight requests, refuses new connections and turns /readyz 503, within the drain bound", async () => {
    const svc = await startService(itemsService, { server: { port: 0, timeouts: { drainMs: 5000 } } }, { processMetrics: false });
    const slow = fetch(`${svc.url}/v1/slow`).then(async (r) => ({ status: r.status, body: await r.json() }));
    while (!svc.parts.held.started) await new Promise((r) => setTimeout(r, 10));
    const closing = svc.close();
    expect((await svc.readiness()).ready).toBe(false);
    await expect(fetch(`${svc.url}/healthz`)).rejects.toThrow();
    svc.parts.release();
    expect(await slow).toEqual({ status: 200, body: { slow: "done" } });
    await closing;
  });

  it("cuts requests still running when the drain bound passes", async () => {
    const svc = await startService(itemsService, { server: { port: 0, timeouts: { drainMs: 200 } } }, { processMetrics: false });
    const slow = fetch(`${svc.url}/v1/slow`).then(
      (r) => r.status,
      () => "cut",
    );
    while (!svc.parts.held.started) await new Promise((r) => setTimeout(r, 10));
    await svc.close();
    expect(await slow).toBe("cut");
  });
});
