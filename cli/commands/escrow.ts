/**
 * `meridian escrow …`: serve regional inventory escrow over HTTP, print the concert-ticket worked
 * example, or print a stack's escrow allocations per region. Heavy modules load inside the actions.
 */
import type { Command } from "commander";
import type { RateLimiterPort } from "../../runtime/escrow/flashsale/ports.js";
import { UserError } from "../errors.js";

interface ServeOptions {
  port: string;
  host: string;
  regions?: string;
  redis?: string;
  postgres?: string;
  stack: string;
  leaseTtl?: string;
  reservationTtl?: string;
}

function positiveNumber(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`${flag}: got "${raw}"; expected a positive number`);
  return n;
}

/**
 * The per-user limiter: runtime/ratelimit's GCRA limiter (issue: rate limiting). Until that module is
 * present, serve runs without per-user rate limits and says so on stderr.
 */
/** Per-user limits: the rate-limit service's embedded GCRA limiter (redis-cell semantics). */
async function perUserLimiter(ratePerSecond: number, burst: number): Promise<RateLimiterPort> {
  const { createGcraLimiter } = await import("../../runtime/ratelimit/index.js");
  return createGcraLimiter({ ratePerSecond, burst });
}

async function serve(o: ServeOptions): Promise<void> {
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port: got "${o.port}"; expected 0-65535`);
  const { loadStack } = await import("../../stacks/load.js");
  const { regionDemands } = await import("../../model/escrow/estate.js");
  const spec = loadStack(o.stack);
  const cfg = spec.runtime.escrow;
  const regions = o.regions ? o.regions.split(",").map((r) => r.trim()).filter(Boolean) : spec.regions.map((r) => r.id);
  for (const r of regions) if (!/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/.test(r)) throw new UserError(`--regions: "${r}" is not a region id (lower-case slug)`);
  if (regions.length === 0) throw new UserError("--regions: expected at least one region id");
  const leaseTtl = positiveNumber("--lease-ttl", o.leaseTtl) ?? cfg.leaseTtlSeconds;
  const reservationTtl = positiveNumber("--reservation-ttl", o.reservationTtl) ?? cfg.reservationTtlSeconds;

  if (o.redis && !/^rediss?:\/\//.test(o.redis)) throw new UserError(`--redis: got "${o.redis}"; expected redis://host:port/db`);
  if (o.postgres && !/^postgres(ql)?:\/\//.test(o.postgres)) throw new UserError(`--postgres: got "${o.postgres}"; expected postgres://user@host:port/db`);
  let store;
  if (o.redis && o.postgres) {
    // Both: Redis decides (pool, leases, fenced sales), PostgreSQL journals every sale before its ack.
    const { JournaledEscrowStore } = await import("../../runtime/escrow/stores/journaled.js");
    const journaled = new JournaledEscrowStore({ redisUrl: o.redis, postgresUrl: o.postgres });
    await journaled.migrate();
    store = journaled;
  } else if (o.redis) {
    const { RedisEscrowStore } = await import("../../runtime/escrow/stores/redis.js");
    store = new RedisEscrowStore({ url: o.redis });
  } else if (o.postgres) {
    const { PostgresEscrowStore } = await import("../../runtime/escrow/stores/postgres.js");
    const pg = new PostgresEscrowStore({ url: o.postgres });
    await pg.migrate();
    store = pg;
  } else {
    const { MemoryEscrowStore } = await import("../../runtime/escrow/stores/memory.js");
    store = new MemoryEscrowStore();
  }
  const { EscrowService, DEFAULT_SETTINGS } = await import("../../runtime/escrow/service.js");
  const { DEFAULT_ADMISSION } = await import("../../runtime/escrow/flashsale/sale.js");
  const { buildEscrowApp } = await import("../../runtime/escrow/http.js");
  const a = cfg.admission;
  const service = new EscrowService({
    store,
    regions,
    estate: regionDemands(spec),
    limiter: await perUserLimiter(a.userRatePerSecond, a.userBurst),
    settings: {
      reservationTtlMs: reservationTtl * 1000,
      leaseTtlMs: leaseTtl * 1000,
      rebalanceIntervalMs: cfg.rebalanceIntervalSeconds * 1000,
      coefficients: cfg.allocation.coefficients,
      globalReserveFraction: cfg.allocation.globalReserveFraction,
      policy: DEFAULT_SETTINGS.policy,
      admission: { ...DEFAULT_ADMISSION, perUserLimit: a.perUserLimit, maxConcurrentCheckouts: a.maxConcurrentCheckouts, queuePolicy: a.queuePolicy, batchSize: a.batchSize, lowInventoryFraction: a.lowInventoryFraction },
    },
  });
  for (const [sku, total] of Object.entries(cfg.inventory)) {
    const { outcome } = await service.createItem(sku, total);
    if (outcome === "conflict") process.stderr.write(`meridian escrow: ${sku} already exists in the store with a different total; keeping the store's\n`);
  }
  const app = buildEscrowApp(service);
  const address = await app.listen({ port, host: o.host });
  service.start();
  process.stdout.write(`meridian escrow: serving ${regions.join(", ")} on ${address} (store: ${store.kind})\n`);
  const stop = () => {
    void app.close().then(() => service.close()).finally(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

export function register(program: Command): void {
  const escrow = program.command("escrow").description("regional inventory escrow: serve it, or print its models' numbers");
  escrow
    .command("serve")
    .description("serve every listed region's escrow over HTTP (requests name their region in X-Region)")
    .requiredOption("-p, --port <n>", "TCP port (0 picks a free one)")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--regions <a,b,c>", "region ids to serve (default: every region of the stack)")
    .option("--redis <url>", "Redis store: global pool and leases via Lua (e.g. redis://127.0.0.1:6379/3)")
    .option("--postgres <url>", "PostgreSQL store: the durable ledger of allocations and sales (with --redis: the journal behind Redis)")
    .option("-s, --stack <name>", "stack whose escrow settings, inventory and region demand to use", "local")
    .option("--lease-ttl <seconds>", "override the stack's leaseTtlSeconds")
    .option("--reservation-ttl <seconds>", "override the stack's reservationTtlSeconds")
    .action(serve);
  escrow
    .command("concert")
    .description("print the concert-ticket worked example (docs/escrow-concert-example.md) from the model")
    .action(async () => {
      const { renderConcertExample } = await import("../../model/escrow/concert.js");
      process.stdout.write(`${renderConcertExample()}\n`);
    });
  escrow
    .command("allocate")
    .description("print each SKU's escrow allocation per region for a stack")
    .option("-s, --stack <name>", "stack name", "prod")
    .option("--json", "print JSON")
    .action(async (opts: { stack: string; json?: boolean }) => {
      const { loadStack } = await import("../../stacks/load.js");
      const { escrowAllocations } = await import("../../model/escrow/estate.js");
      const out = escrowAllocations(loadStack(opts.stack));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(out.map(({ sku, total, globalReserve, regions }) => ({ sku, total, globalReserve, regions })), null, 2)}\n`);
        return;
      }
      for (const a of out) {
        process.stdout.write(`${a.sku}: ${a.total} units, global reserve ${a.globalReserve}\n`);
        for (const r of a.detail.regions) process.stdout.write(`  ${r.id.padEnd(16)} ${String(r.units).padStart(8)}  weight ${r.weight.toFixed(4)}\n`);
      }
    });
}
