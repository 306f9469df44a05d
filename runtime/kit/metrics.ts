/**
 * Prometheus metrics every service gets (prom-client): RED per route — requests by route, method and
 * status code, their duration, and the requests in flight — plus open connections, readiness and the
 * process's own metrics. The route label is the route's template (`/v1/inventory/:sku`), never the raw
 * URL, so a scan of random paths cannot blow up the series count. Services register their own metrics
 * on the same registry (`ctx.metrics`); every series carries `service="<name>"`.
 */
import { performance } from "node:perf_hooks";
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from "prom-client";
import { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";

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

/**
 * One route template and method's RED record: answers by status code not yet added to the prom-client
 * counter, and the request durations as histogram buckets.
 */
export interface RouteSeries {
  labels: { route: string; method: string };
  pending: Map<number, number>;
  /** Observations per bucket (not cumulative; the last is above every bound), their sum and count. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * The request duration histogram, kept in plain numbers per series: prom-client's Histogram validates and
 * hashes the label set on every observation, more than the rest of the bookkeeping together. This is a
 * prom-client metric all the same (the registry asks it for its values, as it asks a Histogram) and gives
 * what a Histogram given the same observations gives: `_bucket` (cumulative, `le`), `_sum`, `_count`, the
 * series in the order first observed.
 */
export class RouteDurations {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly observed: RouteSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  /** A series for these labels; it shows on /metrics from its first observation. */
  series(labels: { route: string; method: string }): RouteSeries {
    return { labels, pending: new Map(), buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }

  observe(s: RouteSeries, seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && !(seconds <= bounds[i]!)) i++;
    s.buckets[i]!++;
    s.sum += seconds;
    if (s.count++ === 0) this.observed.push(s);
  }

  /** Series with no observation since: prom-client's Histogram.reset() (registry.resetMetrics()). */
  reset(): void {
    for (const s of this.observed.splice(0)) {
      s.buckets.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }

  /** What prom-client's Histogram#getForPromString gives (the registry formats it). */
  getForPromString() {
    const bucket = `${this.name}_bucket`;
    const values: { labels: Record<string, string | number>; sharedLabels: Record<string, string>; value: number; metricName: string; exemplar: null | undefined }[] = [];
    for (const s of this.observed) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.buckets[i]!;
        values.push({ labels: { le }, sharedLabels: s.labels, value: acc, metricName: bucket, exemplar: null });
      });
      values.push(
        { labels: { le: "+Inf" }, sharedLabels: s.labels, value: s.count, metricName: bucket, exemplar: null },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum`, exemplar: undefined },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count`, exemplar: undefined },
      );
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  /** What prom-client's Histogram#get gives (registry.getMetricsAsJSON): the series' labels spread into each value. */
  async get() {
    const data = await this.getForPromString();
    return { ...data, values: data.values.map(({ sharedLabels, labels, ...v }) => ({ ...v, labels: { ...labels, ...sharedLabels } })) };
  }
}

/** What the kit's hooks call: `begin` when a request arrives (before authorization), `end` once it is answered or aborted. */
export interface RedMetrics {
  /** The series of a route (fastify's config object, one per route: the key it is cached under) and method. */
  seriesOf(route: { url?: string }, method: string): RouteSeries;
  begin(req: FastifyRequest, series: RouteSeries): void;
}

/**
 * fastify's LogController, which fastify calls once for every response when it is finished or failed — where its
 * onResponse hooks end, or in their place. The kit hands it to fastify and installRedMetrics settles each request
 * here rather than in an onResponse hook: a hook is a turn of fastify's hook runner per request (three closures
 * and its calls, ~0.9k instructions a request, callgrind), and fastify calls this method whether or not there are hooks.
 * `performance` is imported, not the global: Node's global `performance` is a lazy getter, called on each read.
 */
export class RedLogController extends LogController {
  /** Set by installRedMetrics. */
  completed: ((req: FastifyRequest, reply: FastifyReply) => void) | undefined;

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    this.completed?.(request, reply);
    super.requestCompleted(error, request, reply, metadata);
  }
}

