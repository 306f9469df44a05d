/**
 * `meridian escrow …`: serve regional inventory escrow over HTTP (from the rendered config, or a
 * stack), print the config the blueprint renders, the concert-ticket worked example, or a stack's
 * allocation with its demand forecast vs actual, and mint a buyer token with an issuer's key.
 * Heavy modules load inside the actions.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { UserError } from "../errors.js";
import { registerHtlc } from "./escrow-htlc.js";

interface ServeOptions {
  port: string;
  host: string;
  config?: string;
  stack?: string;
  regions?: string;
  redis?: string;
  postgres?: string;
  storeSchema?: string;
  redisPrefix?: string;
  acceptAsyncStandbys?: boolean;
  postgresQueryTimeout?: string;
  redisCommandTimeout?: string;
  leaseTtl?: string;
  reservationTtl?: string;
  queueSecretFile?: string;
}

function positiveNumber(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`${flag}: got "${raw}"; expected a positive number`);
  return n;
}

/** A flag in whole milliseconds (its bounds are the config key's, checked with the config). */
function milliseconds(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) throw new UserError(`${flag}: got "${raw}"; expected whole milliseconds, e.g. 2000`);
  return n;
}

function regionList(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const regions = raw
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean);
  for (const r of regions) if (!/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/.test(r)) throw new UserError(`--regions: "${r}" is not a region id (lower-case slug)`);
  if (regions.length === 0) throw new UserError("--regions: expected at least one region id");
  return regions;
}

/** The config of `escrow config` and of `serve --stack`: the blueprint's rendering of a stack. */
async function renderedConfig(o: { stack?: string; regions?: string }): Promise<Record<string, unknown>> {
  const { loadStack } = await import("../../stacks/load.js");
  const { escrowServiceConfig } = await import("../../model/escrow/config.js");
  try {
    return escrowServiceConfig(loadStack(o.stack ?? "local"), { regions: regionList(o.regions) }) as unknown as Record<string, unknown>;
  } catch (err) {
    throw new UserError(`--regions: ${(err as Error).message}`);
  }
}

