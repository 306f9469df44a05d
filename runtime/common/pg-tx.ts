/**
 * One PostgreSQL transaction on a pooled client. A checked-out client whose server goes away (a
 * failover, a restart) emits 'error' outside any query; unheard, that would crash the process, so the
 * client is listened to for as long as it is checked out, and a broken client is destroyed rather
 * than returned to the pool. So is one whose query timed out (node-postgres `query_timeout`): the query is still in
 * flight on it, and a ROLLBACK would only queue behind it.
 */
import type pg from "pg";

export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>, begin = "BEGIN"): Promise<T> {
  const c = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => (broken = err);
  c.on("error", onError);
  try {
    await c.query(begin);
    const out = await fn(c);
    await c.query("COMMIT");
    return out;
  } catch (err) {
    if (err instanceof Error && err.message === "Query read timeout") broken ??= err;
    else await c.query("ROLLBACK").catch((e: Error) => (broken ??= e));
    throw err;
  } finally {
    c.off("error", onError);
    c.release(broken);
  }
}