const kSeries = Symbol("meridian.series");
const kStartedAt = Symbol("meridian.startedAt");
type Timed = { [kSeries]?: RouteSeries; [kStartedAt]?: number };
/** On a connection: its requests begun and not yet answered (one, unless the client pipelines). */
const kOpen = Symbol("meridian.open");
type Connection = { [kOpen]?: FastifyRequest[]; once?(event: "close", listener: () => void): unknown };

/**
 * Install the RED bookkeeping on the app; `ready()` (the /readyz checks) feeds the readiness gauge on every
 * scrape. Per request it only bumps plain numbers in a record cached per route and method: the request
 * counter and the in-flight gauge take them at scrape time (their `collect`), the duration histogram is
 * RouteDurations — so a request pays no prom-client label validation and hashing. What /metrics shows is
 * the same series with the same values.
 */
export function installRedMetrics(app: FastifyInstance, registry: Registry, ready: () => Promise<boolean>, controller?: RedLogController): RedMetrics {
  const r = [registry];
  // Per route (fastify's per-route config object), its series by method (a route may take several).
  const byRoute = new WeakMap<object, Map<string, RouteSeries>>();
  const all: RouteSeries[] = [];
  let inFlight = 0;
  new Counter({
    name: HTTP_METRICS.requests,
    help: "HTTP requests answered, by route template, method and status code",
    labelNames: ["route", "method", "code"],
    registers: r,
    collect() {
      for (const s of all)
        for (const [code, n] of s.pending) {
          if (n === 0) continue;
          this.inc({ ...s.labels, code: String(code) }, n);
          s.pending.set(code, 0);
        }
    },
  });
  const duration = new RouteDurations(HTTP_METRICS.duration, "Time from request received to response sent", DURATION_BUCKETS);
  registry.registerMetric(duration as unknown as Metric);
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
  const seriesOf = (route: { url?: string }, method: string): RouteSeries => {
    let methods = byRoute.get(route);
    if (methods === undefined) byRoute.set(route, (methods = new Map()));
    let s = methods.get(method);
    if (s === undefined) {
      methods.set(method, (s = duration.series({ route: route.url ?? "(unmatched)", method })));
      all.push(s);
    }
    return s;
  };

  /** Out of flight, once: answered, or its client gone. */
  const settle = (req: FastifyRequest): RouteSeries | undefined => {
    const s = (req as Timed)[kSeries];
    if (s === undefined) return undefined;
    (req as Timed)[kSeries] = undefined;
    inFlight--;
    const open = (req.raw.socket as Connection | null)?.[kOpen];
    const i = open === undefined ? -1 : open.indexOf(req);
    if (i >= 0) {
      open![i] = open![open!.length - 1]!;
      open!.pop();
    }
    return s;
  };
  // A client that disconnects mid-request gets no response: its requests leave the in-flight count when the
  // connection closes (what fastify's onRequestAbort hook would say, with one listener per connection rather
  // than a closure and a listener per request). A request answered later is not counted again.
  function onClose(this: Connection) {
    const open = this[kOpen];
    if (open !== undefined) for (const req of open.splice(0)) settle(req);
  }
  const completed = (req: FastifyRequest, reply: FastifyReply) => {
    const s = settle(req);
    if (s !== undefined) {
      s.pending.set(reply.statusCode, (s.pending.get(reply.statusCode) ?? 0) + 1);
      duration.observe(s, (performance.now() - (req as Timed)[kStartedAt]!) / 1000);
    }
  };
  if (controller !== undefined) controller.completed = completed;
  else
    // An app whose fastify was not given the controller: a callback hook (not an async one: a promise and a
    // microtask turn per request is measurable).
    app.addHook("onResponse", (req, reply, done) => {
      completed(req, reply);
      done();
    });
  return {
    seriesOf,
    begin(req, series) {
      (req as Timed)[kStartedAt] = performance.now();
      (req as Timed)[kSeries] = series;
      inFlight++;
      const connection = req.raw.socket as Connection | null;
      if (connection === null || typeof connection.once !== "function") return;
      let open = connection[kOpen];
      if (open === undefined) {
        connection[kOpen] = open = [];
        connection.once("close", onClose);
      }
      open.push(req);
    },
  };
}
