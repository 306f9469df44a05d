/**
 * `meridian replication …`: the replication fabric's runtime.
 *   monitor   stamp this region's primary and report the lag of every copy it holds (heartbeat method)
 */
import type { Command } from "commander";
import { numberArg } from "../args.js";

export function register(program: Command): void {
  const replication = program.command("replication").description("replication fabric: lag monitoring");
  replication
    .command("monitor")
    .description("stamp the region's primary with a heartbeat and serve the lag of each copy it holds (/v1/replication, /readyz, /metrics)")
    .requiredOption("--config <file>", "service config, JSON or YAML: region, writes {writer, url}, copies [{writer, url, passwordFile}], maxLagSeconds, and the kit's `server` section")
    .option("-p, --port <n>", "HTTP port (default: the config's)", numberArg("--port", 0, 65535, true))
    .option("--host <address>", "listen address (default 127.0.0.1)")
    .action(async (o: { config: string; port?: number; host?: string }) => {
      const { runService } = await import("../../runtime/kit/index.js");
      const { replicationMonitorService } = await import("../../runtime/replication/index.js");
      await runService(replicationMonitorService, { command: "meridian replication monitor", configFile: o.config, overrides: { server: { port: o.port, host: o.host } } });
    });
}
