/**
 * `meridian local`: the `local` stack's whole estate on one machine (a process per region on loopback,
 * the GSLB resolver, the dashboard), on embedded stores unless --redis/--postgres are given. Every
 * argument is checked before anything starts (exit 2). `meridian local-region` is the per-region process
 * it spawns, `meridian local-prooflog` its proof log's process (neither for direct use).
 */
import type { Command } from "commander";
import { routingModes } from "../../model/config/routing.js";
import { UserError } from "../errors.js";

export function portArg(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n > 65535) throw new UserError(`${name}: expected a port number 0-65535 (0 = any free port), got "${value}"`);
    return n;
  };
}

export function storeUrlArg(name: string, schemes: string[]) {
  return (value: string): string => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new UserError(`${name}: "${value}" is not a URL; expected ${schemes.map((s) => `${s}//host:port/…`).join(" or ")}`);
    }
    if (!schemes.includes(url.protocol)) throw new UserError(`${name}: expected a ${schemes.join(" or ")} URL, got "${value}"`);
    return value;
  };
}

export interface LocalOptions {
  stack: string;
  regions?: string;
  port?: number;
  dnsPort?: number;
  basePort?: number;
  autoPorts?: boolean;
  redis?: string;
  postgres?: string;
  routing?: string;
  weights?: string;
  queryLog?: string;
}

export function register(program: Command): void {
  program
    .command("local")
    .description("run the local stack's estate on this machine: regions, GSLB DNS resolver and dashboard")
    .option("-s, --stack <name>", "stack to run", "local")
    .option("--regions <n|ids>", "run only the first n regions, or these region ids (comma-separated)")
    .option("--port <n>", "dashboard port (stack default: runtime.local.dashboardPort)", portArg("--port"))
    .option("--dns-port <n>", "GSLB DNS server port, UDP and TCP (stack default: runtime.local.dnsPort)", portArg("--dns-port"))
    .option("--base-port <n>", "port every region listens on at its own address 127.0.1.<n> (stack default: runtime.local.basePort)", portArg("--base-port"))
    .option("--auto-ports", "pick free ports for whatever --port/--dns-port/--base-port leave unset")
    .option("--redis <url>", "use Redis for the runtime's shared state", storeUrlArg("--redis", ["redis:", "rediss:"]))
    .option("--postgres <url>", "use PostgreSQL for the runtime's durable state", storeUrlArg("--postgres", ["postgres:", "postgresql:"]))
    .option("--routing <mode>", `route differently from the stack: ${routingModes.join(", ")}`)
    .option("--weights <id=w,…>", "healthy weight per region (0-255) for weighted routing, e.g. local-aws=200,local-gcp=50")
    .option("--query-log <file>", "append every DNS query the resolver answers to this file (JSON lines; - for stderr)")
    .action(async (opts: LocalOptions) => {
      const { localPlan } = await import("../local/plan.js");
      const plan = localPlan(opts);
      const { runLocal } = await import("../local/run.js");
      await runLocal(plan);
    });

  program
    .command("local-region", { hidden: true })
    .requiredOption("--stack <name>")
    .requiredOption("--region <id>")
    .requiredOption("--host <address>")
    .action(async (opts: import("../local/region.js").RegionArgs) => {
      const { runRegion } = await import("../local/region.js");
      await runRegion(opts);
    });

  program
    .command("local-prooflog", { hidden: true })
    .description("the proof log, its witnesses, monitor and certificate chain of `meridian local` (spawned by it)")
    .action(async () => {
      const { runProoflogProcess } = await import("../../runtime/local/prooflog-process.js");
      runProoflogProcess();
    });
}
