/**
 * Drill traffic, as real clients make it: each buyer resolves the GSLB name through its own stub-resolver
 * cache (an answer is kept for its TTL, as a client's resolver keeps it — so after a failover, buyers keep
 * going to the old region until their cached answer expires), then reserves one unit at the answered
 * region's escrow and commits it there. Every attempt is observed (when, which region, what came back),
 * which is what drain is measured from; every acknowledged sale is kept (id, region, SKU) and recorded
 * in the proof log as an HLC-stamped audit event, which is what the drill's invariants are checked against.
 */
import { systemClock } from "../../common/clock.js";
import { HybridClock } from "../../clock/index.js";
import { queryA } from "../../gslb/index.js";
import { AuditTrail, encodeAuditEvent, hlcTimestamps } from "../../prooflog/index.js";
import type { LocalEstate } from "../estate.js";

export interface Attempt {
  atMs: number;
  region: string;
  outcome: "sold" | "refused" | "error" | "limited" | "unavailable";
}

export interface AcknowledgedSale {
  id: string;
  sku: string;
  region: string;
  atMs: number;
}

export interface LoggedEntry {
  index: number;
  entry: Buffer;
}

export interface DrillTraffic {
  attempts: Attempt[];
  sales: AcknowledgedSale[];
  /** The audit entries the log acknowledged (index → exact bytes). */
  logged: LoggedEntry[];
  /** When each buyer last resolved the name (to know every client has seen a new answer). */
  resolvedAtMs: number[];
  errors: number;
  stop(): Promise<void>;
}

export function salesIn(traffic: DrillTraffic, region: string, beforeMs = Infinity): number {
  return traffic.sales.filter((s) => s.region === region && s.atMs < beforeMs).length;
}

export function startDrillTraffic(estate: LocalEstate, options: { buyers?: number; pauseMs?: number } = {}): DrillTraffic {
  const fqdn = `${estate.spec.dns.host}.${estate.spec.dns.apex}`;
  const skus = Object.keys(estate.spec.runtime.escrow.inventory);
  const buyers = options.buyers ?? 4;
  const traffic: DrillTraffic = { attempts: [], sales: [], logged: [], resolvedAtMs: Array.from({ length: buyers }, () => 0), errors: 0, stop: async () => undefined };
  const byAddress = new Map(estate.regions.map((r) => [r.address, r]));
  // Appended by the supervisor, as its own submitter: its events name end users (the buyers), never a workload.
  const trail = new AuditTrail(estate.globals.log.client, hlcTimestamps(new HybridClock({ clock: systemClock, maxOffsetMs: estate.spec.time.maxOffsetMs })));
  let running = true;
  let n = 0;
  const pause = () => new Promise((r) => setTimeout(r, options.pauseMs ?? 20));

  const buyer = async (b: number) => {
    let cached: { address: string; untilMs: number } | null = null;
    while (running) {
      const sku = skus[n % skus.length]!;
      const user = `drill-buyer-${b}-${n++}`;
      try {
        if (!cached || cached.untilMs <= Date.now()) {
          const [address] = await queryA({ port: estate.dns.port }, fqdn);
          traffic.resolvedAtMs[b] = Date.now();
          cached = address ? { address, untilMs: Date.now() + estate.policy.ttlSeconds * 1000 } : null;
        }
        const region = cached ? byAddress.get(cached.address) : undefined;
        if (region) await buy(region.id, region.url, sku, user);
      } catch {
        traffic.errors += 1;
      }
      await pause();
    }
  };

  const buy = async (region: string, url: string, sku: string, user: string) => {
    const atMs = Date.now();
    const note = (outcome: Attempt["outcome"]) => traffic.attempts.push({ atMs, region, outcome });
    // Each buyer proves who they are with a token from the estate's identity provider.
    const auth = { authorization: `Bearer ${await estate.globals.buyers.token(user)}` };
    let res: Response;
    try {
      res = await fetch(`${url}/escrow/v1/inventory/${sku}/reservations`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ qty: 1 }),
        signal: AbortSignal.timeout(2000),
      });
    } catch {
      return note("refused");
    }
    const body = (await res.json().catch(() => ({}))) as { reservationId?: string };
    if (res.status !== 201 || !body.reservationId) return note(res.status === 429 ? "limited" : "unavailable");
    const id = body.reservationId;
    try {
      const commit = await fetch(`${url}/escrow/v1/reservations/${id}/commit`, { method: "POST", headers: auth, signal: AbortSignal.timeout(2000) });
      await commit.arrayBuffer();
      if (commit.status !== 200) return note("unavailable");
    } catch {
      return note("error");
    }
    note("sold");
    const sale = { id, sku, region, atMs: Date.now() };
    traffic.sales.push(sale);
    // The auditor's record of what the buyer was told (the proof log must keep it whatever fails); the
    // buyer does not wait for it.
    const audit = trail.record({ actor: "drill-buyer", action: "sale-acknowledged", subject: id, detail: { region, sku } }).then(
      ({ index, event }) => void traffic.logged.push({ index, entry: encodeAuditEvent(event) }),
      () => void (traffic.errors += 1),
    );
    audits.add(audit);
    void audit.finally(() => audits.delete(audit));
  };
  const audits = new Set<Promise<void>>();

  const loops = Array.from({ length: buyers }, (_, b) => buyer(b));
  traffic.stop = async () => {
    running = false;
    await Promise.all(loops);
    await Promise.all(audits);
  };
  return traffic;
}
