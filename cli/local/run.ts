/**
 * Wiring for `meridian local` and its region processes (plan.ts checks every argument against the stack
 * before anything starts). `runLocal` binds the dashboard, starts the estate with progress on
 * stderr, prints where everything is on stdout, and stops everything on Ctrl-C / SIGTERM / SIGHUP
 * (a second Ctrl-C stops at once).
 */
import { escrowMapKey } from "../../runtime/escrow/map-publisher.js";
import { LocalEstate } from "../../runtime/local/estate.js";
import { startDashboard, type Dashboard } from "../../runtime/local/dashboard.js";
import { bindOrExplain, PortUnavailableError } from "../../runtime/local/ports.js";
import { RegionStartError } from "../../runtime/local/supervisor.js";
import { renderTopologySvg } from "../render/graph.js";
import type { LocalPlan } from "./plan.js";
import { createWriteStream } from "node:fs";

/** JSON lines to a file (appended) or stderr; undefined when no log was asked for. */
function queryLogWriter(target: string | undefined): ((entry: object) => void) | undefined {
  if (target === undefined) return undefined;
  const out = target === "-" ? process.stderr : createWriteStream(target, { flags: "a" }).on("error", (e) => say(`query log ${target}: ${e.message} (no longer written)`));
  return (entry) => void out.write(`${JSON.stringify(entry)}\n`);
}

const say = (line: string) => process.stderr.write(`meridian local: ${line}\n`);

export async function runLocal(plan: LocalPlan): Promise<void> {
  const { spec } = plan;
  let estate: LocalEstate | undefined;
  let dashboard: Dashboard | undefined;
  const starting = new AbortController();
  let stopping: Promise<void> | undefined;
  const stop = (why: string) => {
    starting.abort();
    stopping ??= (async () => {
      say(`stopping (${why}) …`);
      await dashboard?.close().catch(() => undefined);
      await estate?.stop();
    })();
    return stopping;
  };
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      say("stopping now");
      for (const p of estate?.supervisor.running() ?? []) p.child.kill("SIGKILL");
      process.exit(130);
    }
    void stop(sig).then(() => process.exit(0));
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, onSignal);

  try {
    dashboard = await bindOrExplain("dashboard", `127.0.0.1:${plan.dashboardPort}`, "--port <n>", () =>
      startDashboard({ estate: () => estate, port: plan.dashboardPort, topologySvg: renderTopologySvg(spec) }),
    );
    say(`dashboard at ${dashboard.url} (live once the estate is up)`);
    estate = await LocalEstate.start({
      spec,
      regionIds: plan.regionIds,
      dnsPort: plan.dnsPort,
      basePort: plan.basePort,
      redisUrl: plan.redis,
      postgresUrl: plan.postgres,
      progress: say,
      regionOutput: (region, line) => process.stderr.write(`[${region}] ${line}\n`),
      signal: starting.signal,
      routing: plan.routing,
      queryLog: queryLogWriter(plan.queryLog),
    });
  } catch (err) {
    if (stopping) return void (await stopping);
    await dashboard?.close().catch(() => undefined);
    if (err instanceof PortUnavailableError || err instanceof RegionStartError) {
      process.stderr.write(`meridian local: ${(err as Error).message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const fqdn = `${spec.dns.host}.${spec.dns.apex}`;
  const lines = [
    `Meridian local estate (stack ${spec.stack}) is up:`,
    ...estate.regions.map((r) => `  region ${r.id.padEnd(14)} ${r.url}`),
    `  GSLB DNS resolver   udp://127.0.0.1:${estate.dns.port}   ${estate.policy.mode} routing; try: dig @127.0.0.1 -p ${estate.dns.port} ${fqdn}  (+subnet=100.66.0.0/24 asks from Europe)`,
    `  escrow              <region>/escrow/v1/…   e.g. curl ${estate.regions[0]!.url}/escrow/v1/inventory/${Object.keys(spec.runtime.escrow.inventory)[0] ?? "<sku>"}`,
    `  proof log           ${estate.globals.log.url}   witnesses ${estate.globals.log.witnesses.map((w) => w.url).join(", ")}`,
    `  log monitor         ${estate.globals.log.monitor.url}   e.g. curl ${estate.globals.log.monitor.url}/v1/status  (and /v1/evidence)`,
    `  attest verifier     ${estate.globals.attest.url}   e.g. curl -X POST ${estate.globals.attest.url}/v1/attest/nonce`,
    `  quota               ${estate.globals.quota.url}/v1/quota/…`,
    // A tenant's usage, proven against the map root in a checkpoint the local log signed (not on the map's word).
    `  verifiable map      ${estate.globals.map.url}   e.g. npx meridian map get quota --quota-node <tenant> --url ${estate.globals.map.url} --log ${estate.globals.log.url} --vkey ${estate.globals.log.verifierKey}`,
    // A region's escrow balance of a SKU (map `escrow`, key <region>/<sku>), proven the same way.
    `                      or npx meridian map get escrow ${escrowMapKey(estate.regions[0]!.id, Object.keys(spec.runtime.escrow.inventory)[0] ?? "<sku>")} --url ${estate.globals.map.url} --log ${estate.globals.log.url} --vkey ${estate.globals.log.verifierKey}`,
    `  NTP grandmaster     udp://127.0.0.1:${estate.globals.grandmaster.port}`,
    `  dashboard           ${dashboard.url}`,
    // The chaos toolkit from another terminal (a fault past the max offset freezes the region's clock).
    `  chaos               npx meridian chaos skew --region ${estate.regions.at(-1)!.id} --skew-ms ${Math.round(spec.time.maxOffsetMs * 1.2)} --duration 30 --dashboard ${dashboard.url}   (also partition, latency, loss, degrade; each reverts by itself)`,
    "Ctrl-C stops everything.",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
