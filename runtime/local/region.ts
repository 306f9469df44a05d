/**
 * One region of the local estate, as its own process hosts it: the region's clock service (HLC, TrueTime,
 * skew state machine, NTP-synced to the estate's grandmaster), its rate-limit service with its share of
 * the estate-wide limit, and its own escrow — its ledger, its reservations, its lease — over the estate's
 * shared store, all on the region's skewed clock, behind the region gateway. Killing this process kills
 * exactly what a regional outage kills: its unconfirmed reservations and in-flight commits, never a
 * recorded sale.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rateLimitRegionConfig } from "../../model/workloads/ratelimit-shares.js";
import { regionById, type EstateSpec } from "../../model/estate.js";
import { clockService, format, ClockNode } from "../clock/index.js";
import { systemClock, type Clock } from "../common/clock.js";
import type { EscrowServiceConfig } from "../../model/escrow/config.js";
import { parseEscrowConfig, startEscrowServer } from "../escrow/index.js";
import { startService, type ServerConfigInput } from "../kit/index.js";
import { startServer as startRateLimitServer } from "../ratelimit/services.js";
import { allStarted } from "./all-started.js";
import { RemoteEscrowStore } from "./escrow-pool.js";
import { regionGatewayService } from "./region-gateway.js";

export interface RegionOptions {
  spec: EstateSpec;
  regionId: string;
  /** The region process's private address; every service of the region listens here. */
  host: string;
  skewMs?: number;
  grandmaster?: { host: string; port: number };
  redisUrl?: string;
  postgresUrl?: string;
  /** The supervisor's shared escrow store (embedded defaults), used when no PostgreSQL is given. */
  pool?: { url: string; token: () => string };
  /** The public key of the estate's buyer identity provider (buyer tokens are verified against it). */
  buyerJwk?: object;
  /**
   * This region's escrow config as the model renders it (model/escrow/config.ts, this region only, the other regions'
   * escrow at their public addresses as peers), rendered by the supervisor.
   */
  escrow: EscrowServiceConfig;
  /** The `server.auth` section trusting the supervisor's operator tokens. */
  auth?: NonNullable<ServerConfigInput["auth"]>;
  /** The region's current share of the estate-wide rate limit (default: its share with every region up). */
  requestsPerSecond?: number;
  /** The verifiable map escrow publishes its balances to, and escrow's current token for it (renewed by the supervisor). */
  map?: { url: string; name: string; token: () => string };
}

export interface RegionNode {
  url: string;
  close(): Promise<void>;
}

