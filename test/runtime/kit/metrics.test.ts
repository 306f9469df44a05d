// The kit's RED metrics count per request in records cached per route and method and hand the counts to
// prom-client at scrape time: each route, method and status keeps its own series, a scrape neither loses nor
// repeats a count, and the in-flight gauge follows requests that are still being handled; the duration histogram
// kept in plain numbers shows what prom-client's own Histogram would.
import fc from "fast-check";
import { Histogram, Registry, type Metric } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineService, startService, type RunningService } from "../../../runtime/kit/index.js";
import { RouteDurations } from "../../../runtime/kit/metrics.js";
import { itemsService } from "./fixture.js";

describe("RED metrics", () => {
  let svc: RunningService<unknown, Awaited<ReturnType<typeof itemsService.start>>>;
  const url = (p: string) => `${svc.url}${p}`;
  const scrape = async () => (await fetch(url("/metrics"))).text();
  const count = (text: string, route: string, method: string, code: number): number | undefined => {
    const line = text.split("\n").find((l) => l.startsWith(`meridian_http_requests_total{route="${route}",method="${method}",code="${code}",service="items"} `));
    return line === undefined ? undefined : Number(line.split(" ").pop());
  };
  const post = (name: unknown) => fetch(url("/v1/items"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }) });

  beforeAll(async () => {
    svc = await startService(itemsService, { server: { port: 0 } }, { processMetrics: false });
  });
  afterAll(() => svc?.close());

  it("keeps routes, methods and status codes apart and counts each request once across scrapes", async () => {
    for (let i = 0; i < 3; i++) expect((await post(`n${i}`)).status).toBe(201);
    expect((await post("")).status).toBe(400);
    expect((await fetch(url("/v1/items/0"))).status).toBe(200);
    expect((await fetch(url("/v1/items/99"))).status).toBe(404);
    expect((await fetch(url("/v1/items/99"))).status).toBe(404);
    expect((await fetch(url("/no/such/path"))).status).toBe(404);
    const first = await scrape();
    expect(count(first, "/v1/items", "POST", 201)).toBe(3);
    expect(count(first, "/v1/items", "POST", 400)).toBe(1);
    expect(count(first, "/v1/items/:id", "GET", 200)).toBe(1);
    expect(count(first, "/v1/items/:id", "GET", 404)).toBe(2);
    expect(count(first, "(unmatched)", "GET", 404)).toBe(1);
    expect(count(first, "/v1/items", "GET", 200)).toBeUndefined();
    // A second scrape with nothing new in between shows the same totals (nothing added twice).
    const again = await scrape();
    expect(count(again, "/v1/items", "POST", 201)).toBe(3);
    expect(count(again, "/v1/items/:id", "GET", 404)).toBe(2);
    // Later requests add to the totals already scraped.
    expect((await post("n3")).status).toBe(201);
    expect((await fetch(url("/v1/items/99"))).status).toBe(404);
    const later = await scrape();
    expect(count(later, "/v1/items", "POST", 201)).toBe(4);
    expect(count(later, "/v1/items", "POST", 400)).toBe(1);
    expect(count(later, "/v1/items/:id", "GET", 404)).toBe(3);
    expect(later).toMatch(/^meridian_http_request_duration_seconds_count\{service="items",route="\/v1\/items",method="POST"\} 5$/m);
    expect(later).toMatch(/^meridian_http_request_duration_seconds_count\{service="items",route="\/v1\/items\/:id",method="GET"\} 4$/m);
  });

  it("shows requests in flight while they are handled and none once they are answered", async () => {
    const slow = fetch(url("/v1/slow"));
    while (!svc.parts.held.started) await new Promise((r) => setTimeout(r, 5));
    // The scrape itself is in flight too.
    expect(await scrape()).toMatch(/^meridian_http_requests_in_flight\{service="items"\} 2$/m);
    svc.parts.release();
    expect((await slow).status).toBe(200);
    expect(await scrape()).toMatch(/^meridian_http_requests_in_flight\{service="items"\} 1$/m);
    expect(count(await scrape(), "/v1/slow", "GET", 200)).toBe(1);
  });
});