async function serve(o: ServeOptions): Promise<void> {
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port: got "${o.port}"; expected 0-65535`);
  if (o.redis && !/^rediss?:\/\//.test(o.redis)) throw new UserError(`--redis: got "${o.redis}"; expected redis://host:port/db`);
  if (o.postgres && !/^postgres(ql)?:\/\//.test(o.postgres)) throw new UserError(`--postgres: got "${o.postgres}"; expected postgres://user@host:port/db`);
  if (o.redis && !o.postgres) throw new UserError("--redis needs --postgres: Redis alone loses acknowledged sales when it restarts empty, is restored from a snapshot or fails over");
  if (o.config && o.stack) throw new UserError("give --config FILE (the rendered ConfigMap) or --stack NAME, not both");
  if (o.config && o.regions) throw new UserError("--regions: the config file names the regions it serves");
  const leaseTtl = positiveNumber("--lease-ttl", o.leaseTtl);
  const reservationTtl = positiveNumber("--reservation-ttl", o.reservationTtl);
  const postgresQueryTimeoutMs = milliseconds("--postgres-query-timeout", o.postgresQueryTimeout);
  const redisCommandTimeoutMs = milliseconds("--redis-command-timeout", o.redisCommandTimeout);
  // The config file (or a stack's rendering), with the flags merged over it; the kit validates the whole.
  const base = o.config ? {} : await renderedConfig(o);
  const { mergeConfig, runService } = await import("../../runtime/kit/index.js");
  const { defineEscrowService } = await import("../../runtime/escrow/index.js");
  await runService(defineEscrowService(), {
    command: "meridian escrow serve",
    configFile: o.config,
    overrides: mergeConfig(base, {
      server: { port, host: o.host },
      postgres: o.postgres,
      redis: o.redis,
      storeSchema: o.storeSchema,
      redisPrefix: o.redisPrefix,
      acceptAsyncStandbys: o.acceptAsyncStandbys,
      postgresQueryTimeoutMs,
      redisCommandTimeoutMs,
      leaseTtlSeconds: leaseTtl,
      reservationTtlSeconds: reservationTtl,
      waitingRoom: o.queueSecretFile ? { tokenSecretFile: o.queueSecretFile } : undefined,
    }),
  });
}

interface LiveRegion {
  demand: number;
  forecast?: number;
  expected?: number;
}

/** A running escrow's view of each SKU's regions (GET /v1/inventory/:sku), or why it could not be read. */
async function liveRegions(url: string, region: string | undefined, sku: string): Promise<Record<string, LiveRegion> | string> {
  try {
    const res = await fetch(`${url.replace(/\/$/, "")}/v1/inventory/${encodeURIComponent(sku)}`, { headers: region ? { "x-region": region } : {}, signal: AbortSignal.timeout(5_000) });
    const body = (await res.json()) as { regions?: Record<string, LiveRegion>; detail?: string };
    if (!res.ok || !body.regions) return `${res.status}: ${body.detail ?? "no inventory view"}`;
    return body.regions;
  } catch (err) {
    return (err as Error).message;
  }
}

async function allocateCommand(opts: { stack: string; json?: boolean; live?: string; region?: string }): Promise<void> {
  const { loadStack } = await import("../../stacks/load.js");
  const { skuPlans, regionForecasts } = await import("../../model/escrow/plan.js");
  const spec = loadStack(opts.stack);
  const plans = skuPlans(spec);
  const forecasts = regionForecasts(spec);
  if (opts.live && !/^https?:\/\//.test(opts.live)) throw new UserError(`--live: got "${opts.live}"; expected the escrow's base URL, e.g. http://127.0.0.1:7100`);
  const live = new Map<string, Record<string, LiveRegion> | string>();
  if (opts.live) for (const p of plans) live.set(p.sku, await liveRegions(opts.live, opts.region, p.sku));
  if (opts.json) {
    const out = {
      forecasts: forecasts.map((f) => ({ region: f.id, method: f.method, forecast: f.forecast, actual: f.actual, absolutePercentError: f.absolutePercentError, next: f.next })),
      skus: plans.map((p) => ({
        sku: p.sku,
        total: p.total,
        globalReserve: p.globalReserve,
        regions: p.allocation,
        weights: p.weights,
        batchSize: p.refill.batchSize,
        reorderPoints: p.reorderPoints,
        forecastRate: p.forecastRate,
        debtCeiling: p.debt.ceiling,
        ...(opts.live ? { live: live.get(p.sku) } : {}),
      })),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const w = (s: string | number, n: number) => String(s).padStart(n);
  process.stdout.write("demand forecast per region (last period held out: forecast vs actual; then the next period):\n");
  process.stdout.write(`  ${"region".padEnd(16)}${w("method", 13)}${w("forecast", 11)}${w("actual", 11)}${w("error", 9)}${w("next", 11)}\n`);
  for (const f of forecasts) {
    const err = f.absolutePercentError === null ? "—" : `${(f.absolutePercentError * 100).toFixed(1)}%`;
    process.stdout.write(`  ${f.id.padEnd(16)}${w(f.method, 13)}${w(f.forecast.toFixed(0), 11)}${w(f.actual.toFixed(0), 11)}${w(err, 9)}${w(f.next.toFixed(0), 11)}\n`);
  }
  for (const p of plans) {
    process.stdout.write(
      `\n${p.sku}: ${p.total} units, global reserve ${p.globalReserve}; refill batch ${p.refill.batchSize} (pool ρ ${p.refill.utilisation.toFixed(3)}); debt ceiling ${p.debt.ceiling}\n`,
    );
    process.stdout.write(`  ${"region".padEnd(16)}${w("units", 9)}${w("weight", 9)}${w("rate/s", 9)}${w("reorder", 9)}\n`);
    for (const id of Object.keys(p.allocation)) {
      process.stdout.write(`  ${id.padEnd(16)}${w(p.allocation[id]!, 9)}${w(p.weights[id]!.toFixed(4), 9)}${w(p.forecastRate[id]!.toFixed(2), 9)}${w(p.reorderPoints[id]!, 9)}\n`);
    }
    const l = live.get(p.sku);
    if (typeof l === "string") process.stdout.write(`  live (${opts.live}): unavailable — ${l}\n`);
    else if (l) {
      // Live weights: each region's share of the demand it now plans with (forecast updated by what it sells).
      const total = Object.values(l).reduce((t, r) => t + r.demand, 0);
      process.stdout.write(`  live (${opts.live}): forecast vs actual, units/s\n  ${"region".padEnd(16)}${w("forecast", 10)}${w("expected", 10)}${w("plans", 9)}${w("weight", 9)}${w("planned", 9)}\n`);
      for (const [id, r] of Object.entries(l).sort(([a], [b]) => a.localeCompare(b))) {
        const fmt = (x: number | undefined) => (x === undefined ? "—" : x.toFixed(2));
        process.stdout.write(
          `  ${id.padEnd(16)}${w(fmt(r.forecast ?? p.forecastRate[id]), 10)}${w(fmt(r.expected), 10)}${w(r.demand.toFixed(2), 9)}${w(total > 0 ? (r.demand / total).toFixed(4) : "—", 9)}${w(p.weights[id]?.toFixed(4) ?? "—", 9)}\n`,
        );
      }
    }
  }
}

async function tokenCommand(opts: { key: string; sub: string; tier?: string; scope?: string; stack: string; ttl: string }): Promise<void> {
  let jwk: Record<string, unknown>;
  try {
    jwk = JSON.parse(readFileSync(opts.key, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new UserError(`--key: cannot read a JWK from ${opts.key}: ${(err as Error).message}`);
  }
  if (!("d" in jwk)) throw new UserError(`--key: ${opts.key} is a public key; signing needs the issuer's private JWK`);
  const ttl = positiveNumber("--ttl", opts.ttl)!;
  const { loadStack } = await import("../../stacks/load.js");
  // The token module alone: the package index loads the escrow service and its kit, ~1000 modules to sign a JWT.
  const { mintBuyerToken } = await import("../../runtime/escrow/transport/identity.js");
  const id = loadStack(opts.stack).runtime.escrow.identity;
  process.stdout.write(`${await mintBuyerToken(jwk, { issuer: id.issuer, audience: id.audience, sub: opts.sub, tier: opts.tier, scope: opts.scope, ttlSeconds: ttl })}\n`);
}

export function register(program: Command): void {
  const escrow = program.command("escrow").description("regional inventory escrow: serve it, or print its models' numbers");
  escrow
    .command("serve")
    .description("serve escrow over HTTP for the config's regions (requests name their region in X-Region)")
    .requiredOption("-p, --port <n>", "TCP port (0 picks a free one)")
    .option("--host <address>", "address to listen on (default: the config's server.host, else 127.0.0.1)")
    .option("--config <file>", "the rendered escrow config (the ConfigMap the blueprint mounts)")
    .option("-s, --stack <name>", "render the config from this stack instead (default: local)")
    .option("--regions <a,b,c>", "with --stack: region ids to serve (default: every region of the stack)")
    .option("--redis <url>", "Redis for the hot path (needs --postgres behind it), e.g. redis://127.0.0.1:6379/3")
    .option("--postgres <url>", "PostgreSQL: the authoritative ledger (alone), or the journal behind --redis")
    .option("--store-schema <name>", "SQL schema for the store's tables (default meridian_escrow / meridian_escrow_journal)")
    .option("--redis-prefix <prefix>", "Redis key prefix, starting with mes: (default mes:)")
    .option(
      "--accept-async-standbys",
      "start although PostgreSQL streams to asynchronous standbys only (a failover to one loses acknowledged sales with PostgreSQL alone, and the HTLC ledger's swap steps with or without Redis)",
    )
    .option("--postgres-query-timeout <ms>", "longest wait for one PostgreSQL query (store or journal, HTLC ledger, waiting room) before it fails 503 (default 10000; config postgresQueryTimeoutMs)")
    .option("--redis-command-timeout <ms>", "longest wait for one Redis command (store, waiting room) before it fails 503 (default 5000; config redisCommandTimeoutMs)")
    .option("--lease-ttl <seconds>", "override the config's leaseTtlSeconds")
    .option("--reservation-ttl <seconds>", "override the config's reservationTtlSeconds")
    .option("--queue-secret-file <file>", "the waiting room's queue-token secret (≥ 32 bytes, the same in every region); overrides waitingRoom.tokenSecretFile")
    .action(serve);
  escrow
    .command("config")
    .description("print the escrow config the blueprint renders for a stack (what serve --config reads)")
    .option("-s, --stack <name>", "stack name", "prod")
    .option("--regions <a,b,c>", "region ids the process serves (default: every region)")
    .action(async (opts: { stack: string; regions?: string }) => {
      const raw = await renderedConfig({ stack: opts.stack, regions: opts.regions });
      const { parseEscrowConfig } = await import("../../runtime/escrow/index.js");
      parseEscrowConfig(raw, `stack ${opts.stack}`);
      process.stdout.write(`${JSON.stringify(raw, null, 2)}\n`);
    });
  escrow
    .command("concert")
    .description("print the concert-ticket worked example (docs/escrow-concert-example.md) from the model")
    .action(async () => {
      const { renderConcertExample } = await import("../../model/escrow/concert.js");
      process.stdout.write(`${renderConcertExample()}\n`);
    });
  escrow
    .command("allocate")
    .description("print each region's demand forecast vs actual, and each SKU's allocation, refill plan and debt ceiling")
    .option("-s, --stack <name>", "stack name", "prod")
    .option("--json", "print JSON")
    .option("--live <url>", "also read a running escrow's regions: forecast vs the live rate, and the live weights")
    .option("--region <id>", "with --live: the X-Region to ask as (when the escrow serves several regions)")
    .action(allocateCommand);
  escrow
    .command("token")
    .description("mint a buyer token signed with an issuer's private JWK (for the stack's issuer and audience)")
    .requiredOption("--key <file>", "the issuer's private JWK (JSON)")
    .requiredOption("--sub <user>", "the buyer")
    .option("--tier <tier>", "the buyer's tier claim")
    .option("--scope <scopes>", "space-separated scopes (e.g. escrow:admin)")
    .option("-s, --stack <name>", "stack whose identity issuer and audience to use", "local")
    .option("--ttl <seconds>", "lifetime", "3600")
    .action(tokenCommand);
  registerHtlc(escrow);
}
