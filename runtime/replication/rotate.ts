/**
 * `meridian replication rotate --config FILE`: rotate a publisher's replication login without breaking a
 * subscription, by alternating users (two roles; subscriptions use one while the other's password changes).
 * A subscription's walreceiver reconnects with the conninfo stored in pg_subscription, so the credential it
 * holds must stay valid until every subscriber has been moved off it:
 *
 *   1. plan      on the publisher the standby role (which nothing uses) gets a new password; then
 *                {that login, a retirement password for the active one} is recorded as `pending` in the
 *                secret manager. A pending login is thus live the moment anyone can read it, and from then
 *                on new clients get it, never the login being retired (secret-store.ts currentLogin)
 *   2. standby   the same ALTER again (idempotent: a resumed run may not know whether it ran)
 *   3. switch    on every subscriber: ALTER SUBSCRIPTION … CONNECTION with the standby role's login, then
 *                wait until no walsender streams as the old role: a subscription the rotation does not
 *                list (made from a login read before the plan) stops it here, before anything is retired
 *   4. publish   the secret's top-level login becomes the new one
 *   5. retire    on the publisher: the old role gets the retirement password and its sessions end
 *   6. done      `pending` is cleared
 *
 * Then the lag monitor's login on each copy listed in `monitors` (its one role's password; monitor-login.ts
 * rotateMonitorPassword: recorded as `next`, set, published — the monitor tries both, so it never loses a probe).
 * A writer's primary that publishes to no other cloud has no replication login: its config lists `monitors`
 * only, and the run rotates those (rotateLogins).
 *
 * Every step is idempotent and driven by `pending`, so a run killed between any two steps leaves both
 * roles' current passwords valid for whichever subscriptions use them, and the next run finishes the
 * same rotation before starting another. A crash between the plan's ALTER and its record leaves the
 * standby role with a password nobody knows or uses; the next run sets another. Passwords reach the server as SCRAM verifiers (scram.ts) except
 * in the subscription's conninfo, which PostgreSQL must store in clear to dial the publisher.
 */
import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import { z } from "zod";
import { federationSchema } from "./cloud-secrets.js";
import { rotateMonitorPassword, type MonitorRotateStep } from "./monitor-login.js";
import { scramVerifier } from "./scram.js";
import { loginSchema, newPassword, readDocument, replicationLoginSchema, type Login, type ReplicationLogin, type SecretStore } from "./secret-store.js";

const url = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL")
  .refine((u) => URL.canParse(u) && new URL(u).password === "" && new URL(u).username === "", "must carry no login: it comes from the `admin` secret");
const ref = z.string().regex(/^[a-z-]+:\/\/./, "a secret reference (aws-secretsmanager://…, gcp-secretmanager://…, azure-keyvault://…, file://…)");
const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "a lower-case PostgreSQL identifier");

export const rotateConfigSchema = z
  .object({
    /** Absent (with `login` and `subscribers`) on a writer's primary that publishes to no other cloud: its monitor login only. */
    publisher: z
      .object({
        url,
        /** A login that may create and alter roles on the publisher. */
        admin: ref,
        /** How a role gets the right to stream: the REPLICATION attribute, or Aurora/RDS's `rds_replication` role. */
        replicationGrant: z.enum(["attribute", "rds_replication"]).default("attribute"),
      })
      .strict()
      .optional(),
    /** The publisher's replication login (secret-store.ts ReplicationLogin). */
    login: ref.optional(),
    subscribers: z
      .array(
        z
          .object({
            url,
            admin: ref,
            subscription: identifier,
            /** Its replication slot on the publisher (how the rotation tells its walsender from an unlisted one's). */
            slot: identifier,
            /** The conninfo the subscriber dials the publisher with, minus the login (added here). */
            source: z.string().refine((s) => !/\b(user|password)\s*=/.test(s), "must not name a user or password: the rotation adds the login"),
          })
          .strict(),
      )
      .default([]),
    /** The copies (the publisher, its subscribers) whose lag-monitor login this run rotates: address, admin and `monitor` secret. */
    monitors: z.array(z.object({ url, admin: ref, login: ref }).strict()).default([]),
    /** The identities that read (and write) secrets on other clouds than the pod's (cloud-secrets.ts). */
    federation: federationSchema.default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    // A publisher rotates its replication login and moves its subscribers; a primary that publishes nowhere has
    // neither, and rotates only monitor logins.
    if (c.publisher !== undefined || c.login !== undefined || c.subscribers.length > 0) {
      for (const key of ["publisher", "login"] as const) if (c[key] === undefined) ctx.addIssue({ code: "custom", path: [key], message: "required with a publisher's rotation" });
      if (c.subscribers.length === 0) ctx.addIssue({ code: "custom", path: ["subscribers"], message: "a publisher's rotation moves at least one subscriber" });
    } else if (c.monitors.length === 0) ctx.addIssue({ code: "custom", path: ["monitors"], message: "nothing to rotate: no publisher and no monitor logins" });
  });
