/**
 * `meridian replication monitor --config FILE`: one per region. Where the region holds a writer's
 * primary it stamps the heartbeat every `intervalMs`; for every copy the region holds of another writer's
 * data it reads the stamp and reports the lag — `meridian_replication_lag_seconds{writer}`, `GET
 * /v1/replication`, and `/readyz` (503 naming each copy beyond `maxLagSeconds`), which is what the
 * regional gateway's `/healthz/replication` signal probes, so DNS stops sending readers to stale copies.
 *
 * Connection URLs carry no password. The login is read at connect time from `login`, a secret reference
 * into the copy's cloud secret manager (cloud-secrets.ts, the reader `rotate` uses), and read again
 * whenever the database refuses it, trying each password it offers in the same probe, so a rotated password
 * (`meridian replication rotate`, monitor-login.ts) is picked up without a restart or a failed probe; or, off the
 * clouds, from `userFile` / `passwordFile` or libpq's PGPASSWORD. Never from config that lands in a ConfigMap.
 * On the clouds that login is the monitor's own (monitor-login.ts: pg_monitor, and the heartbeat table
 * only), never a copy's admin; the heartbeat table is made by the admin step, never by the monitor.
 */
import { readFileSync } from "node:fs";
import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import { Gauge, Counter } from "prom-client";
import { z } from "zod";
import { defineService } from "../kit/index.js";
import { openSecretStore } from "./cloud-secrets.js";
import { readLogins, type SecretStore } from "./secret-store.js";
import { beat, lastBeat } from "./heartbeat.js";
import { copyLag, type CopyLag } from "./lag.js";

const database = z
  .object({
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL")
      .refine((u) => URL.canParse(u) && new URL(u).password === "", "must not carry a password: use passwordFile (a mounted Secret) or PGPASSWORD"),
    /** The login's secret reference (aws-secretsmanager://…, gcp-secretmanager://…, azure-keyvault://…, file://…). */
    login: z
      .string()
      .regex(/^[a-z-]+:\/\/./, "a secret reference")
      .optional(),
    passwordFile: z.string().min(1).optional(),
    /** The login, when it lives in a mounted Secret key rather than the URL (read once, at start). */
    userFile: z.string().min(1).optional(),
  })
  .strict();
const oneLogin = (d: { login?: string | undefined; passwordFile?: string | undefined; userFile?: string | undefined }) =>
  d.login === undefined || (d.passwordFile === undefined && d.userFile === undefined);
const ONE_LOGIN = { message: "login (a secret reference) excludes userFile and passwordFile" };

export const replicationMonitorConfigSchema = z
  .object({
    region: z.string().min(1),
    /** The partition this region writes, if any: its primary is stamped. */
    writes: database
      .extend({ writer: z.string().min(1) })
      .strict()
      .refine(oneLogin, ONE_LOGIN)
      .optional(),
    /** Copies of other writers' partitions held here. */
    copies: z
      .array(
        database
          .extend({ writer: z.string().min(1) })
          .strict()
          .refine(oneLogin, ONE_LOGIN),
      )
      .default([]),
    intervalMs: z.number().int().min(100).max(60_000).default(1000),
    maxLagSeconds: z.number().positive().max(86_400).default(30),
    /** How long a database may take to connect or answer before the probe counts as failed. */
    timeoutMs: z.number().int().min(100).max(60_000).default(2000),
  })
  .strict()
  .refine((c) => c.writes !== undefined || c.copies.length > 0, { message: "nothing to monitor: set writes, copies or both" });
export type ReplicationMonitorConfig = z.output<typeof replicationMonitorConfigSchema>;

interface DbSource {
  url: string;
  login?: string;
  passwordFile?: string;
  userFile?: string;
}

function filePool(db: DbSource, timeoutMs: number, login?: { username: string; password: string }): pg.Pool {
  // Read at every connect, so a rotated Secret is picked up without a restart. (A connectionString would
  // override a password function with the URL's empty one, hence the parsed config.)
  const password = login ? login.password : db.passwordFile === undefined ? undefined : () => readFileSync(db.passwordFile!, "utf8").trim();
  const user = login ? login.username : db.userFile === undefined ? undefined : readFileSync(db.userFile, "utf8").trim();
  const p = new pg.Pool({
    ...parseIntoClientConfig(db.url),
    max: 2,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    ...(password ? { password } : {}),
    ...(user === undefined ? {} : { user }),
  });
  p.on("error", () => undefined); // an idle client's error: the next probe reports it
  return p;
}

/** SQLSTATE class 28: invalid_authorization_specification, invalid_password. */
const refusedLogin = (e: unknown) => /^28/.test(String((e as { code?: unknown }).code ?? ""));

/**
 * A pool whose login comes from a secret: read when the pool is made, and again when the database refuses
 * it (the password was rotated). Then each login the secret offers is tried within the same query — during
 * a rotation of the monitor's password the secret holds the old and the next, and the role accepts one of
 * them at every moment (monitor-login.ts) — so a rotation never fails a probe.
 */
