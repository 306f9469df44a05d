/**
 * Wiring for `meridian local` and its region processes. `localPlan` checks every argument against the
 * stack before anything starts; `runLocal` binds the dashboard, starts the estate with progress on
 * stderr, prints where everything is on stdout, and stops everything on Ctrl-C / SIGTERM / SIGHUP
 * (a second Ctrl-C stops at once).
 */
import { buildEstateSpec, type EstateSpec } from "../../model/estate.js";
import { loadStack } from "../../stacks/load.js";
import { LocalEstate } from "../../runtime/local/estate.js";
import { startDashboard, type Dashboard } from "../../runtime/local/dashboard.js";
import { bindOrExplain, PortUnavailableError } from "../../runtime/local/ports.js";
import { RegionStartError } from "../../runtime/local/supervisor.js";
import { UserError } from "../errors.js";
import { renderTopologySvg } from "../render/graph.js";
import type { LocalOptions } from "../commands/local.js";
import { routingModes, type RoutingMode } from "../../model/config/traffic.js";
import { createWriteStream, existsSync } from "node:fs";
import { dirname, resolve } from "node:path";

export interface LocalPlan {
  spec: EstateSpec;
  regionIds: string[];
  dashboardPort: number;
  dnsPort: number;
  basePort: number;
  redis?: string;
  postgres?: string;
  routing?: { mode?: RoutingMode; weights?: Record<string, number> };
  queryLog?: string;
}

/** `--routing` and `--weights`, checked against the schema and the stack. */
export function chooseRouting(spec: EstateSpec, mode: string | undefined, weights: string | undefined): LocalPlan["routing"] {
  if (mode !== undefined && !(routingModes as readonly string[]).includes(mode)) throw new UserError(`--routing: expected one of ${routingModes.join(", ")}, got "${mode}"`);
  let parsed: Record<string, number> | undefined;
  if (weights !== undefined) {
    parsed = {};
    const ids = spec.regions.map((r) => r.id);
    for (const item of weights.split(",").map((s) => s.trim()).filter(Boolean)) {
      const m = /^([^=]+)=(\d+)$/.exec(item);
      if (!m || Number(m[2]) > 255) throw new UserError(`--weights: expected region=weight (0-255), got "${item}"`);
      if (!ids.includes(m[1]!)) throw new UserError(`--weights: no region "${m[1]}" in stack ${spec.stack}; expected one of ${ids.join(", ")}`);
      parsed[m[1]!] = Number(m[2]);
    }
    if (Object.keys(parsed).length === 0) throw new UserError("--weights: expected region=weight pairs");
  }
  return mode === undefined && parsed === undefined ? undefined : { mode: mode as RoutingMode | undefined, weights: parsed };
}

/** `--regions 2` (the first two) or `--regions local-aws,local-gcp`, checked against the stack. */
export function chooseRegions(spec: EstateSpec, value: string | undefined, flag = "--regions"): string[] {
  const ids = spec.regions.map((r) => r.id);
  if (value === undefined) return ids;
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n < 1 || n > ids.length) throw new UserError(`${flag}: stack ${spec.stack} has ${ids.length} regions; expected 1-${ids.length}, got ${value}`);
    return ids.slice(0, n);
  }
  const asked = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const id of asked) if (!ids.includes(id)) throw new UserError(`${flag}: no region "${id}" in stack ${spec.stack}; expected one of ${ids.join(", ")}`);
  if (asked.length === 0) throw new UserError(`${flag}: expected a number or region ids`);
  return ids.filter((id) => asked.includes(id));
}

export function localPlan(opts: LocalOptions): LocalPlan {
  const spec = buildEstateSpec(opts.stack, loadStack(opts.stack));
  const ports = spec.runtime.local;
  const pick = (given: number | undefined, stackDefault: number) => given ?? (opts.autoPorts ? 0 : stackDefault);
  return {
    spec,
    regionIds: chooseRegions(spec, opts.regions),
    dashboardPort: pick(opts.port, ports.dashboardPort),
    dnsPort: pick(opts.dnsPort, ports.dnsPort),
    basePort: pick(opts.basePort, ports.basePort),
    redis: opts.redis,
    postgres: opts.postgres,
    routing: chooseRouting(spec, opts.routing, opts.weights),
    queryLog: checkQueryLog(opts.queryLog),
  };
}

function checkQueryLog(target: string | undefined): string | undefined {
  if (target === undefined || target === "-") return target;
  if (!existsSync(dirname(resolve(target)))) throw new UserError(`--query-log: directory ${dirname(resolve(target))} does not exist`);
  return target;
}

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
    `  NTP grandmaster     udp://127.0.0.1:${estate.globals.grandmaster.port}`,
    `  dashboard           ${dashboard.url}`,
    "Ctrl-C stops everything.",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
