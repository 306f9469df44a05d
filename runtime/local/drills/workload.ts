/**
 * Drill traffic: buyers that resolve the GSLB name on every purchase (so they follow a failover) and
 * buy one unit in the answered region's escrow, and an auditor appending to the proof log. It counts
 * what was acknowledged, which is what the drill's invariants are checked against.
 */
import { systemClock } from "../../common/clock.js";
import { HybridClock } from "../../clock/hlc.js";
import { queryA } from "../../gslb/dns-client.js";
import { AuditTrail, hlcTimestamps } from "../../prooflog/audit/audit.js";
import { LogClient } from "../../prooflog/client.js";
import type { LocalEstate } from "../estate.js";

export interface DrillTraffic {
  /** Sales acknowledged to a buyer (commit answered 200), per SKU. */
  acknowledgedSales: Map<string, number>;
  /** Region each acknowledged sale was bought in. */
  salesByRegion: Map<string, number>;
  logAppends: number;
  errors: number;
  stop(): Promise<void>;
}

export function startDrillTraffic(estate: LocalEstate, options: { buyers?: number; pauseMs?: number } = {}): DrillTraffic {
  const fqdn = `${estate.spec.dns.host}.${estate.spec.dns.apex}`;
  const skus = Object.keys(estate.spec.runtime.escrow.inventory);
  const escrow = estate.globals.escrow.url;
  const traffic: DrillTraffic = { acknowledgedSales: new Map(), salesByRegion: new Map(), logAppends: 0, errors: 0, stop: async () => undefined };
  let running = true;
  let n = 0;
  const pause = () => new Promise((r) => setTimeout(r, options.pauseMs ?? 20));

  const buyer = async (b: number) => {
    while (running) {
      const sku = skus[n % skus.length]!;
      const user = `drill-buyer-${b}-${n++}`;
      try {
        const [address] = await queryA({ port: estate.dns.port }, fqdn);
        const region = estate.regions.find((r) => r.address === address)?.id;
        if (region) {
          // Each buyer proves who they are with a token from the estate's identity provider.
          const auth = { authorization: `Bearer ${await estate.globals.buyerToken(user)}`, "x-region": region };
          const res = await fetch(`${escrow}/v1/inventory/${sku}/reservations`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ qty: 1 }) });
          const body = (await res.json()) as { reservationId?: string };
          if (res.status === 201 && body.reservationId) {
            const commit = await fetch(`${escrow}/v1/reservations/${body.reservationId}/commit`, { method: "POST", headers: auth });
            await commit.arrayBuffer();
            if (commit.status === 200) {
              traffic.acknowledgedSales.set(sku, (traffic.acknowledgedSales.get(sku) ?? 0) + 1);
              traffic.salesByRegion.set(region, (traffic.salesByRegion.get(region) ?? 0) + 1);
            }
          }
        }
      } catch {
        traffic.errors += 1;
      }
      await pause();
    }
  };
  // The auditor records what the GSLB answered, HLC-stamped, as an audit trail in the proof log.
  const trail = new AuditTrail(new LogClient(estate.globals.log.url), hlcTimestamps(new HybridClock({ clock: systemClock, maxOffsetMs: estate.spec.time.maxOffsetMs })));
  const auditor = async () => {
    while (running) {
      try {
        await trail.record({ actor: "drill", action: "observe-dns-answer", subject: fqdn, detail: { addresses: estate.answer().addresses } });
        traffic.logAppends += 1;
      } catch {
        traffic.errors += 1;
      }
      await pause();
    }
  };
  const loops = [...Array.from({ length: options.buyers ?? 4 }, (_, b) => buyer(b)), auditor()];
  traffic.stop = async () => {
    running = false;
    await Promise.all(loops);
  };
  return traffic;
}
