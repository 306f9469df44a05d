/**
 * The escrow's watch on PostgreSQL's standbys (store/standbys.ts): asked at start, where an asynchronous-only standby set
 * refuses the service unless accepted, then a gauge read at each scrape.
 */
import { Gauge, type Registry } from "prom-client";
import type { EscrowStore } from "./store/port.js";
import type { PostgresEscrowStore } from "./store/postgres.js";

/** Asks PostgreSQL whether a failover could lose acknowledged state: null, or why (`PostgresEscrowStore.asyncStandbys`). */
export interface StandbyCheck {
  check(): Promise<string | null>;
  close(): Promise<void>;
}

/**
 * What PostgreSQL's asynchronous-only standbys put at risk (store/standbys.ts), asked at start (refused unless
 * acceptAsyncStandbys) and then watched (`watchStandbys`). With PostgreSQL alone: the sales and the HTLC ledger, both
 * there; the store asked at start (openEscrowStore). With Redis + the journal the sales have Redis's copy, but the HTLC
 * ledger's locks, claims and refunds live in PostgreSQL only: the same check on a connection of its own, worded for the
 * swaps. No PostgreSQL, or accepted: none.
 */
export async function standbyCheck(o: { postgresUrl?: string; acceptAsyncStandbys?: boolean; postgresQueryTimeoutMs?: number }, store: EscrowStore): Promise<StandbyCheck | null> {
  if (!o.postgresUrl || o.acceptAsyncStandbys) return null;
  if (store.kind === "postgres") {
    const pgStore = store as PostgresEscrowStore;
    return { check: () => pgStore.asyncStandbys(), close: () => Promise.resolve() };
  }
  const [{ closePool, openPool }, { asyncOnlyStandbys, asyncStandbysRisk }, { PG_QUERY_TIMEOUT_MS }] = await Promise.all([
    import("../common/pg-tx.js"),
    import("./store/standbys.js"),
    import("./store/postgres.js"),
  ]);
  const ms = o.postgresQueryTimeoutMs ?? PG_QUERY_TIMEOUT_MS;
  const probe = openPool({ connectionString: o.postgresUrl, max: 1, connectionTimeoutMillis: 5_000, query_timeout: ms });
  const check = async () => {
    const found = await asyncOnlyStandbys(probe);
    return found && asyncStandbysRisk(found, "swaps");
  };
  const close = () => closePool(probe, ms);
  try {
    const risk = await check();
    if (risk) throw new Error(risk);
  } catch (err) {
    await close();
    throw err;
  }
  return { check, close };
}

/**
 * After the start-up check (standbyCheck): a standby turned asynchronous while the service runs is a gauge read at each
 * scrape, and a warning when it changes — not a readiness failure, which would take every region out of the balancer
 * at once for a risk that only a failover to that standby would realise. Operators alert on it.
 */
export function watchStandbys(standbys: StandbyCheck, metrics: Registry, log: { warn: (o: object, msg: string) => void }): void {
  let last: string | null = null;
  new Gauge({
    name: "meridian_escrow_async_standbys_only",
    help: "1 while PostgreSQL (the escrow's only store, or the HTLC ledger's) streams to asynchronous standbys and no synchronous one: a failover to one loses acknowledged sales or swap steps",
    registers: [metrics],
    async collect() {
      const risk = await standbys.check().catch(() => last);
      if (risk !== last && risk !== null) log.warn({ risk }, "PostgreSQL now streams to asynchronous standbys only");
      last = risk;
      this.set(risk === null ? 0 : 1);
    },
  });
}
