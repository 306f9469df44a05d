/**
 * The regional-outage drill, measured: with buyers selling through the GSLB (each with its own resolver
 * cache) and their sales audited into the proof log, wait until the region DNS answers with has itself
 * sold, kill -9 that region's process — its escrow with it — and measure from what happens:
 *   detection: kill → the GSLB's checkers mark it unhealthy;
 *   DNS failover: kill → the resolver stops answering with it;
 *   drain: kill → the last request a client sent to it (clients keep their cached answer for its TTL),
 *          taken from the observed traffic once every client has resolved again after the failover.
 * Then check the invariants against what buyers were told (checks.ts). Every wait has a deadline: a drill
 * that cannot finish says what it was waiting for and fails, instead of hanging.
 * The runbook's numbers come from the traffic model (`providerTiming`) for the same policy.
 */
import { providerTiming, type ProviderTiming } from "../../../model/traffic/timing.js";
import { queryA } from "../../gslb/index.js";
import type { LocalEstate } from "../estate.js";
import { deadLeaseReclaimed, escrowInvariants, logCheckpoint, logConsistency, type CheckResult } from "./checks.js";
import { salesIn, startDrillTraffic, type DrillTraffic } from "./workload.js";

export interface OutageMeasurement {
  region: string;
  address: string;
  answerBefore: string[];
  answerAfter: string[];
  /** Null when the drill timed out before reaching that point. */
  detectionMs: number | null;
  dnsFailoverMs: number | null;
  drainMs: number | null;
  /** Requests clients sent to the dead region after the kill (all refused). */
  requestsAfterKill: number;
  runbook: ProviderTiming;
  checks: CheckResult[];
  /** Acknowledged sales per region: before the kill, and in all. */
  salesBeforeKill: Record<string, number>;
  sales: Record<string, number>;
  /** Set when a wait ran out: what the drill was waiting for. */
  timedOut?: string;
}

export class DrillTimeout extends Error {
  override name = "DrillTimeout";
}

/**
 * The drill's own DNS queries wait as long as a stub resolver does (glibc's default `timeout:5`): the resolver
 * runs in this process, and on a loaded machine a stalled event loop must not read as a missing answer.
 */
