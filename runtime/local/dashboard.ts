/**
 * The local estate's dashboard: one page (no build step) that follows the estate live over Server-Sent
 * Events, a JSON snapshot at /api/state, and controls that drive the same fault injection the drills use.
 *
 * It listens before the estate starts (its port is one the supervisor checks first) and answers 503
 * "starting" until the estate is there. Closing it ends every open event stream, so Ctrl-C with a tab open
 * stops at once. State-changing requests must be same-origin JSON: a page on another site cannot kill a
 * region (no CORS, Origin and Host checked, a JSON content type forces a preflight we never grant).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { lazySchemaCompilers } from "../common/fastify-schemas.js";
import type { ServerResponse } from "node:http";
import { z } from "zod";
import { HttpError, installErrorHandler, parseInput } from "../common/http.js";
import type { LocalEstate } from "./estate.js";
import { DrainRefused } from "../../model/traffic/drain.js";
import { dashboardPage } from "./dashboard-page.js";
import { faultSchema, MAX_FAULT_SECONDS } from "./chaos.js";
import { History, type RegionReading } from "./history.js";
import { uplotAssets } from "./assets.js";

export interface DashboardOptions {
  /** The estate, once it has started (undefined while starting). */
  estate: () => LocalEstate | undefined;
  host?: string;
  port: number;
  /** The estate's topology picture (SVG), shown beside the live view. */
  topologySvg?: string;
  pushIntervalMs?: number;
}

export interface Dashboard {
  app: FastifyInstance;
  url: string;
  port: number;
  close(): Promise<void>;
}

async function estateSnapshot(estate: LocalEstate) {
  const regions = await estate.regionStates();
  const health = estate.healthStates();
  return {
    atMs: Date.now(),
    stack: estate.spec.stack,
    fqdn: `${estate.spec.dns.host}.${estate.spec.dns.apex}`,
    dnsPort: estate.dns.port,
    dnsAnswer: estate.answer(),
    regions: estate.regions.map((r) => ({
      ...r,
      cloud: estate.spec.regions.find((x) => x.id === r.id)?.cloud,
      health: health[r.id],
      running: estate.supervisor.isRunning(r.id),
      state: regions[r.id] ?? null,
      failingSignals: estate.prober.failingSignals(r.id),
      sinceMs: estate.prober.sinceMs(r.id),
      network: estate.proxies.get(r.id)?.fault,
      rttMs: estate.prober.rttMs(r.id),
      rateLimitShare: estate.rateLimitShares.get(r.id) ?? 0,
    })),
    faults: estate.chaos.active(),
    dnsQueries: estate.queryLog.slice(-10).reverse(),
    events: estate.events.slice(-30).reverse(),
    // Estate-wide panels: the proof log's checkpoint and cosigners, escrow stock per region, the grandmaster.
    ...(await estate.globals.state()),
  };
}

/**
 * What the history keeps of the estate, and no more: each region's counters and clock (no escrow state), no estate-wide
 * panels. Read while no tab is open, when nothing else would be shown.
 */
async function historySnapshot(estate: LocalEstate) {
  const regions = await estate.regionStates(["clock"]);
  const health = estate.healthStates();
  return {
    atMs: Date.now(),
    regions: estate.regions.map((r) => ({ id: r.id, health: health[r.id], running: estate.supervisor.isRunning(r.id), state: regions[r.id] ?? null, rttMs: estate.prober.rttMs(r.id) })),
  };
}

const sameOriginHosts = (port: number) => new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);

type Snapshot = Awaited<ReturnType<typeof historySnapshot>>;

/** What the history keeps of one snapshot, per region (counters cumulative; see history.ts). */
function readings(estate: LocalEstate, snap: Snapshot): Record<string, RegionReading> {
  return Object.fromEntries(
    snap.regions.map((r) => {
      const st = r.state as { stats?: { sales?: number; admitted?: number; limited?: number }; services?: { clock?: { offsetMs?: number; epsilonMs?: number } } } | null;
      return [
        r.id,
        {
          health: r.health,
          running: r.running,
          dnsAnswers: estate.answersDrawn.get(r.id) ?? 0,
          sales: st?.stats?.sales,
          admitted: st?.stats?.admitted,
          limited: st?.stats?.limited,
          rttMs: r.rttMs,
          offsetMs: st?.services?.clock?.offsetMs,
          epsilonMs: st?.services?.clock?.epsilonMs,
        },
      ];
    }),
  );
}