export type RotateConfig = z.output<typeof rotateConfigSchema>;

export type RotateStep = "plan" | "standby" | "switch" | "publish" | "retire" | "done" | `monitor-${MonitorRotateStep}`;

export interface RotateDeps {
  /** The secret store for a reference (cloud-secrets.ts openSecretStore). */
  open(ref: string): SecretStore;
  /** Told after each step (and each subscriber switched): the CLI prints it; the rotation waits for it. */
  progress?(step: RotateStep, detail: string): void | Promise<void>;
  /** How long old-role walsenders may take to end after the switch before the rotation stops (default 60 s). */
  drainTimeoutMs?: number;
}

/** An arbitrary constant: one rotation per publisher at a time (the CronJob also forbids overlap). */
const LOCK_KEY = 7_283_911_004;

async function connect(dbUrl: string, login: Login): Promise<pg.Client> {
  const c = new pg.Client({ ...parseIntoClientConfig(dbUrl), user: login.username, password: login.password, connectionTimeoutMillis: 15_000 });
  await c.connect();
  return c;
}

const quoteConninfo = (v: string) => `'${v.replace(/[\\']/g, "\\$&")}'`;

function subscriptionConninfo(source: string, login: Login): string {
  return `${source} user=${quoteConninfo(login.username)} password=${quoteConninfo(login.password)}`;
}

/** Both roles exist with LOGIN, replication and read access; a role created here gets the password the secret records. */
export async function ensureRoles(db: pg.ClientBase, doc: ReplicationLogin, grant: "attribute" | "rds_replication"): Promise<void> {
  const recorded = new Map<string, string>([
    [doc.standby.username, doc.standby.password],
    [doc.username, doc.password],
  ]);
  for (const [role, password] of recorded) {
    const exists = (await db.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role])).rowCount! > 0;
    if (!exists) await db.query(`CREATE ROLE ${role} LOGIN PASSWORD ${db.escapeLiteral(scramVerifier(password))}`);
    await db.query(grant === "attribute" ? `ALTER ROLE ${role} LOGIN REPLICATION` : `GRANT rds_replication TO ${role}`);
    await grantReadAccess(db, role);
  }
}

/**
 * Read access for the initial table copy, which reads every published table as `role`: pg_read_all_data where
 * the admin may grant it. The clouds' admins are CREATEROLE non-superusers, and PostgreSQL 16 lets such a role
 * grant only roles it holds WITH ADMIN OPTION — no cloud documents that for pg_read_all_data, and a real
 * PostgreSQL 16 refuses it (test/runtime/replication/cloud-admins.test.ts). Then SELECT on every table the admin
 * may grant on in the database's own schemas, and on the tables it creates there later (default privileges);
 * a table another role owns stays unreadable, and its copy fails loudly on the subscriber.
 */
async function grantReadAccess(db: pg.ClientBase, role: string): Promise<void> {
  const held = (await db.query<{ held: boolean }>("SELECT pg_has_role($1, 'pg_read_all_data', 'MEMBER') AS held", [role])).rows[0]!;
  if (held.held) return;
  try {
    await db.query(`GRANT pg_read_all_data TO ${role}`);
    return;
  } catch (e) {
    if ((e as { code?: unknown }).code !== "42501") throw e;
  }
  const schemas = await db.query<{ name: string }>("SELECT nspname AS name FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1");
  for (const { name } of schemas.rows) {
    const s = db.escapeIdentifier(name);
    // Where the admin holds no grant option PostgreSQL warns and grants nothing; it never fails the step.
    await db.query(`GRANT USAGE ON SCHEMA ${s} TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${role}`);
  }
  // The schemas and tables the admin creates later in this database (the heartbeat's, a migration's).
  await db.query(`ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO ${role}; ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO ${role}`);
}

/**
 * Wait until retiring `role` breaks no subscription: no walsender streams as it, and every slot on the
 * publisher that is not a listed subscriber's is in use (so its walsender's login is known). Switched
 * subscriptions reconnect as the new role on their own; a slot still streaming as the old role, or an
 * unlisted one whose subscription has not connected, when the time is up belongs to a subscription the
 * rotation cannot switch (made with a login read before the plan) — so the rotation stops, naming it.
 */
