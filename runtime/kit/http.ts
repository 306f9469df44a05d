/**
 * The hardened fastify app every service gets: limits and timeouts from the `server` config (slowloris
 * headers are cut after `headersMs`, checked every second rather than Node's 30 s), a connection cap,
 * `{error, detail}` errors, identity and per-route authorization, HLC propagation, RED metrics, and
 * /healthz, /readyz and /metrics. Requests are not logged one by one (5xx are, with their cause).
 */
import { readFileSync } from "node:fs";
import type { ServerOptions as HttpServerOptions } from "node:http";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { lazySchemaCompilers } from "../common/fastify-schemas.js";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { trackRoutes } from "../common/route-table.js";
import { Authenticator, type RouteAuth } from "./auth.js";
import { ConfigFileError, type ServerConfig } from "./config.js";
import type { HlcHooks } from "./define.js";
import { hlcInbound, hlcStamp } from "./hlc.js";
import { consistencyInbound, consistencyStamp, type ConsistencyHooks } from "./consistency.js";
import { installErrorHandler } from "./errors.js";
import { installRedMetrics, RedLogController, type RouteSeries } from "./metrics.js";
import { lazyChildren } from "./request-log.js";

export interface Readiness {
  ready: boolean;
  service: string;
  checks: Record<string, string>;
}

export interface AppOptions {
  service: string;
  server: ServerConfig;
  log: Logger;
  registry: Registry;
  extraRegistries: readonly Registry[];
  authenticator: Authenticator;
  hlc: HlcHooks | undefined;
  consistency?: ConsistencyHooks | undefined;
  readiness(): Promise<Readiness>;
  draining(): boolean;
}

type RouteConfig = { auth?: RouteAuth; url?: string };

/** What the kit's onRequest needs of a route, computed on its first request by this method. */
interface RouteState {
  auth: RouteAuth | undefined;
  method: string;
  series: RouteSeries;
}

function readPem(path: string, key: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigFileError(path, [`server.tls.${key}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
}

export function buildApp(o: AppOptions): FastifyInstance {
  const { limits, timeouts, tls } = o.server;
  const nodeOptions: HttpServerOptions = {
    // Node refuses a headers timeout above the request timeout.
    headersTimeout: Math.min(timeouts.headersMs, timeouts.requestMs),
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    maxHeaderSize: limits.headerBytes,
    connectionsCheckingInterval: 1000,
  };
  const https = tls
    ? {
        ...nodeOptions,
        cert: readPem(tls.cert, "cert"),
        key: readPem(tls.key, "key"),
        ca: readPem(tls.bundle, "bundle"),
        minVersion: "TLSv1.2" as const,
        // Ask for a client SVID but let callers without one reach public routes; routes check `authorized`.
        requestCert: true,
        rejectUnauthorized: false,
      }
    : null;
  // fastify logs no request one by one; the controller it calls once each response is done also settles its RED metrics.
  const logController = new RedLogController({ disableRequestLogging: true });
  const app = Fastify({
    schemaController: lazySchemaCompilers,
    loggerInstance: o.log,
    logController,
    bodyLimit: limits.bodyBytes,
    routerOptions: { maxParamLength: limits.paramLength },
    connectionTimeout: timeouts.idleMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    requestTimeout: timeouts.requestMs,
    maxRequestsPerSocket: limits.requestsPerSocket,
    http: nodeOptions,
    ...(https ? { https } : {}),
    return503OnClosing: true,
    forceCloseConnections: "idle",
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    trustProxy: false,
    // Request ids are ours, never taken from a client header.
    requestIdHeader: false,
    // The router's own refusals (a bad URL encoding, a path parameter over the limit) in our error shape.
    frameworkErrors: (err, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      void (reply as unknown as FastifyReply).status(status).send({ error: status === 414 ? "URI too long" : "bad request", detail: err.message });
    },
  }) as unknown as FastifyInstance;
  app.server.maxConnections = limits.connections;
  // req.log is made when a request first logs, not for every request (request-log.ts).
  lazyChildren(app.log);

  installErrorHandler(app);
  trackRoutes(app);
  app.addHook("onRoute", (route) => {
    Authenticator.validate(route.config?.auth, `${String(route.method)} ${route.url}`);
  });
  const red = installRedMetrics(app, o.registry, async () => (await o.readiness()).ready, logController);
  // The kit's own per-request work is one onRequest and one onSend hook (the metrics settle in the log controller): each
  // hook is a turn of fastify's hook runner per request. Callback hooks, not async ones: a promise and a
  // microtask turn per hook per request is measurable. A refusal thrown here reaches fastify's error path all the same.
  const hlcIn = o.hlc ? hlcInbound(o.hlc) : undefined;
  const hlcOut = o.hlc ? hlcStamp(o.hlc) : undefined;
  const tokenIn = o.consistency ? consistencyInbound(o.consistency) : undefined;
  const tokenOut = o.consistency ? consistencyStamp(o.consistency) : undefined;
  // Time headers and consistency tokens are taken in only once the caller is authorized: an unauthenticated
  // caller cannot move the service's clock, even within max offset.
  const afterAuth = (req: FastifyRequest) => {
    hlcIn?.(req.headers);
    tokenIn?.(req);
  };
  // Per route (its config object) and method: the rule and the RED series, looked up once per request.
  const states = new WeakMap<object, RouteState>();
  const stateOf = (route: RouteConfig, method: string): RouteState => {
    let s = states.get(route);
    // A route taking several methods keeps the last one's here; the metrics keep a series for each.
    if (s === undefined || s.method !== method) states.set(route, (s = { auth: route.auth, method, series: red.seriesOf(route, method) }));
    return s;
  };
  // A caller's cached token is checked synchronously; only a first sight of a token waits on its signature.
  app.addHook("onRequest", (req, _reply, done) => {
    // fastify's public view of the route: `config` is the route's own object (one per route), so it keys the WeakMap.
    // The view is a fresh object per read (~1k instructions of a sale's ~283k, within the run-to-run spread), the
    // price of not reaching into fastify's private symbols.
    const route = stateOf(req.routeOptions.config as RouteConfig, req.method);
    // The request's timing and in-flight count start before anything can refuse it.
    red.begin(req, route.series);
    const auth = route.auth;
    const pending = auth === undefined ? undefined : o.authenticator.authorize(req, auth);
    if (pending)
      pending.then(() => {
        try {
          afterAuth(req);
        } catch (e) {
          done(e as Error);
          return;
        }
        done();
      }, done);
    else {
      afterAuth(req);
      done();
    }
  });
  app.addHook("onSend", (req, reply, payload, done) => {
    // While draining, every response closes its connection, so keep-alive clients move to another pod and
    // the drain ends when the last in-flight request does (not when the keep-alive timeout expires).
    if (o.draining()) reply.header("connection", "close");
    // Every response, errors included, carries the service's HLC; a successful write its consistency token.
    hlcOut?.(reply);
    tokenOut?.(req, reply);
    done(null, payload);
  });

  const pub = { config: { auth: "public" as const } };
  app.get("/healthz", pub, async () => ({ live: true, service: o.service }));
  app.get("/readyz", pub, async (_req, reply) => {
    const r = await o.readiness();
    return reply.status(r.ready ? 200 : 503).send(r);
  });
  app.get("/metrics", pub, async (_req, reply) => {
    const texts = await Promise.all([o.registry, ...o.extraRegistries].map((r) => r.metrics()));
    return reply.type(o.registry.contentType).send(texts.join("\n"));
  });
  return app;
}