const faultBody = z.object({ durationSeconds: z.number().positive().max(MAX_FAULT_SECONDS) }).passthrough();

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const app = Fastify({ logger: false, forceCloseConnections: true, schemaController: lazySchemaCompilers });
  installErrorHandler(app);
  const streams = new Set<ServerResponse>();
  let port = options.port;
  const history = new History();
  // One sampler for every open tab: each push is the latest snapshot plus its history sample. With no tab open it
  // samples the history only (an idle estate's dashboard nobody looks at reads no more than the charts keep).
  let latest: string | undefined;
  let sampling = false;
  const send = (snap: object, point: object | undefined) => {
    latest = JSON.stringify({ ...snap, sample: point });
    for (const res of streams) if (!res.writableEnded) res.write(`data: ${latest}\n\n`);
  };
  const sample = async () => {
    const estate = options.estate();
    if (!estate || sampling) return;
    sampling = true;
    try {
      if (streams.size === 0) {
        const snap = await historySnapshot(estate);
        history.add(snap.atMs, readings(estate, snap));
        latest = undefined;
        return;
      }
      const snap = await estateSnapshot(estate);
      send(snap, history.add(snap.atMs, readings(estate, snap)));
    } catch (e) {
      latest = JSON.stringify({ error: (e as Error).message });
    } finally {
      sampling = false;
    }
  };
  /** A tab opened while none was: the whole snapshot now, with the history's last sample (the charts drop a sample they hold). */
  const catchUp = async () => {
    const estate = options.estate();
    if (!estate) return;
    try {
      send(await estateSnapshot(estate), history.last());
    } catch (e) {
      latest = JSON.stringify({ error: (e as Error).message });
    }
  };
  const sampler: { timer?: NodeJS.Timeout } = {};
  const ready = (): LocalEstate => {
    const estate = options.estate();
    if (!estate) throw new HttpError(503, "starting", "the local estate is still starting", { "retry-after": "1" });
    return estate;
  };
  const regionParam = (estate: LocalEstate, params: unknown) => parseInput(z.object({ id: z.enum(estate.regions.map((r) => r.id) as [string, ...string[]]) }), params, "path").id;

  // Host header: a DNS-rebinding page resolves its own name to 127.0.0.1 but still sends that name.
  app.addHook("onRequest", async (req: FastifyRequest) => {
    if (!sameOriginHosts(port).has(req.headers.host ?? "")) throw new HttpError(421, "misdirected request", `this dashboard answers for 127.0.0.1:${port} only`);
    if (req.method !== "GET" && req.method !== "HEAD") {
      const origin = req.headers.origin;
      if (origin !== undefined && !sameOriginHosts(port).has(origin.replace(/^https?:\/\//, ""))) throw new HttpError(403, "cross-site request", `origin ${origin} may not change the estate`);
      if (req.headers["sec-fetch-site"] && req.headers["sec-fetch-site"] !== "same-origin") throw new HttpError(403, "cross-site request", `sec-fetch-site ${req.headers["sec-fetch-site"]}`);
      if (!/^application\/json\b/.test(req.headers["content-type"] ?? "")) throw new HttpError(415, "unsupported media type", "send application/json");
    }
  });
  // A closing dashboard ends its event streams first; otherwise close() would wait for every open tab.
  app.addHook("preClose", async () => {
    clearInterval(sampler.timer);
    for (const s of streams) s.end();
    streams.clear();
  });

  app.get("/", async (_req, reply) =>
    reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "no-store")
      .send(dashboardPage(options.topologySvg ?? "")),
  );
  app.get("/api/state", async () => estateSnapshot(ready()));
  app.get("/api/history", async () => history.all());
  for (const asset of uplotAssets()) app.get(asset.path, async (_req, reply) => reply.type(asset.type).header("cache-control", "max-age=3600").send(asset.body));
  app.get("/api/events", (req: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    streams.add(res);
    res.write(`data: ${latest ?? JSON.stringify(options.estate() ? { connecting: true } : { starting: true })}\n\n`);
    if (latest === undefined) void catchUp();
    req.raw.on("close", () => {
      streams.delete(res);
    });
  });
  app.post("/api/regions/:id/kill", async (req) => {
    const estate = ready();
    const id = regionParam(estate, req.params);
    await estate.killRegion(id);
    return { killed: id };
  });
  app.post("/api/regions/:id/restart", async (req) => {
    const estate = ready();
    const id = regionParam(estate, req.params);
    await estate.restartRegion(id);
    return { restarted: id };
  });
  // Routing controls (`meridian traffic drain|restore <region> --dashboard <url>`): refused with 409 when unsafe.
  for (const action of ["drain", "restore"] as const) {
    app.post(`/api/regions/:id/${action}`, async (req) => {
      const estate = ready();
      const id = regionParam(estate, req.params);
      try {
        return await estate[action](id);
      } catch (e) {
        if (e instanceof DrainRefused) throw new HttpError(409, "refused", e.message);
        throw e;
      }
    });
  }
  // Chaos: a timed fault on one region (network, skew, degradation); it reverts by itself. Skew and
  // degradation go through here only, so none outlives its time or escapes the toolkit's bookkeeping.
  app.post("/api/regions/:id/fault", async (req) => {
    const estate = ready();
    // The toolkit checks the region and says which ones there are (`meridian chaos … --region` shows its words).
    const { id: region } = parseInput(z.object({ id: z.string().min(1).max(64) }), req.params, "path");
    const { durationSeconds, ...rest } = parseInput(faultBody, req.body, "body");
    const fault = parseInput(faultSchema, { ...rest, region }, "body");
    try {
      return await estate.chaos.inject(fault, durationSeconds * 1000);
    } catch (e) {
      throw new HttpError(400, "bad fault", (e as Error).message);
    }
  });
  app.post("/api/faults/:id/revert", async (req) => {
    const estate = ready();
    const { id } = parseInput(z.object({ id: z.coerce.number().int().positive() }), req.params, "path");
    if (!(await estate.chaos.revert(id))) throw new HttpError(404, "no such fault", `fault ${id} is not active`);
    return { reverted: id };
  });

  const host = options.host ?? "127.0.0.1";
  await app.listen({ host, port: options.port });
  sampler.timer = setInterval(() => void sample(), options.pushIntervalMs ?? 1000);
  void sample();
  port = (app.server.address() as { port: number }).port;
  return { app, port, url: `http://${host}:${port}`, close: () => app.close() };
}
