/**
 * `meridian replication credentials --config FILE`: the logins a replication Job logs in with, read from
 * the clouds' secret managers (cloud-secrets.ts, as `rotate` reads them) when the Job's pod starts and
 * written as `username` / `password` files (mode 0400) into a memory-backed emptyDir the Job's psql
 * container reads. A Job therefore always dials with the login that is current at connect time: a
 * rotation (rotate.ts) never leaves it holding a password that has been retired, and no login is ever
 * in a Kubernetes Secret, a ConfigMap or the Job's spec.
 *
 * On a publisher it also makes sure the alternating replication roles exist with the passwords the
 * login records (as `rotate` does before its first step), so subscriptions can log in before the first
 * rotation has run.
 *
 * With `monitor`, it also makes sure the lag monitor's own least-privilege role exists on the copy with the
 * password its secret records (monitor-login.ts), and on a writer's primary the heartbeat table it stamps.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import { z } from "zod";
import { federationSchema } from "./cloud-secrets.js";
import { ensureMonitorRole } from "./monitor-login.js";
import { ensureRoles } from "./rotate.js";
import { loginSchema, readDocument, readLogin, replicationLoginSchema, type Login, type SecretStore } from "./secret-store.js";

const ref = z.string().regex(/^[a-z-]+:\/\/./, "a secret reference (aws-secretsmanager://…, gcp-secretmanager://…, azure-keyvault://…, file://…)");
const url = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL")
  .refine((u) => URL.canParse(u) && new URL(u).password === "" && new URL(u).username === "", "must carry no login: it comes from the `admin` secret");

export const credentialsConfigSchema = z
  .object({
    /** Each login to write: its secret (a Login, or a ReplicationLogin whose current login is taken) and the directory. */
    logins: z.array(z.object({ secret: ref, dir: z.string().regex(/^\/./, "an absolute directory") }).strict()).min(1),
    /** On a publisher: the replication roles its `login` records are created (if missing) by `admin`. */
    roles: z
      .object({ url, admin: ref, login: ref, replicationGrant: z.enum(["attribute", "rds_replication"]).default("attribute") })
      .strict()
      .optional(),
    /** The lag monitor's role on this copy, created (if missing) by `admin`; `writes` on a writer's primary. */
    monitor: z.object({ url, admin: ref, login: ref, writes: z.boolean() }).strict().optional(),
    /** The identities that read secrets on other clouds than the pod's (cloud-secrets.ts). */
    federation: federationSchema.default({}),
  })
  .strict();
export type CredentialsConfig = z.output<typeof credentialsConfigSchema>;

/** Write `login` as `<dir>/username` and `<dir>/password`, each replaced atomically (a reader never sees half). */
export function writeLoginFiles(dir: string, login: Login): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, value] of [
    ["username", login.username],
    ["password", login.password],
  ] as const) {
    const tmp = join(dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(tmp, value, { mode: 0o400 });
    renameSync(tmp, join(dir, name));
  }
}

/** Run `work` connected to `url` as the login in `admin`. */
async function asAdmin(url: string, admin: Login, work: (db: pg.Client) => Promise<void>): Promise<void> {
  const db = new pg.Client({ ...parseIntoClientConfig(url), user: admin.username, password: admin.password, connectionTimeoutMillis: 15_000 });
  await db.connect();
  try {
    await work(db);
  } finally {
    await db.end().catch(() => undefined);
  }
}

/** Ensure the roles (when asked), then write every login. Any error throws: the init container fails and the Job retries. */
export async function writeCredentials(config: CredentialsConfig, deps: { open(ref: string): SecretStore }): Promise<string[]> {
  if (config.roles) {
    const admin = await readDocument(deps.open(config.roles.admin), loginSchema);
    const doc = await readDocument(deps.open(config.roles.login), replicationLoginSchema);
    const grant = config.roles.replicationGrant;
    await asAdmin(config.roles.url, admin, (db) => ensureRoles(db, doc, grant));
  }
  const written: string[] = [];
  if (config.monitor) {
    const { url, writes } = config.monitor;
    const admin = await readDocument(deps.open(config.monitor.admin), loginSchema);
    // The monitor's secret is read under the copy's lock, so a rotation running now is not undone.
    const login = deps.open(config.monitor.login);
    await asAdmin(url, admin, async (db) => {
      const made = await ensureMonitorRole(db, login, writes);
      if (!made.pgMonitor) written.push(`${made.role}: without pg_monitor (${admin.username} may not grant it; the heartbeat lag needs only the table grants)`);
    });
  }
  for (const l of config.logins) {
    // A ReplicationLogin's current login: a pending rotation's, never the one that rotation retires.
    const login = await readLogin(deps.open(l.secret));
    writeLoginFiles(l.dir, login);
    written.push(`${l.dir}: ${login.username}`);
  }
  return written;
}
