/**
 * `meridian time …`: the time fabric's operator commands.
 *   serve        run a region's clock service (HLC, TrueTime, skew state) on the service kit
 *   grandmaster  run the simulated GPS/atomic ensemble as a stratum-1 NTP server (real clients sync to it)
 *   agent        the node time agent: serve the node's chrony tracking to the pods on that node
 *   hierarchy    print each region's time sources (and what was excluded, and why)
 *   chrony       print the chrony.conf a region's nodes get, rendered from the time hierarchy
 *   query        measure this machine's offset from an NTP server (SNTP, one exchange)
 *   reset        the offline HLC reset: next epoch and a bound at the present in a stopped clock's data directory
 */
import type { Command } from "commander";
import { numberArg } from "../args.js";
import { UserError } from "../errors.js";

export function register(program: Command): void {
  const time = program.command("time").description("time fabric: grandmaster simulator and chrony configuration");

  time
    .command("serve")
    .description("serve a region's clock: HLC (x-meridian-hlc header), TrueTime interval and skew state over HTTP, synced to a grandmaster or the node's chrony")
    .option("--config <file>", "service config, JSON or YAML: region, maxOffsetMs, skew thresholds, grandmaster, and the kit's `server` section")
    .option("-p, --port <n>", "HTTP port (default 8080)", numberArg("--port", 0, 65535, true))
    .option("--host <address>", "listen address (default 127.0.0.1)")
    .option("--region <id>", "the region this clock serves")
    .option("--max-offset-ms <ms>", "HLC max offset: remote timestamps further ahead are refused", numberArg("--max-offset-ms", 1, 60_000))
    .option("--grandmaster <host:port>", "NTP server to measure against (the region's grandmaster)")
    .option("--chrony <host:port>", "measure with the node's chronyd instead (its command port, e.g. 127.0.0.1:323): ClockBound-style status and error bound")
    .option("--agent <host:port>", "measure with the node's chrony as the node time agent serves it (`meridian time agent`), as deployed pods do")
    .option("--sync-interval-ms <ms>", "how often to measure (default 16000)", numberArg("--sync-interval-ms", 100, 3_600_000))
    .option("--data-dir <dir>", "where the HLC's wall-time upper bound is persisted; start-up waits it out (without it: max offset)")
    .option("--forward-jump-check", "take the clock out of service on a forward jump of the clock (≥ max offset / 2 by default)")
    .action(
      async (o: {
        config?: string;
        port?: number;
        host?: string;
        region?: string;
        maxOffsetMs?: number;
        grandmaster?: string;
        chrony?: string;
        agent?: string;
        syncIntervalMs?: number;
        dataDir?: string;
        forwardJumpCheck?: boolean;
      }) => {
        const { runService } = await import("../../runtime/kit/index.js");
        const { clockService, calibratedRealtimeClock } = await import("../../runtime/clock/index.js");
        await runService(clockService, {
          command: "meridian time serve",
          configFile: o.config,
          overrides: {
            server: { port: o.port, host: o.host },
            region: o.region,
            maxOffsetMs: o.maxOffsetMs,
            grandmaster: o.grandmaster,
            chrony: o.chrony,
            agent: o.agent,
            syncIntervalMs: o.syncIntervalMs,
            dataDir: o.dataDir,
            forwardJumpCheck: o.forwardJumpCheck,
          },
          // Date.now() resolves 1 ms: too coarse for a clock service measured against NTP. The calibrated clock
          // is sub-ms and re-anchors to the system clock, so a step of it reaches the jump monitor.
          clock: calibratedRealtimeClock(),
        });
      },
    );

  time
    .command("grandmaster")
    .description("serve the simulated GPS + rubidium + cesium ensemble as a stratum-1 NTPv4 server (UDP), with an admin API over HTTP")
    .option("--config <file>", "service config, JSON or YAML: ntp {host, port}, offsetMs, source, smear, scenario, and the kit's `server` section")
    .option("-p, --port <n>", "UDP port for NTP (123 needs root)", numberArg("--port", 0, 65535, true))
    .option("--offset-ms <x>", "serve time wrong by this many ms (drills and tests)", numberArg("--offset-ms", -86_400_000, 86_400_000))
    .option("--scenario <file>", "YAML/JSON scenario of GPS faults, ε inflation and leap seconds")
    .option("--source <kind>", "primary source: gps (with rubidium and cesium), rubidium or cesium")
    .option("--smear", "serve leap-smeared time (never mix with unsmeared sources)")
    .option("--host <addr>", "address to bind NTP and the admin API (default 127.0.0.1)")
    .option("--http-port <n>", "admin API port: /status, /healthz, /readyz, /metrics, /drills/* (default: the config's, else an ephemeral port)", numberArg("--http-port", 0, 65535, true))
    .action(async (o: { config?: string; port?: number; offsetMs?: number; scenario?: string; source?: string; smear?: boolean; host?: string; httpPort?: number }) => {
      if (o.source !== undefined && !["gps", "rubidium", "cesium"].includes(o.source)) throw new UserError(`--source ${o.source}: expected gps, rubidium or cesium`);
      if (o.config === undefined && o.port === undefined) throw new UserError("give --port <n> (the NTP port) or --config <file>");
      // A time server's receive/transmit stamps are only as good as its scheduling (chronyd runs with -P
      // for the same reason): raise our priority where allowed, carry on at the default where not.
      const { setPriority } = await import("node:os");
      try {
        setPriority(-10);
      } catch {
        // Not permitted (unprivileged container): the default priority still serves within a few ms.
      }
      const { runService } = await import("../../runtime/kit/index.js");
      const { grandmasterService } = await import("../../runtime/clock/index.js");
      await runService(grandmasterService, {
        command: "meridian time grandmaster",
        configFile: o.config,
        overrides: {
          server: { host: o.host, port: o.httpPort ?? (o.config === undefined ? 0 : undefined) },
          ntp: { port: o.port },
          offsetMs: o.offsetMs,
          source: o.source,
          smear: o.smear,
          scenario: o.scenario,
        },
      });
    });

  time
    .command("agent")
    .description("the node time agent: read the node's chronyd (`chronyc -c tracking`) every second and serve it to pods (GET /v1/tracking, /status)")
    .option("--config <file>", "service config, JSON or YAML: chrony (host:port), intervalMs, and the kit's `server` section")
    .option("--chrony <host:port>", "chronyd's command port (default 127.0.0.1:323: the agent runs on the node's network)")
    .option("--interval-ms <ms>", "between reads of chrony's tracking (default 1000)", numberArg("--interval-ms", 100, 60_000))
    .option("-p, --port <n>", "HTTP port (default 8080)", numberArg("--port", 0, 65535, true))
    .option("--host <address>", "listen address (default 127.0.0.1; deployed: the node's address)")
    .action(async (o: { config?: string; chrony?: string; intervalMs?: number; port?: number; host?: string }) => {
      const { runService } = await import("../../runtime/kit/index.js");
      const { timeAgentService } = await import("../../runtime/clock/index.js");
      await runService(timeAgentService, {
        command: "meridian time agent",
        configFile: o.config,
        overrides: { server: { port: o.port, host: o.host }, chrony: o.chrony, intervalMs: o.intervalMs },
      });
    });

  time
    .command("relay")
    .description("serve NTP as a relay: poll independent references, vote with Marzullo's algorithm, serve the majority's time at their stratum + 1 (leap 3 / stratum 16 without a majority)")
    .option("--config <file>", "service config, JSON or YAML: references [{name, server}], ntp {host, port}, pollMs, and the kit's `server` section")
    .option("--reference <name=host:port>", "an NTP reference to vote over (repeat; three or more outvote a falseticker)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("-p, --port <n>", "UDP port for NTP (123 needs root)", numberArg("--port", 0, 65535, true))
    .option("--poll-ms <ms>", "between polls of every reference", numberArg("--poll-ms", 100, 3_600_000))
    .option("--host <addr>", "address to bind NTP and the HTTP API (default 127.0.0.1)")
    .option("--http-port <n>", "HTTP port: /status, /healthz, /readyz, /metrics (default: the config's, else an ephemeral port)", numberArg("--http-port", 0, 65535, true))
    .action(async (o: { config?: string; reference: string[]; port?: number; pollMs?: number; host?: string; httpPort?: number }) => {
      const references = o.reference.map((r) => {
        const m = /^([^=\s]+)=(\S+)$/.exec(r);
        if (!m) throw new UserError(`--reference ${r}: expected name=host:port, e.g. nts1=127.0.0.1:10123`);
        return { name: m[1]!, server: m[2]! };
      });
      if (o.config === undefined && references.length === 0) throw new UserError("give --reference name=host:port (repeat it) or --config <file>");
      const { runService } = await import("../../runtime/kit/index.js");
      const { grandmasterRelayService } = await import("../../runtime/clock/index.js");
      await runService(grandmasterRelayService, {
        command: "meridian time relay",
        configFile: o.config,
        overrides: {
          server: { host: o.host, port: o.httpPort ?? (o.config === undefined ? 0 : undefined) },
          ntp: { port: o.port, host: o.host },
          references: references.length > 0 ? references : undefined,
          pollMs: o.pollMs,
        },
      });
    });

  time
    .command("hierarchy")
    .description("print each region's time sources from the stack's time hierarchy")
    .option("-s, --stack <name>", "stack name", "prod")
    .action(async (opts: { stack: string }) => {
      const plans = await hierarchyFor(opts.stack);
      for (const p of plans) {
        process.stdout.write(`${p.region} (${p.cloud}, ${p.smear})\n`);
        for (const s of p.sources) process.stdout.write(`  ${s.directive.padEnd(8)} ${s.target.padEnd(48)} ${s.note}\n`);
        for (const e of p.excluded) process.stdout.write(`  excluded ${e.source.target.padEnd(48)} ${e.source.smear}\n`);
        if (p.ptpNetwork) process.stdout.write(`  linuxptp on ${p.ptpNetwork.interface}, domain ${p.ptpNetwork.domainNumber}\n`);
      }
    });

  time
    .command("chrony")
    .description("print the chrony.conf rendered for a region")
    .option("-s, --stack <name>", "stack name", "prod")
    .requiredOption("-r, --region <id>", "region id")
    .action(async (opts: { stack: string; region: string }) => {
      const plans = await hierarchyFor(opts.stack);
      const plan = plans.find((p) => p.region === opts.region);
      if (!plan) throw new UserError(`--region ${opts.region}: no such region in stack ${opts.stack}; expected one of ${plans.map((p) => p.region).join(", ")}`);
      const { renderChronyConf } = await import("../../model/time/chrony.js");
      process.stdout.write(renderChronyConf(plan));
    });

  time
    .command("reset")
    .description(
      "offline HLC reset of a stopped clock service: write the next HLC epoch and an upper bound at the present into its --data-dir (clients holding older timestamps are then told 'hlc reset'); for a running service use POST /v1/time/reset",
    )
    .requiredOption("--data-dir <dir>", "the clock service's data directory (config dataDir), with the service stopped")
    .requiredOption("--reason <text>", "why the HLC is reset (kept in the state file and shown to clients)")
    .action(async (o: { dataDir: string; reason: string }) => {
      const reason = o.reason.trim();
      if (reason === "" || reason.length > 500) throw new UserError("--reason: give 1 to 500 characters saying why the HLC is reset");
      const { existsSync } = await import("node:fs");
      if (!existsSync(o.dataDir)) throw new UserError(`--data-dir ${o.dataDir}: no such directory (the clock service's dataDir)`);
      const { resetDataDir, HlcResetRefusedError, preciseSystemClock } = await import("../../runtime/clock/index.js");
      try {
        const r = resetDataDir(o.dataDir, preciseSystemClock, reason);
        process.stdout.write(
          `${JSON.stringify({ file: r.file, previousEpoch: r.previous.epoch, epoch: r.reset.epoch, previousUpperBound: r.previous.upperBoundMicros === null ? null : new Date(r.previous.upperBoundMicros / 1000).toISOString(), at: r.reset.at, reason: r.reset.reason })}\n`,
        );
      } catch (e) {
        if (e instanceof HlcResetRefusedError) throw new UserError(e.message);
        throw e;
      }
    });

  time
    .command("query")
    .description("measure this machine's offset from an NTP server (one SNTP exchange)")
    .argument("<server>", "host:port, e.g. 127.0.0.1:10123")
    .action(async (server: string) => {
      const m = /^(.+):(\d{1,5})$/.exec(server);
      if (!m || Number(m[2]) > 65535) throw new UserError(`server ${server}: expected host:port, e.g. 127.0.0.1:10123`);
      const { ntpQuery, preciseSystemClock } = await import("../../runtime/clock/index.js");
      try {
        const r = await ntpQuery(m[1]!, Number(m[2]), { clock: preciseSystemClock });
        process.stdout.write(`offset ${r.offsetMs.toFixed(3)} ms ± ${r.errorBoundMs.toFixed(3)} ms, delay ${r.delayMs.toFixed(3)} ms, stratum ${r.stratum}, refid ${r.referenceId}, leap ${r.leap}\n`);
      } catch (e) {
        throw new UserError((e as Error).message);
      }
    });
}

async function hierarchyFor(stack: string) {
  const { loadStack } = await import("../../stacks/load.js");
  const { buildEstateSpec } = await import("../../model/estate.js");
  const { timeHierarchy, TimeHierarchyError } = await import("../../model/time/hierarchy.js");
  try {
    return timeHierarchy(buildEstateSpec(stack, loadStack(stack)));
  } catch (e) {
    if (e instanceof TimeHierarchyError) throw new UserError(e.message);
    throw e;
  }
}
