/**
 * Wiring for `meridian time serve`: the clock service a region runs — a ClockNode (HLC, TrueTime, skew
 * state machine) on the machine's clock, measured against the region's grandmaster over NTP when one is
 * named, with the HLC header hooks and GET /v1/time, /v1/time/skew, /healthz and /metrics.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { installErrorHandler } from "../common/http.js";
import { preciseSystemClock } from "./grandmaster.js";
import { clockRoutes, installHlc } from "./http.js";
import { ClockNode } from "./node.js";
import { NtpSync } from "./sync.js";

export interface ClockServerOptions {
  port: number;
  host?: string;
  region: string;
  maxOffsetMs: number;
  skew?: { degradeFraction?: number; freezeFraction?: number; recoveryHoldMs?: number };
  grandmaster?: { host: string; port: number };
  syncIntervalMs?: number;
}

export async function startClockServer(o: ClockServerOptions): Promise<{ app: FastifyInstance; node: ClockNode; url: string; close(): Promise<void> }> {
  const node = new ClockNode({ clock: preciseSystemClock, maxOffsetMs: o.maxOffsetMs, skew: o.skew });
  const app = Fastify({ logger: false });
  installErrorHandler(app);
  installHlc(app, node);
  clockRoutes(app, node);
  // Ready while the strong-consistency path is open; a frozen clock takes the pod out of the Service.
  app.get("/healthz", async (_req, reply) => reply.status(node.skew.allowsStrong() ? 200 : 503).send({ region: o.region, skew: node.skew.state }));
  app.get("/metrics", async (_req, reply) => reply.type("text/plain; version=0.0.4").send(await node.metrics.registry.metrics()));
  const sync = o.grandmaster ? new NtpSync(node, { host: o.grandmaster.host, port: o.grandmaster.port, clock: preciseSystemClock, intervalMs: o.syncIntervalMs }) : null;
  const url = await app.listen({ port: o.port, host: o.host ?? "127.0.0.1" });
  sync?.start();
  return {
    app,
    node,
    url,
    close: async () => {
      sync?.stop();
      await app.close();
    },
  };
}
