/**
 * The regional-outage drill, measured: kill -9 the region the GSLB is answering with, then time
 * detection (kill → the checkers mark it unhealthy), DNS failover (kill → the resolver stops returning
 * it) and drain (failover + the TTL clients may still cache the old answer), and run the invariant checks
 * (inventory never oversold, proof log consistent) the caller supplies.
 */
import { queryA } from "../../gslb/dns-client.js";
import type { LocalEstate } from "../estate.js";

export interface DrillCheck {
  name: string;
  run(): Promise<{ ok: boolean; detail: string }>;
}

export interface OutageMeasurement {
  region: string;
  address: string;
  answerBefore: string[];
  answerAfter: string[];
  detectionMs: number;
  dnsFailoverMs: number;
  drainMs: number;
  checks: { name: string; ok: boolean; detail: string }[];
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, pollMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`drill: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export async function regionalOutageDrill(
  estate: LocalEstate,
  options: { region?: string; checks?: DrillCheck[]; pollMs?: number; timeoutMs?: number } = {},
): Promise<OutageMeasurement> {
  const pollMs = options.pollMs ?? 25;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const fqdn = `${estate.spec.dns.host}.${estate.spec.dns.apex}`;
  const dns = { port: estate.dns.port };
  await waitFor("every region healthy", async () => (Object.values(estate.healthStates()).every((s) => s === "healthy") ? true : undefined), timeoutMs, pollMs);
  const answerBefore = await queryA(dns, fqdn);
  const target = options.region
    ? estate.regions.find((r) => r.id === options.region)
    : estate.regions.find((r) => answerBefore.includes(r.address));
  if (!target) throw new Error(`drill: no region to fail (answer was ${answerBefore.join(", ") || "empty"})`);

  const killedAt = Date.now();
  await estate.killRegion(target.id);
  const [detectedAt, failedOverAt] = await Promise.all([
    waitFor("the checkers to mark it unhealthy", async () => (estate.healthStates()[target.id] === "unhealthy" ? Date.now() : undefined), timeoutMs, pollMs),
    waitFor("DNS to stop answering with it", async () => ((await queryA(dns, fqdn)).includes(target.address) ? undefined : Date.now()), timeoutMs, pollMs),
  ]);
  const answerAfter = await queryA(dns, fqdn);
  const checks = [];
  for (const check of options.checks ?? []) checks.push({ name: check.name, ...(await check.run()) });
  const dnsFailoverMs = failedOverAt - killedAt;
  return {
    region: target.id,
    address: target.address,
    answerBefore,
    answerAfter,
    detectionMs: detectedAt - killedAt,
    dnsFailoverMs,
    drainMs: dnsFailoverMs + estate.spec.dns.ttlSeconds * 1000,
    checks,
  };
}
