/**
 * Starting and stopping a service in-process: validate the config, probe the stores, build the domain,
 * bind HTTP and the service's other listeners, and hand back a RunningService. `close()` drains: /readyz
 * turns 503, listeners stop accepting, in-flight requests finish (bounded by `timeouts.drainMs`, after
 * which connections are cut), then the domain closes its stores. Nothing here touches the process
 * (signals, exit codes, stdout): runService does that for pods; `meridian local` and tests call this.
 */
import pino, { type Logger } from "pino";
import type { FastifyInstance } from "fastify";
import type { z } from "zod";
import { systemClock, type Clock } from "../common/clock.js";
import { Authenticator } from "./auth.js";
import { ConfigFileError, jwtConfigSchema, parseServiceConfig, type JwtConfigInput, type ServerConfig } from "./config.js";
import type { ServiceDefinition, ServiceParts } from "./define.js";
import { bindError } from "./errors.js";
import type { DefaultTime } from "./hlc.js";
import { buildApp, type Readiness } from "./http.js";
import { createRegistry } from "./metrics.js";
import { preflight, reasonOf, storeProbe, within, type StoreProbe } from "./stores.js";

export interface StartOptions {
  /** The clock given to the service (default: the machine's). */
  clock?: Clock;
  /** Default: silent in-process; runService passes a logger writing JSON to stderr. */
  logger?: Logger;
  /** Names the config's origin in errors (the file path). */
  source?: string;
  /** Node process metrics on /metrics (default true; turn off when several services share a process). */
  processMetrics?: boolean;
  /** HLC propagation and consistency tokens for a service that brings no `hlc` of its own (runtime/kit/hlc.ts). */
  time?: DefaultTime;
}

export interface RunningService<C = unknown, P extends ServiceParts = ServiceParts> {
  name: string;
  /** The HTTP API's base URL. */
  url: string;
  port: number;
  /** Every bound listener by name: `http` plus the service's own (`ntp`: `udp://127.0.0.1:123`). */
  endpoints: Record<string, string>;
  config: C;
  server: ServerConfig;
  app: FastifyInstance;
  /** What the service's `start` returned: its domain objects, for in-process callers. */
  parts: P;
  readiness(): Promise<Readiness>;
  /** Graceful drain, bounded; safe to call more than once. */
  close(): Promise<void>;
}

const hostOf = (h: string) => (h.includes(":") ? `[${h}]` : h);

/** The service's own token issuer (define.ts `jwt`) in place of `server.auth.jwt`, which must then be unset. */
function withServiceJwt(server: ServerConfig, own: JwtConfigInput | undefined, source: string): ServerConfig {
  if (own === undefined) return server;
  if (server.auth.jwt) throw new ConfigFileError(source, ["server.auth.jwt: this service verifies the bearer tokens its own config names (one issuer per service); remove server.auth.jwt"]);
  const jwt = jwtConfigSchema.safeParse(own);
  if (!jwt.success)
    throw new ConfigFileError(
      source,
      jwt.error.issues.map((i) => `the service's token issuer: ${i.path.join(".")}: ${i.message}`),
    );
  return { ...server, auth: { ...server.auth, jwt: jwt.data } };
}

