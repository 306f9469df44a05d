/**
 * PostgreSQL on a pool, bounded against a server that stops answering without closing its connections (SIGSTOP, a
 * network blackhole).
 *
 * One transaction on a pooled client (inTransaction). A checked-out client whose server goes away (a failover, a
 * restart) emits 'error' outside any query; unheard, that would crash the process, so the client is listened to for as
 * long as it is checked out, and a broken client is destroyed rather than returned to the pool. So is one whose query
 * timed out (node-postgres `query_timeout`): the query is still in flight on it, and a ROLLBACK would only queue behind it.
 *
 * A call's wait for a connection counts against its query timeout (openPool). A stopped server's kernel
 * still accepts TCP connections, so a new connection waits for the startup answer until the pool's
 * connectionTimeoutMillis; since a timed-out query's connection is dropped, every call after it connects anew, and that
 * wait came on top of its query timeout. The connect still under way at the deadline goes on in the background (up to
 * connectionTimeoutMillis) and its client goes back to the pool.
 *
 * closePool ends a pool within a bound: `pool.end()` waits for every checked-out client, and a client's graceful end
 * (Terminate, then waiting for the server to close) never finishes against a stopped server, leaving its socket open
 * until the server resumes — so every connection still open at the bound is destroyed.
 *
 * A client is listened to from the moment the pool hands it over. A backend whose postmaster dies as it finishes startup
 * sends ReadyForQuery and then FATAL 57P01, often in one read: node-postgres hands the client over on the first and
 * emits the second in the same pass, before an `await pool.connect()` resumes to listen, and an unheard 'error' crashes
 * the process. openPool's clients always have a listener; inTransaction takes a plain pool's client by callback, which
 * runs in that pass. Either way the client is then unqueryable and the call fails with the error.
 */
import pg from "pg";

/** Every client a pool made (openPool), until its connection ends: what closePool destroys at its bound. */
const clientsOf = new WeakMap<pg.Pool, Set<pg.Client>>();

/**
 * A pool whose every call is answered within `config.query_timeout`, the wait for a connection included: `connect()`
 * (a transaction's, inTransaction) gets a client within it, and `query(text, values)` is answered within it all told
 * (a callback or a query object goes to node-postgres as is). closePool can destroy its connections. An idle client's
 * broken connection (a failover) does not crash the process; the pool replaces it.
 */
export function openPool(config: pg.PoolConfig & { query_timeout: number }): pg.Pool {
  const clients = new Set<pg.Client>();
  class TrackedClient extends pg.Client {
    constructor(c?: pg.ClientConfig) {
      super(c);
      clients.add(this);
      this.once("end", () => clients.delete(this));
      // Heard in the hand-over too (above); the pool's own listener and the taker's still decide what happens to it.
      this.on("error", () => undefined);
    }
  }
  const pool = new pg.Pool({ ...config, Client: TrackedClient as unknown as pg.PoolConfig["Client"] });
  pool.on("error", () => undefined);
  clientsOf.set(pool, clients);
  const ms = config.query_timeout;
  const connect = pool.connect.bind(pool) as (cb?: unknown) => Promise<pg.PoolClient> | undefined;
  const within = () => connectWithin(() => connect() as Promise<pg.PoolClient>, ms);
  const query = pool.query.bind(pool) as (...a: unknown[]) => unknown;
  pool.connect = ((cb?: unknown) => (cb === undefined ? within() : connect(cb))) as typeof pool.connect;
  pool.query = ((text: unknown, values?: unknown, cb?: unknown) =>
    typeof text === "string" && (values === undefined || Array.isArray(values)) && cb === undefined ? queryWithin(within, text, values ?? [], ms) : query(text, values, cb)) as typeof pool.query;
  return pool;
}

/**
 * End a pool: gracefully while the server answers, and within `ms` whatever it does — calls in flight get until then
 * (their own timeouts end them sooner), and every connection still open then is destroyed.
 */
export async function closePool(pool: pg.Pool, ms: number): Promise<void> {
  const clients = clientsOf.get(pool) ?? new Set<pg.Client>();
  const ended = pool.end().catch(() => undefined);
  const closed = Promise.all([ended, ...[...clients].map((c) => new Promise((r) => c.once("end", r)))]);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
  for (const c of clients) (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
}

/** The wait for a connection outlasted the call's deadline: nothing was sent. */
class ConnectWaitError extends Error {
  constructor(ms: number) {
    super(`no PostgreSQL connection within ${ms} ms`);
  }
}

/**
 * Which wait a failed call ran out of, or null for any other failure: "answer" (node-postgres `query_timeout`: the server
 * took the query and did not answer; whether it ran is unknown) or "connect" (no connection within the deadline, or
 * within pg's own connectionTimeoutMillis: nothing was sent).
 */
export function pgTimeout(err: unknown): "answer" | "connect" | null {
  if (err instanceof ConnectWaitError) return "connect";
  const m = err instanceof Error ? err.message : "";
  if (m === "Query read timeout") return "answer";
  // pg's connectionTimeoutMillis: the connection's own ("…due to connection timeout"), or the wait for a pool slot.
  if (m === "Connection terminated due to connection timeout" || m === "timeout exceeded when trying to connect") return "connect";
  return null;
}

/** A client within `ms` (ConnectWaitError after it); a connect still under way then goes on, and its client back to the pool. */
function connectWithin(connect: () => Promise<pg.PoolClient>, ms: number): Promise<pg.PoolClient> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new ConnectWaitError(ms));
    }, ms);
    connect().then(
      (c) => {
        if (late) return c.release();
        clearTimeout(timer);
        resolve(c);
      },
      (err: unknown) => {
        if (late) return;
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** A plain pool's client, listened to (`onError`) as the pool hands it over (see the top). */
function heardConnect(pool: pg.Pool, onError: (err: Error) => void): Promise<pg.PoolClient> {
  return new Promise((resolve, reject) =>
    pool.connect((err, c) => {
      if (err || !c) return reject(err ?? new Error("no PostgreSQL client"));
      c.on("error", onError);
      resolve(c);
    }),
  );
}

/**
 * One query on a client from `connect`, answered within `ms` all told: "Query read timeout" when the server took the
 * query and did not answer, ConnectWaitError when no connection came. As `pool.query`, a client whose query failed is
 * not reused.
 */
async function queryWithin(connect: () => Promise<pg.PoolClient>, text: string, values: unknown[], ms: number): Promise<pg.QueryResult> {
  const start = performance.now();
  const c = await connect();
  const left = Math.floor(ms - (performance.now() - start));
  if (left < 1) {
    c.release();
    throw new ConnectWaitError(ms);
  }
  let broken: Error | undefined;
  const onError = (err: Error) => (broken ??= err);
  c.on("error", onError);
  try {
    return await c.query({ text, values, query_timeout: left } as pg.QueryConfig);
  } catch (err) {
    broken ??= err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    c.off("error", onError);
    c.release(broken);
  }
}

export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>, begin = "BEGIN"): Promise<T> {
  let broken: Error | undefined;
  const onError = (err: Error) => (broken = err);
  const c = clientsOf.has(pool) ? await pool.connect() : await heardConnect(pool, onError);
  if (clientsOf.has(pool)) c.on("error", onError);
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
