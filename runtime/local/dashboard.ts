/**
 * The local estate's dashboard: one page (no build step) that follows the estate live over Server-Sent
 * Events, a JSON snapshot at /api/state, and buttons that drive the same fault injection the drills use.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { z } from "zod";
import { HttpError, installErrorHandler, parseInput } from "../common/http.js";
import type { LocalEstate } from "./estate.js";
import { dashboardPage } from "./dashboard-page.js";

export interface DashboardOptions {
  estate: LocalEstate;
  host?: string;
  port: number;
  /** The estate's topology picture (SVG), shown beside the live view. */
  topologySvg?: string;
  pushIntervalMs?: number;
}

export async function estateSnapshot(estate: LocalEstate) {
  const regions = await estate.regionStates();
  const health = estate.healthStates();
  return {
    stack: estate.spec.stack,
    fqdn: `${estate.spec.dns.host}.${estate.spec.dns.apex}`,
    dnsPort: estate.dns.port,
    dnsAnswer: estate.answer(),
    regions: estate.regions.map((r) => ({ ...r, cloud: estate.spec.regions.find((x) => x.id === r.id)?.cloud, health: health[r.id], state: regions[r.id] ?? null, failingSignals: estate.prober.failingSignals(r.id), sinceMs: estate.prober.sinceMs(r.id) })),
    events: estate.events.slice(-30).reverse(),
    // Estate-wide panels: the proof log's checkpoint and cosigners, escrow stock per region, the grandmaster.
    ...(await estate.globals.state()),
  };
}

export async function startDashboard(options: DashboardOptions): Promise<{ app: FastifyInstance; url: string }> {
  const { estate } = options;
  const app = Fastify({ logger: false });
  installErrorHandler(app);
  const snapshot = () => estateSnapshot(estate);
  const regionParam = z.object({ id: z.enum(estate.regions.map((r) => r.id) as [string, ...string[]]) });

  app.get("/", async (_req, reply) => reply.type("text/html; charset=utf-8").send(dashboardPage(options.topologySvg ?? "")));
  app.get("/api/state", snapshot);
  app.get("/api/events", (req, reply) => {
    reply.raw.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    const push = async () => reply.raw.write(`data: ${JSON.stringify(await snapshot())}\n\n`);
    void push();
    const timer = setInterval(() => void push(), options.pushIntervalMs ?? 1000);
    req.raw.on("close", () => clearInterval(timer));
  });
  app.post("/api/regions/:id/kill", async (req) => {
    const { id } = parseInput(regionParam, req.params, "path");
    await estate.killRegion(id);
    return { killed: id };
  });
  app.post("/api/regions/:id/restart", async (req) => {
    const { id } = parseInput(regionParam, req.params, "path");
    await estate.restartRegion(id);
    return { restarted: id };
  });
  app.post("/api/regions/:id/skew", async (req) => {
    const { id } = parseInput(regionParam, req.params, "path");
    const { skewMs } = parseInput(z.object({ skewMs: z.number().finite() }).strict(), req.body, "body");
    if (!estate.supervisor.get(id)) throw new HttpError(404, "unknown region", id);
    await estate.setSkew(id, skewMs);
    return { region: id, skewMs };
  });
  await app.listen({ host: options.host ?? "127.0.0.1", port: options.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return { app, url: `http://${options.host ?? "127.0.0.1"}:${port}` };
}
