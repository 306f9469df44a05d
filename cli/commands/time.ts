/**
 * `meridian time …`: the time fabric's operator commands.
 *   grandmaster  run the simulated GPS/atomic ensemble as a stratum-1 NTP server (real clients sync to it)
 *   hierarchy    print each region's time sources (and what was excluded, and why)
 *   chrony       print the chrony.conf a region's nodes get, rendered from the time hierarchy
 *   query        measure this machine's offset from an NTP server (SNTP, one exchange)
 */
import type { Command } from "commander";
import { UserError } from "../errors.js";
import { closeOnSignal } from "../signals.js";

function number(flag: string, min: number, max: number, integer = false) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new UserError(`${flag} ${value}: expected ${integer ? "an integer" : "a number"} from ${min} to ${max}`);
    }
    return n;
  };
}

export function register(program: Command): void {
  const time = program.command("time").description("time fabric: grandmaster simulator and chrony configuration");

  time
    .command("serve")
    .description("serve a region's clock: HLC (x-meridian-hlc header), TrueTime interval and skew state over HTTP, synced to a grandmaster")
    .requiredOption("-p, --port <n>", "HTTP port", number("--port", 0, 65535, true))
    .option("--host <address>", "listen address", "127.0.0.1")
    .requiredOption("--region <id>", "the region this clock serves")
    .requiredOption("--max-offset-ms <ms>", "HLC max offset: remote timestamps further ahead are refused", number("--max-offset-ms", 1, 60_000))
    .option("--grandmaster <host:port>", "NTP server to measure against (the region's grandmaster)")
    .option("--sync-interval-ms <ms>", "how often to measure", number("--sync-interval-ms", 100, 3_600_000), 16_000)
    .action(async (o: { port: number; host: string; region: string; maxOffsetMs: number; grandmaster?: string; syncIntervalMs: number }) => {
      let grandmaster: { host: string; port: number } | undefined;
      if (o.grandmaster !== undefined) {
        const m = /^([^:]+):(\d{1,5})$/.exec(o.grandmaster);
        if (!m || Number(m[2]) > 65535) throw new UserError(`--grandmaster ${o.grandmaster}: expected host:port`);
        grandmaster = { host: m[1]!, port: Number(m[2]) };
      }
      const { startClockServer } = await import("../../runtime/clock/serve.js");
      const server = await startClockServer({ port: o.port, host: o.host, region: o.region, maxOffsetMs: o.maxOffsetMs, grandmaster, syncIntervalMs: o.syncIntervalMs });
      process.stdout.write(`meridian time serve: ${o.region} clock on ${server.url}${grandmaster ? `, synced to ${o.grandmaster}` : ""}\n`);
      closeOnSignal(() => server.close());
    });

  time
    .command("grandmaster")
    .description("serve the simulated GPS + rubidium + cesium ensemble as a stratum-1 NTPv4 server (UDP)")
    .requiredOption("-p, --port <n>", "UDP port for NTP (123 needs root)", number("--port", 0, 65535, true))
    .option("--offset-ms <x>", "serve time wrong by this many ms (drills and tests)", number("--offset-ms", -86_400_000, 86_400_000), 0)
    .option("--scenario <file>", "YAML/JSON scenario of GPS faults, ε inflation and leap seconds")
    .option("--source <kind>", "primary source: gps (with rubidium and cesium), rubidium or cesium", "gps")
    .option("--smear", "serve leap-smeared time (never mix with unsmeared sources)", false)
    .option("--host <addr>", "address to bind", "127.0.0.1")
    .option("--http-port <n>", "admin API port: /status, /metrics, /drills/*", number("--http-port", 0, 65535, true))
    .action(async (opts: { port: number; offsetMs: number; scenario?: string; source: string; smear: boolean; host: string; httpPort?: number }) => {
      if (!["gps", "rubidium", "cesium"].includes(opts.source)) throw new UserError(`--source ${opts.source}: expected gps, rubidium or cesium`);
      const { Grandmaster } = await import("../../runtime/clock/grandmaster.js");
      const { parseScenario, ScenarioError } = await import("../../runtime/clock/scenario.js");
      let scenario;
      if (opts.scenario !== undefined) {
        const { readFileSync } = await import("node:fs");
        let text: string;
        try {
          text = readFileSync(opts.scenario, "utf8");
        } catch (e) {
          throw new UserError(`--scenario ${opts.scenario}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
        try {
          scenario = parseScenario(text, opts.scenario);
        } catch (e) {
          if (e instanceof ScenarioError) throw new UserError(e.message);
          throw e;
        }
      }
      const gm = new Grandmaster({ offsetMs: opts.offsetMs, primary: opts.source as "gps", smear: opts.smear, scenario });
      // A time server's receive/transmit stamps are only as good as its scheduling (chronyd runs with -P
      // for the same reason): raise our priority where allowed, carry on at the default where not.
      const { setPriority } = await import("node:os");
      let priority = "default priority";
      try {
        setPriority(-10);
        priority = "nice -10";
      } catch {
        // Not permitted (unprivileged container): the default priority still serves within a few ms.
      }
      let ports;
      try {
        ports = await gm.listen(opts.port, opts.host, opts.httpPort);
      } catch (e) {
        throw new UserError(`cannot bind ${opts.host}:${opts.port}: ${(e as Error).message}`);
      }
      const s = gm.sample();
      process.stdout.write(
        `grandmaster: NTP on udp://${opts.host}:${ports.ntp} stratum 1, offset ${opts.offsetMs} ms, ε ${s.epsilonMs.toExponential(2)} ms, ` +
          `${gm.ensemble.smeared ? "smeared" : "unsmeared"}, ${priority}${ports.http !== null ? `; admin on http://${opts.host}:${ports.http}` : ""}\n`,
      );
      closeOnSignal(() => gm.close());
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
    .command("query")
    .description("measure this machine's offset from an NTP server (one SNTP exchange)")
    .argument("<server>", "host:port, e.g. 127.0.0.1:10123")
    .action(async (server: string) => {
      const m = /^(.+):(\d{1,5})$/.exec(server);
      if (!m || Number(m[2]) > 65535) throw new UserError(`server ${server}: expected host:port, e.g. 127.0.0.1:10123`);
      const { ntpQuery } = await import("../../runtime/clock/ntp/client.js");
      const { preciseSystemClock } = await import("../../runtime/clock/grandmaster.js");
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