export async function startRegion(o: RegionOptions): Promise<RegionNode> {
  const region = regionById(o.spec, o.regionId);
  let skewMs = o.skewMs ?? 0;
  const clock: Clock = { now: () => systemClock.now() + skewMs };
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  const server = (extra: object = {}) => ({ host: o.host, port: 0, ...(o.auth ? { auth: o.auth } : {}), ...extra });
  try {
    const t = o.spec.time;
    const dir = mkdtempSync(join(tmpdir(), `meridian-rl-${region.id}-`));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    // The clock, rate limiting and escrow start together: the clock service waits out the max offset before it
    // serves (it has no persisted bound), and no client reaches any of them but through the gateway, started last.
    const startClock = async () => {
      const svc = await startService(
        clockService,
        {
          region: region.id,
          maxOffsetMs: t.maxOffsetMs,
          degradeFraction: t.skew.degradeFraction,
          freezeFraction: t.skew.freezeFraction,
          recoveryHoldSeconds: t.skew.recoveryHoldSeconds,
          ...(o.grandmaster ? { grandmaster: `${o.grandmaster.host}:${o.grandmaster.port}` } : {}),
          // Sync often: the estate's drills want to see a skew within a second, not NTP's usual 16 s.
          syncIntervalMs: 500,
          server: server(),
        },
        { clock, processMetrics: false },
      );
      closers.push(() => svc.close());
      return svc;
    };

    // Rate limiting: the region's share as envoyproxy/ratelimit YAML, rewritten and reloaded when it moves.
    const configPath = join(dir, "ratelimit.yaml");
    // A share of 0 (a region not serving yet) admits nothing; the YAML format needs a positive rate, so
    // the file keeps 1/s and the gateway refuses on its own.
    const shareYaml = (rps: number) => ({
      ...rateLimitRegionConfig({ ...o.spec, runtime: { ...o.spec.runtime, ratelimit: { ...o.spec.runtime.ratelimit, requestsPerSecond: Math.max(1, rps) } }, regions: [region] }, region.id),
      requestsPerSecond: rps,
    });
    let share = shareYaml(o.requestsPerSecond ?? rateLimitRegionConfig(o.spec, region.id).requestsPerSecond);
    writeFileSync(configPath, share.yaml);
    const startRateLimit = async () => {
      const rl = await startRateLimitServer({
        configPath,
        redisUrl: o.redisUrl,
        port: 0,
        grpcPort: 0,
        host: o.host,
        clock,
        region: region.id,
        hlc: new ClockNode({ clock, maxOffsetMs: t.maxOffsetMs }),
      });
      closers.push(() => rl.close());
      return rl;
    };

    // Escrow: this region only, on the region's clock, over the estate's store (PostgreSQL, alone or
    // journaling Redis, reached directly; else the supervisor's pool), trusting the estate's buyer issuer.
    const rendered = o.escrow;
    if (rendered.regions.length !== 1 || rendered.regions[0] !== region.id) throw new Error(`region ${region.id} was given the escrow config of ${rendered.regions.join(", ")}`);
    const identity = o.buyerJwk ? { ...rendered.identity, jwksUri: undefined, jwks: { keys: [o.buyerJwk] } } : rendered.identity;
    const config = parseEscrowConfig({ ...rendered, identity }, `region ${region.id}'s escrow config`);
    // Balances to the map as the estate's escrow publishes them; its token in a file escrow reads at each write, kept current.
    let map: { url: string; name: string; tokenFile: string } | undefined;
    if (o.map) {
      const m = o.map;
      map = { url: m.url, name: m.name, tokenFile: join(dir, "escrow-map.token") };
      const write = () => writeFileSync(map!.tokenFile, m.token(), { mode: 0o600 });
      write();
      const renew = setInterval(write, 60_000).unref();
      closers.push(async () => clearInterval(renew));
    }
    const startEscrow = async () => {
      const store = !o.postgresUrl && o.pool ? await RemoteEscrowStore.connect(o.pool.url, o.pool.token) : undefined;
      const escrow = await startEscrowServer({ config, port: 0, host: o.host, clock, redisUrl: o.postgresUrl ? o.redisUrl : undefined, postgresUrl: o.postgresUrl, store, map });
      closers.push(() => escrow.close());
      return { store, escrow };
    };
    const [clockSvc, rl, { store, escrow }] = await allStarted([startClock(), startRateLimit(), startEscrow()] as const);
    const node = clockSvc.parts.node;
    const rlHttp = `http://${o.host}:${rl.httpPort}`;
    const skus = Object.keys(o.spec.runtime.escrow.inventory);
    let storeUp: true | string = true;
    const probe = setInterval(() => {
      void (store ? store.reachable() : Promise.all(skus.map((sku) => escrow.service.inventory(sku)))).then(
        () => (storeUp = true),
        (e: Error) => (storeUp = `escrow store unreachable: ${e.message}`),
      );
    }, 1000);
    closers.push(async () => clearInterval(probe));

    const stats = { admitted: 0, limited: 0 };
    const gateway = await startService(
      regionGatewayService({
        region: region.id,
        cloud: region.cloud,
        upstreams: [
          {
            name: "clock",
            url: clockSvc.url,
            healthy: () => node.skew.allowsStrong() || `skew state ${node.skew.state}`,
            state: () => {
              const s = node.status();
              return { hlc: format(s.hlc), offsetMs: s.skew.offsetMs, errorBoundMs: s.skew.errorBoundMs, epsilonMs: s.epsilonMs, skew: s.skew.state, strong: s.skew.allowsStrong };
            },
          },
          { name: "ratelimit", url: rlHttp, healthy: () => true, state: () => ({ domain: share.domain, requestsPerSecond: share.requestsPerSecond, http: rlHttp, grpc: `${o.host}:${rl.grpcPort}` }) },
          {
            name: "escrow",
            url: escrow.url,
            healthy: () => storeUp,
            state: async () => {
              const own: Record<string, unknown> = {};
              for (const sku of skus) own[sku] = (await escrow.service.inventory(sku).catch(() => null))?.regions[region.id] ?? null;
              return { url: escrow.url, store: escrow.store.kind, inventory: own };
            },
          },
        ],
        clockState: () => ({ nowMs: clock.now(), skewMs }),
        setSkew: (ms) => (skewMs = ms),
        setRateLimitShare: async (rps) => {
          share = shareYaml(rps);
          writeFileSync(configPath, share.yaml);
          rl.reload();
        },
        admit: async () => {
          if (share.requestsPerSecond === 0) {
            stats.limited += 1;
            return { allowed: false, retryAfterMs: 1000 };
          }
          const r = await rl.service.shouldRateLimit({ domain: share.domain, descriptors: [{ entries: [{ key: "generic_key", value: share.domain }] }] });
          if (r.overallCode === "OK") stats.admitted += 1;
          else stats.limited += 1;
          return { allowed: r.overallCode === "OK", retryAfterMs: r.retryAfterMs };
        },
        stats: () => ({ ...stats }),
      }),
      { server: server() },
      { clock, processMetrics: false },
    );
    closers.push(() => gateway.close());
    return { url: gateway.url, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