const RESOLVER_TIMEOUT_MS = 5000;

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, pollMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new DrillTimeout(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

const byRegion = (estate: LocalEstate, count: (id: string) => number) => Object.fromEntries(estate.regions.map((r) => [r.id, count(r.id)]));

export async function regionalOutageDrill(estate: LocalEstate, options: { region?: string; pollMs?: number; timeoutMs?: number; settleMs?: number } = {}): Promise<OutageMeasurement> {
  const pollMs = options.pollMs ?? 25;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const fqdn = `${estate.spec.dns.host}.${estate.spec.dns.apex}`;
  const dns = { port: estate.dns.port };
  const runbook = providerTiming(estate.policy, estate.policy.providers[0]!);
  const m: OutageMeasurement = {
    region: "",
    address: "",
    answerBefore: [],
    answerAfter: [],
    detectionMs: null,
    dnsFailoverMs: null,
    drainMs: null,
    requestsAfterKill: 0,
    runbook,
    checks: [],
    salesBeforeKill: {},
    sales: {},
  };
  let traffic: DrillTraffic | undefined;
  let killedAt = 0;
  try {
    await waitFor("every region to be healthy", () => (Object.values(estate.healthStates()).every((s) => s === "healthy") ? true : undefined), timeoutMs, pollMs);
    m.answerBefore = await queryA(dns, fqdn, RESOLVER_TIMEOUT_MS);
    const target = options.region ? estate.region(options.region) : estate.regions.find((r) => m.answerBefore.includes(r.address));
    if (!target) throw new DrillTimeout(`no region to fail: DNS answered ${m.answerBefore.join(", ") || "nothing"}`);
    m.region = target.id;
    m.address = target.address;

    traffic = startDrillTraffic(estate);
    const t = traffic;
    // The fault must hit a region that is really selling: its own escrow holds a lease and has sold.
    await waitFor(`${target.id} to acknowledge sales (is DNS sending buyers there?)`, () => (salesIn(t, target.id) >= 5 ? true : undefined), timeoutMs, pollMs);
    // The pre-fault checkpoint covers what was audited so far, so the consistency proof spans the fault.
    const covered = Math.max(0, ...t.logged.map((l) => l.index + 1));
    await waitFor("the log to publish a checkpoint covering the sales so far", async () => ((await logCheckpoint(estate)).size >= covered ? true : undefined), timeoutMs, 100);
    const before = await logCheckpoint(estate);
    killedAt = Date.now();
    m.salesBeforeKill = byRegion(estate, (id) => salesIn(t, id, killedAt));
    await estate.killRegion(target.id);
    const [detectedAt, failedOverAt] = await Promise.all([
      waitFor("the checkers to mark it unhealthy", () => (estate.healthStates()[target.id] === "unhealthy" ? Date.now() : undefined), timeoutMs, pollMs),
      waitFor("DNS to stop answering with it", async () => ((await queryA(dns, fqdn, RESOLVER_TIMEOUT_MS)).includes(target.address) ? undefined : Date.now()), timeoutMs, pollMs),
    ]);
    m.detectionMs = detectedAt - killedAt;
    m.dnsFailoverMs = failedOverAt - killedAt;
    // Drained once every client has resolved again after the failover: from then on nobody can reach the dead region.
    await waitFor("every client to resolve the name again", () => (t.resolvedAtMs.every((at) => at > failedOverAt) ? true : undefined), timeoutMs, pollMs);
    const late = t.attempts.filter((a) => a.region === target.id && a.atMs >= killedAt);
    m.requestsAfterKill = late.length;
    m.drainMs = late.length ? Math.max(...late.map((a) => a.atMs)) - killedAt : 0;
    // Keep selling through the survivors for a moment, then stop and check.
    await new Promise((r) => setTimeout(r, options.settleMs ?? 1000));
    await traffic.stop();
    m.answerAfter = await queryA(dns, fqdn, RESOLVER_TIMEOUT_MS);
    m.sales = byRegion(estate, (id) => salesIn(t, id));
    m.checks.push({
      name: `${target.id}'s own escrow was selling when it was killed`,
      ok: (m.salesBeforeKill[target.id] ?? 0) > 0,
      detail: `${m.salesBeforeKill[target.id] ?? 0} sales acknowledged there before the kill`,
    });
    const survivors = Object.entries(m.sales).filter(([id]) => id !== target.id);
    m.checks.push({
      name: "the survivors took over the sales",
      ok: survivors.some(([id, n]) => n > (m.salesBeforeKill[id] ?? 0)),
      detail: survivors.map(([id, n]) => `${id} ${m.salesBeforeKill[id] ?? 0} → ${n}`).join(", "),
    });
    // Let the log publish a checkpoint covering the last appends, and the dead lease run out.
    const leaseMs = estate.spec.runtime.escrow.leaseTtlSeconds * 1000;
    await waitFor(
      `${target.id}'s lease to expire and its units to return to the pool`,
      async () => ((await deadLeaseReclaimed(estate, target.id)).ok ? true : undefined),
      leaseMs * 3 + 5000,
      250,
    ).catch(() => undefined);
    m.checks.push(await deadLeaseReclaimed(estate, target.id));
    m.checks.push(...(await escrowInvariants(estate, traffic)));
    // Up to 30 s: the log signs every 500 ms, but on a loaded machine (CI beside other work) 10 s once passed without one.
    await waitFor("a checkpoint covering every audit entry", async () => ((await logCheckpoint(estate)).size > Math.max(-1, ...t.logged.map((l) => l.index)) ? true : undefined), 30_000, 100).catch(
      () => undefined,
    );
    m.checks.push(...(await logConsistency(estate, before, traffic)));
  } catch (err) {
    if (!(err instanceof DrillTimeout)) throw err;
    m.timedOut = err.message;
    m.checks.push({ name: "the drill completed", ok: false, detail: err.message });
    await traffic?.stop();
    if (traffic && killedAt) m.sales = byRegion(estate, (id) => salesIn(traffic!, id));
  }
  return m;
}
