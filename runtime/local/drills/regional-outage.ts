/**
 * The regional-outage drill, measured: with buyers and an auditor running, kill -9 the region the GSLB
 * is answering with, then time detection (kill → the checkers mark it unhealthy), DNS failover (kill →
 * the resolver stops returning it) and drain (failover + the TTL clients may still cache), and check the
 * invariants: inventory never oversold, no acknowledged sale lost, the proof log still consistent.
 * The runbook's numbers come from the traffic model (`providerTiming`) for the same policy.
 */
import { providerTiming, type ProviderTiming } from "../../../model/traffic/timing.js";
import { queryA } from "../../gslb/dns-client.js";
import type { LocalEstate } from "../estate.js";
import { escrowInvariants, logCheckpoint, logConsistency, type CheckResult } from "./checks.js";
import { startDrillTraffic } from "./workload.js";

export interface OutageMeasurement {
  region: string;
  address: string;
  answerBefore: string[];
  answerAfter: string[];
  detectionMs: number;
  dnsFailoverMs: number;
  drainMs: number;
  runbook: ProviderTiming;
  checks: CheckResult[];
  sales: Record<string, number>;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, pollMs: number): Promise<T> {
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
  options: { region?: string; pollMs?: number; timeoutMs?: number; warmupMs?: number } = {},
): Promise<OutageMeasurement> {
  const pollMs = options.pollMs ?? 25;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const fqdn = `${estate.spec.dns.host}.${estate.spec.dns.apex}`;
  const dns = { port: estate.dns.port };
  await waitFor("every region healthy", async () => (Object.values(estate.healthStates()).every((s) => s === "healthy") ? true : undefined), timeoutMs, pollMs);
  const answerBefore = await queryA(dns, fqdn);
  const target = options.region ? estate.regions.find((r) => r.id === options.region) : estate.regions.find((r) => answerBefore.includes(r.address));
  if (!target) throw new Error(`drill: no region to fail (answer was ${answerBefore.join(", ") || "empty"})`);

  const traffic = startDrillTraffic(estate);
  await new Promise((r) => setTimeout(r, options.warmupMs ?? 1000));
  const before = await logCheckpoint(estate);
  const killedAt = Date.now();
  await estate.killRegion(target.id);
  const [detectedAt, failedOverAt] = await Promise.all([
    waitFor("the checkers to mark it unhealthy", async () => (estate.healthStates()[target.id] === "unhealthy" ? Date.now() : undefined), timeoutMs, pollMs),
    waitFor("DNS to stop answering with it", async () => ((await queryA(dns, fqdn)).includes(target.address) ? undefined : Date.now()), timeoutMs, pollMs),
  ]);
  // Keep selling through the failed-over answer for a moment, then stop and check.
  await new Promise((r) => setTimeout(r, options.warmupMs ?? 1000));
  await traffic.stop();
  const answerAfter = await queryA(dns, fqdn);
  // Let the log publish a checkpoint covering the last appends before comparing.
  await new Promise((r) => setTimeout(r, 700));
  const checks = [...(await escrowInvariants(estate, traffic)), await logConsistency(estate, before)];
  const dnsFailoverMs = failedOverAt - killedAt;
  return {
    region: target.id,
    address: target.address,
    answerBefore,
    answerAfter,
    detectionMs: detectedAt - killedAt,
    dnsFailoverMs,
    drainMs: dnsFailoverMs + estate.policy.ttlSeconds * 1000,
    runbook: providerTiming(estate.policy, estate.policy.providers[0]!),
    checks,
    sales: Object.fromEntries(traffic.salesByRegion),
  };
}
