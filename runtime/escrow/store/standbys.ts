/**
 * Whether a failover of a PostgreSQL server could lose commits it acknowledged: it streams to standbys asynchronously
 * (pg_stat_replication.sync_state 'async') and to none synchronously, so a failover to a standby that had not received
 * the last commits loses them for good. No standby at all is no failover target. Logical walsenders and base backups are
 * not standbys. A role without pg_read_all_stats sees no sync_state: with `synchronous_standby_names` empty every standby
 * is asynchronous; with it set, commits wait for the standbys it names.
 *
 * One finding, worded for what lives there: the escrow's sales when PostgreSQL is its only store (the journal behind
 * Redis takes lost sales back from Redis: faults/async-failover.test.ts), or the HTLC ledger's swap steps, which live in
 * PostgreSQL only whatever the store.
 */
import type pg from "pg";

/** Standbys that all stream asynchronously, and the setting that names none synchronous. */
export interface AsyncOnlyStandbys {
  /** application_name of each ("?" when unset). */
  standbys: string[];
  /** synchronous_standby_names as set. */
  names: string;
}

/** The server's standbys when they are all asynchronous (at least one), else null. */
export async function asyncOnlyStandbys(q: Pick<pg.Pool, "query">): Promise<AsyncOnlyStandbys | null> {
  const row = (
    await q.query(
      `SELECT current_setting('synchronous_standby_names') AS names,
              COALESCE(json_agg(json_build_object('name', r.application_name, 'sync', r.sync_state)), '[]'::json) AS standbys
         FROM pg_stat_replication r
        WHERE r.state IS DISTINCT FROM 'backup'
          AND NOT EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.active_pid = r.pid AND s.slot_type = 'logical')`,
      [],
    )
  ).rows[0] as { names: string; standbys: { name: string | null; sync: string | null }[] };
  const { names, standbys } = row;
  if (standbys.length === 0 || standbys.some((x) => x.sync === "sync" || x.sync === "quorum")) return null;
  if (names.trim() !== "" && standbys.some((x) => x.sync === null)) return null;
  return { standbys: standbys.map((x) => x.name ?? "?"), names };
}

const ACCEPT = "or accept the risk: acceptAsyncStandbys: true (--accept-async-standbys)";

/** What a failover to one of `s` loses — the escrow's sales (PostgreSQL its only store) or the HTLC ledger's swaps — and the remedies. */
export function asyncStandbysRisk(s: AsyncOnlyStandbys, loses: "sales" | "swaps"): string {
  const n = s.standbys.length;
  const found =
    `PostgreSQL streams to ${n} asynchronous standby${n > 1 ? "s" : ""} (${s.standbys.join(", ")}; pg_stat_replication.sync_state = 'async') ` +
    `and to no synchronous one (synchronous_standby_names = '${s.names}'): a failover to ${n > 1 ? "one" : "it"} loses `;
  return loses === "sales"
    ? `${found}the acknowledged sales it had not received, and with PostgreSQL alone nothing holds another copy. Make a standby synchronous ` +
        `(synchronous_standby_names), put Redis in front (redis / --redis: the journal recovers them from it), ${ACCEPT}`
    : `${found}the HTLC ledger's acknowledged locks, claims and refunds it had not received — they live in PostgreSQL only (Redis holds the ` +
        `escrow's sales, not atomic swaps), and a claim lost after its preimage was revealed lets the owner refund units the other leg already ` +
        `paid for. Make a standby synchronous (synchronous_standby_names), ${ACCEPT}`;
}
