/**
 * `meridian local`: the `local` stack's whole estate on one machine (a process per region on loopback,
 * the GSLB resolver, the dashboard), on embedded stores unless --redis/--postgres are given.
 * `meridian local-region` is the per-region process it spawns (not for direct use).
 */
import type { Command } from "commander";
import { UserError } from "../errors.js";

function int(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`${name}: expected a whole number 0-65535, got "${value}"`);
    return n;
  };
}

export function register(program: Command): void {
  program
    .command("local")
    .description("run the local stack's estate on this machine: regions, GSLB DNS resolver and dashboard")
    .option("-s, --stack <name>", "stack to run", "local")
    .option("--regions <n>", "run only the first n regions", int("--regions"))
    .option("--port <n>", "dashboard port", int("--port"))
    .option("--dns-port <n>", "GSLB DNS resolver port (UDP)", int("--dns-port"))
    .option("--redis <url>", "use Redis for the runtime's shared state")
    .option("--postgres <url>", "use PostgreSQL for the runtime's durable state")
    .action(async (opts: { stack: string; regions?: number; port?: number; dnsPort?: number; redis?: string; postgres?: string }) => {
      const { runLocal } = await import("../local/run.js");
      await runLocal(opts);
    });

  program
    .command("local-region", { hidden: true })
    .requiredOption("--stack <name>")
    .requiredOption("--region <id>")
    .requiredOption("--host <address>")
    .requiredOption("--port <n>", "port", int("--port"))
    .option("--skew-ms <ms>", "clock skew", Number, 0)
    .option("--grandmaster <host:port>", "the estate's NTP grandmaster")
    .option("--redis <url>")
    .option("--postgres <url>")
    .action(async (opts: { stack: string; region: string; host: string; port: number; skewMs: number; grandmaster?: string; redis?: string; postgres?: string }) => {
      const { runRegion } = await import("../local/run.js");
      await runRegion(opts);
    });
}
