/**
 * A region process of the local estate: one HTTP server on the region's own loopback address hosting
 * every runtime service for that region, with `/healthz` (per-service signals, as GSLB checkers read
 * them), `/state` (dashboard snapshot) and `/admin/*` (fault injection for drills: clock skew, failing
 * a service's signal). Its clock is the machine clock plus an adjustable skew.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { z } from "zod";
import { HttpError, installErrorHandler, parseInput } from "../common/http.js";
import { systemClock, type Clock } from "../common/clock.js";
import type { EstateSpec } from "../../model/estate.js";
import { regionById } from "../../model/estate.js";
import type { RegionService, RunningService } from "./region-service.js";

export interface RegionNodeOptions {
  spec: EstateSpec;
  regionId: string;
  host: string;
  port: number;
  skewMs?: number;
  services: RegionService[];
  grandmaster?: { host: string; port: number };
  redisUrl?: string;
  postgresUrl?: string;
  logger?: boolean;
}

export interface RegionNode {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function startRegionNode(options: RegionNodeOptions): Promise<RegionNode> {
  const region = regionById(options.spec, options.regionId);
  let skewMs = options.skewMs ?? 0;
  const clock: Clock = { now: () => systemClock.now() + skewMs };
  const forcedFailures = new Set<string>();

  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 1 << 20 });
  installErrorHandler(app);
  const running = new Map<string, RunningService>();
  for (const service of options.services) {
    await app.register(async (scoped) => {
      running.set(service.name, await service.start(scoped, { spec: options.spec, region, clock, host: options.host, grandmaster: options.grandmaster, redisUrl: options.redisUrl, postgresUrl: options.postgresUrl }));
    }, { prefix: `/${service.name}` });
  }

  const signals = () => Object.fromEntries([...running].map(([name, s]) => [name, s.healthy() && !forcedFailures.has(name)]));

  app.get("/healthz", async (_req, reply) => {
    const s = signals();
    const allFailing = Object.values(s).length > 0 && Object.values(s).every((ok) => !ok);
    return reply.status(allFailing ? 503 : 200).send({ region: region.id, ok: !allFailing, signals: s });
  });
  // One path per health signal, as the traffic policy's checkers probe them.
  app.get("/healthz/:service", async (req, reply) => {
    const { service } = req.params as { service: string };
    const s = signals();
    if (!(service in s)) throw new HttpError(404, "unknown service", `${service}; this region runs ${Object.keys(s).join(", ")}`);
    return reply.status(s[service] ? 200 : 503).send({ region: region.id, service, ok: s[service] });
  });
  app.get("/state", async () => ({
    region: region.id,
    cloud: region.cloud,
    clock: { nowMs: clock.now(), skewMs },
    signals: signals(),
    services: Object.fromEntries([...running].map(([name, s]) => [name, s.state()])),
  }));
  app.post("/admin/skew", async (req) => {
    const body = parseInput(z.object({ skewMs: z.number().finite() }).strict(), req.body, "body");
    skewMs = body.skewMs;
    return { region: region.id, skewMs };
  });
  app.post("/admin/signal", async (req) => {
    const body = parseInput(z.object({ service: z.string(), failing: z.boolean() }).strict(), req.body, "body");
    if (!running.has(body.service)) throw new HttpError(404, "unknown service", `${body.service}; this region runs ${[...running.keys()].join(", ")}`);
    if (body.failing) forcedFailures.add(body.service);
    else forcedFailures.delete(body.service);
    return { region: region.id, signals: signals() };
  });

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    app,
    url: `http://${options.host}:${port}`,
    close: async () => {
      await app.close();
      await Promise.all([...running.values()].map((s) => s.stop()));
    },
  };
}