export async function startService<S extends z.ZodType, P extends ServiceParts>(
  definition: ServiceDefinition<S, P>,
  rawConfig: Record<string, unknown>,
  options: StartOptions = {},
): Promise<RunningService<z.output<S>, P>> {
  const source = options.source ?? "(in-process)";
  const parsed = parseServiceConfig(definition.config, rawConfig, source);
  const config = parsed.service;
  const server = withServiceJwt(parsed.server, definition.jwt?.(config), source);
  const log = options.logger ?? pino({ level: "silent" });
  const clock = options.clock ?? systemClock;
  const registry = createRegistry(definition.name, options.processMetrics ?? true);
  const authenticator = new Authenticator(server.auth, clock, server.identity);
  const timeoutMs = server.timeouts.storeMs;

  const probes: StoreProbe[] = Object.entries(definition.stores?.(config) ?? {}).flatMap(([name, spec]) => (spec ? [storeProbe(name, spec)] : []));
  const cleanup: (() => Promise<unknown>)[] = [() => Promise.all(probes.map((p) => p.close()))];
  const undo = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  };

  try {
    await preflight(probes, timeoutMs);
    const parts = await definition.start({ config, server, clock, log, metrics: registry });
    cleanup.push(async () => parts.close?.());
    // A service without its own HLC gets the default one (its consistency tokens too, unless it stamps its own).
    const fallback = parts.hlc === undefined ? await options.time?.({ service: definition.name, clock, metrics: registry }) : undefined;
    const hlc = parts.hlc ?? fallback?.hlc;
    const consistency = parts.consistency ?? fallback?.consistency;

    let draining = false;
    const checks = { ...Object.fromEntries(probes.map((p) => [`store:${p.name}`, () => p.check(timeoutMs).then(() => true as const)])), ...parts.ready };
    const readiness = async (): Promise<Readiness> => {
      if (draining) return { ready: false, service: definition.name, checks: { drain: "draining: not taking new work" } };
      const results = await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          try {
            const r = await within(timeoutMs, Promise.resolve(check()));
            return [name, r === true ? "ok" : r] as const;
          } catch (e) {
            return [name, reasonOf(e)] as const;
          }
        }),
      );
      return { ready: results.every(([, r]) => r === "ok"), service: definition.name, checks: Object.fromEntries(results) };
    };

    // fastify logs "Server listening" at info; the ready line says that, and a failed start must stay one line.
    const httpLog = log.child({});
    const level = httpLog.level;
    if (httpLog.isLevelEnabled("info")) httpLog.level = "warn";
    const app = buildApp({ service: definition.name, server, log: httpLog, registry, extraRegistries: parts.registries ?? [], authenticator, hlc, consistency, readiness, draining: () => draining });
    cleanup.push(() => app.close());
    if (parts.routes) await app.register(async (scoped) => parts.routes!(scoped));
    try {
      await app.listen({ host: server.host, port: server.port });
    } catch (e) {
      throw bindError("http", server.host, server.port, e);
    }
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : server.port;
    const url = `${server.tls ? "https" : "http"}://${hostOf(server.host)}:${port}`;
    const endpoints: Record<string, string> = { http: url };
    for (const listener of parts.listeners ?? []) {
      let bound: number;
      try {
        bound = await listener.listen();
      } catch (e) {
        throw bindError(listener.name, listener.host, listener.port, e);
      }
      cleanup.push(() => listener.close());
      endpoints[listener.name] = `${listener.scheme}://${hostOf(listener.host)}:${bound}`;
    }
    await parts.started?.();
    httpLog.level = level;

    let closing: Promise<void> | null = null;
    const close = async () => {
      draining = true;
      log.info({ service: definition.name }, "draining");
      await Promise.all((parts.listeners ?? []).map((l) => l.close().catch((e: unknown) => log.warn({ err: e }, `closing ${l.name}`))));
      const drained = await within(server.timeouts.drainMs, app.close()).then(
        () => true,
        () => false,
      );
      if (!drained) {
        log.warn({ drainMs: server.timeouts.drainMs }, "drain timed out; cutting the remaining connections");
        app.server.closeAllConnections();
        await app.close().catch(() => undefined);
      }
      await within(server.timeouts.drainMs, Promise.resolve(parts.close?.())).catch((e: unknown) => log.error({ err: e }, "closing the service's stores"));
      await Promise.all(probes.map((p) => p.close()));
    };
    return {
      name: definition.name,
      url,
      port,
      endpoints,
      config,
      server,
      app,
      parts,
      readiness,
      close: () => (closing ??= close()),
    };
  } catch (e) {
    await undo();
    throw e;
  }
}
