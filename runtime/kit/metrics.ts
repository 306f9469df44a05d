/**
 * Prometheus metrics every service gets (prom-client): RED per route — requests by route, method and
 * status code, their duration, and the requests in flight — plus open connections, readiness and the
 * process's own metrics. The route label is the route's template (`/v1/inventory/:sku`), never the raw
 * URL, so a scan of random paths cannot blow up the series count. Services register their own metrics
 * on the same registry (`ctx.metrics`); every series carries `service="<name>"`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { FastifyInstance } from "fastify";

/** 1 ms to 10 s: a service answers in milliseconds; commit-wait and store calls take longer. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const HTTP_METRICS = {
  requests: "meridian_http_requests_total",
  duration: "meridian_http_request_duration_seconds",
  inFlight: "meridian_http_requests_in_flight",
  connections: "meridian_http_open_connections",
  ready: "meridian_service_ready",
} as const;

export function createRegistry(service: string, processMetrics: boolean): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (processMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

const startedAt = Symbol("meridian.startedAt");
type Timed = { [startedAt]?: bigint };

/** Install the RED hooks on the app; `ready()` (the /readyz checks) feeds the readiness gauge on every scrape. */
/** One route template and method's answers, by status code, not yet added to the prom-client counter. */
interface RouteSeries {
  labels: { route: string; method: string };
  pending: Map<number, number>;
}

/**
 * Install the RED hooks on the app; `ready()` (the /readyz checks) feeds the readiness gauge on every scrape.
 * Per request, the hooks only bump plain numbers in a record cached per route template and method; the request
 * counter and the in-flight gauge take them at scrape time (their `collect`), so a request pays no prom-client
 * label validation and hashing for them (the duration histogram still observes each request: its buckets need
 * the value). What /metrics shows is the same series with the same values.
 */
export function installRedMetrics(app: FastifyInstance, registry: Registry, ready: () => Promise<boolean>): void {
  const r = [registry];
  const byRoute = new Map<string, Map<string, RouteSeries>>();
  let inFlight = 0;
  new Counter({
    name: HTTP_METRICS.requests,
    help: "HTTP requests answered, by route template, method and status code",
    labelNames: ["route", "method", "code"],
    registers: r,
    collect() {
      for (const methods of byRoute.values())
        for (const s of methods.values())
          for (const [code, n] of s.pending) {
            if (n === 0) continue;
            this.inc({ ...s.labels, code: String(code) }, n);
            s.pending.set(code, 0);
          }
    },
  });
  const duration = new Histogram({ name: HTTP_METRICS.duration, help: "Time from request received to response sent", labelNames: ["route", "method"], buckets: DURATION_BUCKETS, registers: r });
  new Gauge({
    name: HTTP_METRICS.inFlight,
    help: "HTTP requests being handled",
    registers: r,
    collect() {
      this.set(inFlight);
    },
  });
  new Gauge({
    name: HTTP_METRICS.connections,
    help: "Open HTTP connections",
    registers: r,
    async collect() {
      const n = await new Promise<number>((resolve) => app.server.getConnections((err, count) => resolve(err ? 0 : count)));
      this.set(n);
    },
  });
  new Gauge({
    name: HTTP_METRICS.ready,
    help: "1 while /readyz answers 200",
    registers: r,
    async collect() {
      this.set((await ready()) ? 1 : 0);
    },
  });
  // Unmatched URLs share one label: the raw path of a 404 is attacker-chosen. Methods are fastify's
  // (a request with an unknown method is refused before any hook), so the map stays as small as the route table.
  const seriesOf = (route: string, method: string): RouteSeries => {
    let methods = byRoute.get(route);
    if (methods === undefined) byRoute.set(route, (methods = new Map()));
    let s = methods.get(method);
    if (s === undefined) methods.set(method, (s = { labels: { route, method }, pending: new Map() }));
    return s;
  };

  // Callback hooks, not async ones: a promise and a microtask turn per hook per request is measurable.
  app.addHook("onRequest", (req, _reply, done) => {
    (req as Timed)[startedAt] = process.hrtime.bigint();
    inFlight++;
    done();
  });
  // A client that disconnects mid-request gets no response: count it out of flight once, either way.
  app.addHook("onRequestAbort", (req, done) => {
    if ((req as Timed)[startedAt] !== undefined) {
      (req as Timed)[startedAt] = undefined;
      inFlight--;
    }
    done();
  });
  app.addHook("onResponse", (req, reply, done) => {
    const t0 = (req as Timed)[startedAt];
    if (t0 !== undefined) {
      (req as Timed)[startedAt] = undefined;
      inFlight--;
      const s = seriesOf(req.routeOptions.url ?? "(unmatched)", req.method);
      s.pending.set(reply.statusCode, (s.pending.get(reply.statusCode) ?? 0) + 1);
      duration.observe(s.labels, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    done();
  });
}