async function drained(publisher: pg.Client, role: string, listed: readonly string[], timeoutMs: number): Promise<void> {
  const blocking = async () =>
    (
      await publisher.query<{ name: string; why: string }>(
        `SELECT coalesce(s.slot_name, r.application_name) AS name, CASE WHEN r.usename = $1 THEN 'streams as ' || r.usename ELSE 'has not connected' END AS why
           FROM pg_replication_slots s FULL JOIN pg_stat_replication r ON s.active_pid = r.pid
          WHERE r.usename = $1 OR (s.slot_type = 'logical' AND s.database = current_database() AND NOT s.active AND NOT s.slot_name = ANY($2))
          ORDER BY 1`,
        [role, listed],
      )
    ).rows;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await blocking();
    if (left.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(
        `${role} cannot be retired yet: ${left.map((l) => `${l.name} ${l.why}`).join(", ")} after every listed subscription was switched — a subscription this rotation does not list may use the login it would retire (add its subscriber to the rotation's config, or drop it); ${role} stays valid and the next run resumes`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * What the CronJob runs: a publisher's replication login and then the monitor logins (rotateReplicationLogin),
 * or, on a primary that publishes nowhere, its monitor logins only. Returns the new replication login, if any.
 */
export async function rotateLogins(config: RotateConfig, deps: RotateDeps): Promise<ReplicationLogin | null> {
  if (config.publisher) return rotateReplicationLogin(config, deps);
  await rotateMonitors(config.monitors, deps);
  return null;
}

/** The lag monitor's login on each copy in `monitors`, one after another (monitor-login.ts rotateMonitorPassword). */
async function rotateMonitors(monitors: RotateConfig["monitors"], deps: RotateDeps): Promise<void> {
  const progress = deps.progress ?? (() => undefined);
  for (const m of monitors) {
    const db = await connect(m.url, await readDocument(deps.open(m.admin), loginSchema));
    try {
      await rotateMonitorPassword(db, deps.open(m.login), (step) => progress(`monitor-${step}`, m.login));
    } finally {
      await db.end().catch(() => undefined);
    }
  }
}

export async function rotateReplicationLogin(config: RotateConfig, deps: RotateDeps): Promise<ReplicationLogin> {
  if (!config.publisher || !config.login) throw new Error("rotateReplicationLogin: the config names no publisher (a monitor-only rotation: rotateLogins)");
  const progress = deps.progress ?? (() => undefined);
  const store = deps.open(config.login);
  const publisher = await connect(config.publisher.url, await readDocument(deps.open(config.publisher.admin), loginSchema));
  try {
    if (!(await publisher.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [LOCK_KEY])).rows[0]!.ok) {
      throw new Error(`another rotation of ${config.login} holds the publisher's lock; try again once it ends`);
    }
    let doc = await readDocument(store, replicationLoginSchema);
    if (doc.username === doc.standby.username) throw new Error(`${config.login}: the active and standby logins are the same role (${doc.username})`);
    await ensureRoles(publisher, doc, config.publisher.replicationGrant);

    const setPassword = (l: Login) => publisher.query(`ALTER ROLE ${l.username} PASSWORD ${publisher.escapeLiteral(scramVerifier(l.password))}`);
    if (!doc.pending) {
      const pending = { username: doc.standby.username, password: newPassword(), from: doc.username, retire: newPassword() };
      await setPassword(pending);
      doc = { ...doc, pending };
      await store.write(JSON.stringify(doc));
    }
    const p = doc.pending!;
    await progress("plan", `${p.from} → ${p.username}`);

    await setPassword(p);
    await progress("standby", p.username);

    for (const s of config.subscribers) {
      const db = await connect(s.url, await readDocument(deps.open(s.admin), loginSchema));
      try {
        const found = await db.query("SELECT 1 FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = current_database() AND s.subname = $1", [s.subscription]);
        if (found.rowCount === 0) throw new Error(`subscriber ${s.url}: no subscription ${s.subscription} (has its subscription Job run?)`);
        await db.query(`ALTER SUBSCRIPTION ${s.subscription} CONNECTION ${db.escapeLiteral(subscriptionConninfo(s.source, p))}`);
      } finally {
        await db.end().catch(() => undefined);
      }
      await progress("switch", `${s.subscription} at ${s.url}`);
    }
    await drained(
      publisher,
      p.from,
      config.subscribers.map((s) => s.slot),
      deps.drainTimeoutMs ?? 60_000,
    );

    doc = { username: p.username, password: p.password, standby: { username: p.from, password: p.retire }, pending: p };
    await store.write(JSON.stringify(doc));
    await progress("publish", p.username);

    await publisher.query(`ALTER ROLE ${p.from} PASSWORD ${publisher.escapeLiteral(scramVerifier(p.retire))}`);
    // A changed password does not end sessions already logged in with the old one.
    await publisher.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()", [p.from]);
    await progress("retire", p.from);

    const { pending: _, ...settled } = doc;
    await store.write(JSON.stringify(settled));
    await progress("done", `subscriptions use ${p.username}`);
    await rotateMonitors(config.monitors, deps);
    return settled;
  } finally {
    await publisher.end().catch(() => undefined);
  }
}
