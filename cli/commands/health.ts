/**
 * `meridian health serve`: the regional health aggregator behind the gateway (runtime/health). It answers
 * each signal the DNS providers probe from the services' own readiness; the gateway rewrites the public
 * `/healthz/<signal>` paths to it. Settings come from the ConfigMap the workloads component renders.
 */
import type { Command } from "commander";
import { UserError } from "../errors.js";

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`--port ${value}: expected an integer from 0 to 65535`);
  return n;
}

export function register(program: Command): void {
  const health = program.command("health").description("the regional health aggregator the DNS providers' health checks reach through the gateway");
  health
    .command("serve")
    .description("serve /signals/<name>: 200 while every probe of the signal answers 2xx, else 503 naming each failing probe")
    .requiredOption("--config <file>", "service config, JSON or YAML: region, probeTimeoutMs, signals (name, path, probes), and the kit's `server` section")
    .option("-p, --port <n>", "HTTP port (default 8080)", port)
    .option("--host <address>", "listen address (default 127.0.0.1)")
    .action(async (o: { config: string; port?: number; host?: string }) => {
      const { runService } = await import("../../runtime/kit/index.js");
      const { healthService } = await import("../../runtime/health/index.js");
      await runService(healthService, { command: "meridian health serve", configFile: o.config, overrides: { server: { port: o.port, host: o.host } } });
    });
}
