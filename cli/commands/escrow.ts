/**
 * `meridian escrow …`: serve regional inventory escrow over HTTP, print the concert-ticket worked
 * example, or print a stack's escrow allocations per region. Heavy modules load inside the actions.
 */
import type { Command } from "commander";
import { UserError } from "../errors.js";
import { closeOnSignal } from "../signals.js";

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

async function serve(o: ServeOptions): Promise<void> {
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port: got "${o.port}"; expected 0-65535`);
  const { loadStack } = await import("../../stacks/load.js");
  const spec = loadStack(o.stack);
  const regions = o.regions ? o.regions.split(",").map((r) => r.trim()).filter(Boolean) : spec.regions.map((r) => r.id);
  for (const r of regions) if (!/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/.test(r)) throw new UserError(`--regions: "${r}" is not a region id (lower-case slug)`);
  if (regions.length === 0) throw new UserError("--regions: expected at least one region id");
  if (o.redis && !/^rediss?:\/\//.test(o.redis)) throw new UserError(`--redis: got "${o.redis}"; expected redis://host:port/db`);
  if (o.postgres && !/^postgres(ql)?:\/\//.test(o.postgres)) throw new UserError(`--postgres: got "${o.postgres}"; expected postgres://user@host:port/db`);
  const { startEscrowServer } = await import("../../runtime/escrow/serve.js");
  const server = await startEscrowServer({
    spec,
    regions,
    port,
    host: o.host,
    redisUrl: o.redis,
    postgresUrl: o.postgres,
    leaseTtlSeconds: positiveNumber("--lease-ttl", o.leaseTtl),
    reservationTtlSeconds: positiveNumber("--reservation-ttl", o.reservationTtl),
    onConflict: (sku) => process.stderr.write(`meridian escrow: ${sku} already exists in the store with a different total; keeping the store's\n`),
  });
  process.stdout.write(`meridian escrow: serving ${regions.join(", ")} on ${server.url} (store: ${server.store.kind})\n`);
  closeOnSignal(() => server.close());
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
