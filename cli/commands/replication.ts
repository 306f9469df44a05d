/**
 * `meridian replication …`: the replication fabric's runtime.
 *   monitor   stamp this region's primary and report the lag of every copy it holds (heartbeat method)
 *   rotate    rotate a publisher's replication login by alternating users (runtime/replication/rotate.ts)
 *   credentials  write the current logins from the secret managers into files, for a Job's psql (credentials.ts)
 */
import type { Command } from "commander";
import { numberArg } from "../args.js";

export function register(program: Command): void {
  const replication = program.command("replication").description("replication fabric: lag monitoring, login rotation");
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
  replication
    .command("rotate")
    .description("rotate a publisher's replication login without breaking its subscriptions (alternating users); a re-run finishes an interrupted rotation")
    .requiredOption(
      "--config <file>",
      "JSON or YAML: publisher {url, admin, replicationGrant}, login (secret reference), subscribers [{url, admin, subscription, source}], monitors [{url, admin, login}] (monitors only on a primary that publishes nowhere)",
    )
    .action(async (o: { config: string }) => {
      const { readConfigFile, ConfigFileError } = await import("../../runtime/kit/index.js");
      const { openSecretStore, rotateConfigSchema, rotateLogins } = await import("../../runtime/replication/index.js");
      const parsed = rotateConfigSchema.safeParse(readConfigFile(o.config));
      if (!parsed.success)
        throw new ConfigFileError(
          o.config,
          parsed.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`),
        );
      const done = await rotateLogins(parsed.data, {
        open: (ref) => openSecretStore(ref, process.env, {}, parsed.data.federation),
        progress: (step, detail) => void process.stdout.write(`${step}: ${detail}\n`),
      });
      process.stdout.write(done ? `rotated: subscriptions log in as ${done.username}\n` : `rotated: ${parsed.data.monitors.length} monitor login(s)\n`);
    });
  replication
    .command("credentials")
    .description("read logins from the clouds' secret managers and write them as username/password files (a replication Job's init step); on a publisher, create the replication roles first")
    .requiredOption("--config <file>", "JSON or YAML: logins [{secret, dir}], roles {url, admin, login, replicationGrant} (publishers)")
    .action(async (o: { config: string }) => {
      const { readConfigFile, ConfigFileError } = await import("../../runtime/kit/index.js");
      const { openSecretStore, credentialsConfigSchema, writeCredentials } = await import("../../runtime/replication/index.js");
      const parsed = credentialsConfigSchema.safeParse(readConfigFile(o.config));
      if (!parsed.success)
        throw new ConfigFileError(
          o.config,
          parsed.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`),
        );
      for (const line of await writeCredentials(parsed.data, { open: (ref) => openSecretStore(ref, process.env, {}, parsed.data.federation) })) process.stdout.write(`wrote ${line}\n`);
    });
}