class LoginPool {
  private pool: Promise<pg.Pool> | null = null;
  constructor(
    private readonly db: DbSource,
    private readonly timeoutMs: number,
    private readonly store: SecretStore | null,
  ) {}
  private get(): Promise<pg.Pool> {
    if (this.pool === null) {
      const made = this.store ? readLogins(this.store).then(([l]) => filePool(this.db, this.timeoutMs, l)) : Promise.resolve(filePool(this.db, this.timeoutMs));
      // An unreadable secret is retried at the next probe, not cached.
      made.catch(() => (this.pool = null));
      this.pool = made;
    }
    return this.pool;
  }
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    const pool = await this.get();
    try {
      return await pool.query<R>(text, values);
    } catch (e) {
      if (!this.store || !refusedLogin(e)) throw e;
      return this.relogin<R>(pool, e, text, values);
    }
  }
  /** The login `refused` was turned away: try each login the secret offers now; keep the pool of the first accepted. */
  private async relogin<R extends pg.QueryResultRow>(refused: pg.Pool, error: unknown, text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    let last = error;
    for (const login of await readLogins(this.store!)) {
      const p = filePool(this.db, this.timeoutMs, login);
      try {
        const r = await p.query<R>(text, values);
        // A concurrent query may have logged in again first: keep one pool, end the other.
        if (this.pool !== null && (await this.pool.catch(() => null)) === refused) {
          this.pool = Promise.resolve(p);
          void refused.end().catch(() => undefined);
        } else void p.end().catch(() => undefined);
        return r;
      } catch (e) {
        void p.end().catch(() => undefined);
        if (!refusedLogin(e)) throw e;
        last = e;
      }
    }
    throw last;
  }
  async end(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    if (p) await (await p.catch(() => null))?.end();
  }
}

function pool(db: DbSource, timeoutMs: number, open: (ref: string) => SecretStore): LoginPool {
  return new LoginPool(db, timeoutMs, db.login === undefined ? null : open(db.login));
}

/** A probe's failure as counted: the login refused (a credentials problem, e.g. a rotation gone wrong), or any other error. */
const failure = (e: unknown) => (refusedLogin(e) ? "refused" : "error");

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 200);

export const replicationMonitorService = defineService({
  name: "replication-monitor",
  config: replicationMonitorConfigSchema,
  start({ config, clock, metrics, log }) {
    const maxLagMs = config.maxLagSeconds * 1000;
    const lagGauge = new Gauge({ name: "meridian_replication_lag_seconds", help: "now minus the writer's last heartbeat seen in this region's copy", labelNames: ["writer"], registers: [metrics] });
    const beats = new Counter({
      name: "meridian_replication_heartbeats_total",
      help: "heartbeats stamped on this region's primary, by outcome (refused: the database refused every login the secret offers)",
      labelNames: ["writer", "outcome"],
      registers: [metrics],
    });
    const reads = new Counter({
      name: "meridian_replication_copy_reads_total",
      help: "reads of the heartbeat in this region's copies, by outcome (refused: the database refused every login the secret offers)",
      labelNames: ["writer", "outcome"],
      registers: [metrics],
    });
    const open = (ref: string) => openSecretStore(ref);
    const writer = config.writes && { ...config.writes, db: pool(config.writes, config.timeoutMs, open) };
    const copies = config.copies.map((c) => ({ ...c, db: pool(c, config.timeoutMs, open) }));
    let lags: CopyLag[] = copies.map((c) => copyLag(c.writer, clock.now(), null, maxLagMs));
    let beatError: string | null = null;

    async function stamp(): Promise<void> {
      if (!writer) return;
      try {
        await beat(writer.db, writer.writer, clock.now());
        beatError = null;
        beats.inc({ writer: writer.writer, outcome: "ok" });
      } catch (e) {
        // A missing table is reported, not created: the monitor's login may not run DDL (monitor-login.ts).
        beatError = message(e);
        beats.inc({ writer: writer.writer, outcome: failure(e) });
      }
    }

    async function measure(): Promise<void> {
      lags = await Promise.all(
        copies.map(async (c) => {
          try {
            const stamp = await lastBeat(c.db, c.writer);
            reads.inc({ writer: c.writer, outcome: "ok" });
            return copyLag(c.writer, clock.now(), stamp, maxLagMs);
          } catch (e) {
            reads.inc({ writer: c.writer, outcome: failure(e) });
            return copyLag(c.writer, clock.now(), null, maxLagMs, message(e));
          }
        }),
      );
      for (const l of lags) {
        if (l.lagMs === null) lagGauge.remove({ writer: l.writer });
        else lagGauge.set({ writer: l.writer }, l.lagMs / 1000);
      }
    }

    let timer: NodeJS.Timeout | null = null;
    let inFlight = false;
    // A probe slower than the interval (timeouts) must not pile up connections: skip the tick instead.
    const tick = () => {
      if (inFlight) return;
      inFlight = true;
      void Promise.all([stamp(), measure()]).finally(() => (inFlight = false));
    };
    return {
      routes(app) {
        app.get("/v1/replication", { config: { auth: "public" } }, async () => ({
          region: config.region,
          maxLagSeconds: config.maxLagSeconds,
          writes: writer ? { writer: writer.writer, ok: beatError === null, ...(beatError ? { error: beatError } : {}) } : null,
          copies: lags,
        }));
      },
      ready: {
        replication: () => {
          const bad = lags.filter((l) => !l.ok).map((l) => l.reason);
          if (beatError !== null) bad.unshift(`heartbeat on ${writer!.writer}'s primary failing: ${beatError}`);
          return bad.length === 0 ? true : bad.join("; ");
        },
      },
      started: () => {
        log.info({ writes: writer?.writer ?? null, copies: copies.map((c) => c.writer), maxLagSeconds: config.maxLagSeconds }, "replication monitor running");
        tick();
        timer = setInterval(tick, config.intervalMs);
        timer.unref();
      },
      close: async () => {
        if (timer) clearInterval(timer);
        await Promise.all([writer?.db.end(), ...copies.map((c) => c.db.end())].map((p) => p?.catch(() => undefined)));
      },
    };
  },
});
