/** Wiring for `meridian local` and its region processes: load the stack, start, print, wait for a signal. */
import { buildEstateSpec } from "../../model/estate.js";
import { loadStack } from "../../stacks/load.js";
import { LocalEstate } from "../../runtime/local/estate.js";
import { startDashboard } from "../../runtime/local/dashboard.js";
import { startRegionNode } from "../../runtime/local/region-node.js";
import { regionServices } from "../../runtime/local/services/index.js";
import { renderTopologySvg } from "../render/graph.js";

export async function runLocal(opts: { stack: string; regions?: number; port?: number; dnsPort?: number; redis?: string; postgres?: string }): Promise<void> {
  const spec = buildEstateSpec(opts.stack, loadStack(opts.stack));
  const estate = await LocalEstate.start({ spec, regions: opts.regions, dnsPort: opts.dnsPort, redisUrl: opts.redis, postgresUrl: opts.postgres });
  const dashboard = await startDashboard({
    estate,
    port: opts.port ?? spec.runtime.local.dashboardPort,
    topologySvg: renderTopologySvg(spec),
  });
  const fqdn = `${spec.dns.host}.${spec.dns.apex}`;
  const lines = [
    `Meridian local estate (stack ${spec.stack}) is up:`,
    ...estate.regions.map((r) => `  region ${r.id.padEnd(14)} ${r.url}`),
    `  GSLB DNS resolver   udp://127.0.0.1:${estate.dns.port}   try: dig @127.0.0.1 -p ${estate.dns.port} ${fqdn}`,
    `  escrow              ${estate.globals.escrow.url}   (X-Region: <region id>)`,
    `  proof log           ${estate.globals.log.url}   witnesses ${estate.globals.log.witnesses.map((w) => w.url).join(", ")}`,
    `  NTP grandmaster     udp://127.0.0.1:${estate.globals.grandmaster.port}`,
    `  dashboard           ${dashboard.url}`,
    "Ctrl-C stops everything.",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await dashboard.app.close();
  await estate.stop();
}

export async function runRegion(opts: { stack: string; region: string; host: string; port: number; skewMs: number; grandmaster?: string; redis?: string; postgres?: string }): Promise<void> {
  const spec = buildEstateSpec(opts.stack, loadStack(opts.stack));
  const node = await startRegionNode({
    spec,
    regionId: opts.region,
    host: opts.host,
    port: opts.port,
    skewMs: opts.skewMs,
    services: regionServices,
    grandmaster: opts.grandmaster ? { host: opts.grandmaster.split(":")[0]!, port: Number(opts.grandmaster.split(":")[1]) } : undefined,
    redisUrl: opts.redis,
    postgresUrl: opts.postgres,
  });
  process.stdout.write(`${JSON.stringify({ event: "listening", region: opts.region, url: node.url })}\n`);
  await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
  await node.close();
}