// The kit settles each request's RED record where fastify ends its response (its log controller, after any onResponse
// hooks), not in a hook of its own: a service's own onResponse hooks, callback or async, change nothing it counts.
describe("RED metrics beside a service's own onResponse hooks", () => {
  const seen: string[] = [];
  const hooked = defineService({
    name: "hooked",
    config: z.object({}),
    start: () => ({
      routes(app) {
        const pub = { config: { auth: "public" as const } };
        app.addHook("onResponse", (req, reply, done) => {
          seen.push(`${req.method} ${reply.statusCode}`);
          done();
        });
        app.addHook("onResponse", async () => {
          await new Promise((r) => setImmediate(r));
        });
        app.get("/v1/ok", pub, async () => ({ ok: true }));
        app.get("/v1/boom", pub, async () => {
          throw new Error("boom");
        });
      },
    }),
  });
  let svc: RunningService;
  const scrape = async () => (await fetch(`${svc.url}/metrics`)).text();

  beforeAll(async () => {
    svc = await startService(hooked, { server: { port: 0 } }, { processMetrics: false });
  });
  afterAll(() => svc?.close());

  it("counts every answer once, times it, and leaves nothing in flight", async () => {
    for (let i = 0; i < 3; i++) expect((await fetch(`${svc.url}/v1/ok`)).status).toBe(200);
    expect((await fetch(`${svc.url}/v1/boom`)).status).toBe(500);
    expect((await fetch(`${svc.url}/v1/none`)).status).toBe(404);
    await new Promise((r) => setTimeout(r, 20));
    const text = await scrape();
    expect(text).toMatch(/^meridian_http_requests_total\{route="\/v1\/ok",method="GET",code="200",service="hooked"\} 3$/m);
    expect(text).toMatch(/^meridian_http_requests_total\{route="\/v1\/boom",method="GET",code="500",service="hooked"\} 1$/m);
    expect(text).toMatch(/^meridian_http_requests_total\{route="\(unmatched\)",method="GET",code="404",service="hooked"\} 1$/m);
    expect(text).toMatch(/^meridian_http_request_duration_seconds_count\{service="hooked",route="\/v1\/ok",method="GET"\} 3$/m);
    // The scrape itself is the one request in flight.
    expect(text).toMatch(/^meridian_http_requests_in_flight\{service="hooked"\} 1$/m);
    // The hooks ran too (for the routes of their plugin: the 404 and /metrics are the root's).
    expect(seen).toEqual(["GET 200", "GET 200", "GET 200", "GET 500"]);
  });
});

describe("RED metrics of a request whose client goes away", () => {
  let svc: RunningService<unknown, Awaited<ReturnType<typeof itemsService.start>>>;
  const scrape = async () => (await fetch(`${svc.url}/metrics`)).text();
  const inFlight = async () => Number(/^meridian_http_requests_in_flight\{service="items"\} (\d+)$/m.exec(await scrape())![1]);

  beforeAll(async () => {
    svc = await startService(itemsService, { server: { port: 0 } }, { processMetrics: false });
  });
  afterAll(() => svc?.close());

  it("leaves the in-flight count when its connection closes, and is not counted again when its handler finishes", async () => {
    const abort = new AbortController();
    const slow = fetch(`${svc.url}/v1/slow`, { signal: abort.signal }).catch((e: unknown) => e);
    while (!svc.parts.held.started) await new Promise((r) => setTimeout(r, 5));
    // The scrape itself is in flight too.
    expect(await inFlight()).toBe(2);
    abort.abort();
    expect(await slow).toBeInstanceOf(Error);
    // The server sees the connection close a moment later.
    while ((await inFlight()) !== 1) await new Promise((r) => setTimeout(r, 5));
    svc.parts.release();
    await new Promise((r) => setTimeout(r, 50));
    const text = await scrape();
    expect(text).toMatch(/^meridian_http_requests_in_flight\{service="items"\} 1$/m);
    expect(text).not.toMatch(/^meridian_http_requests_total\{route="\/v1\/slow"/m);
    // Requests on other connections are counted in and out as before.
    expect((await fetch(`${svc.url}/v1/slow`)).status).toBe(200);
    expect(await inFlight()).toBe(1);
    expect(await scrape()).toMatch(/^meridian_http_requests_total\{route="\/v1\/slow",method="GET",code="200",service="items"\} 1$/m);
  });
});

describe("the duration histogram (RouteDurations)", () => {
  const BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  const routes = [
    { route: "/v1/items", method: "POST" },
    { route: "/v1/items/:id", method: "GET" },
    { route: "(unmatched)", method: "GET" },
    { route: 'a "quoted"\\path', method: "DELETE" },
  ];
  // Values on and around the bounds (`le` is inclusive), far beyond them, zero and tiny fractions.
  const value = fc.oneof(fc.constantFrom(...BOUNDS, 0, 1e-9, 11, 1e6), fc.double({ min: 0, max: 20, noNaN: true }));

  it("gives /metrics and the JSON view exactly what prom-client's Histogram gives for the same observations", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(routes.length - 1), value), { maxLength: 60 }), fc.boolean(), async (observations, resetHalfway) => {
        const theirs = new Registry();
        const ours = new Registry();
        for (const r of [theirs, ours]) r.setDefaultLabels({ service: "items" });
        const histogram = new Histogram({ name: "d_seconds", help: "h", labelNames: ["route", "method"], buckets: BOUNDS, registers: [theirs] });
        const durations = new RouteDurations("d_seconds", "h", BOUNDS);
        ours.registerMetric(durations as unknown as Metric);
        const series = routes.map((labels) => durations.series(labels));
        observations.forEach(([i, v], k) => {
          if (resetHalfway && k === Math.floor(observations.length / 2)) {
            histogram.reset();
            durations.reset();
          }
          histogram.observe(routes[i]!, v);
          durations.observe(series[i]!, v);
        });
        expect(await ours.metrics()).toBe(await theirs.metrics());
        expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
      }),
      { numRuns: 200 },
    );
  });
});
