// Replication logins read at connect time, so a rotation never breaks the Jobs or the lag monitor. Real
// PostgreSQL (private servers, wal_level=logical, SCRAM, TLS); the secrets are files standing in for the
// secret manager. The Jobs' init step (`meridian replication credentials`, the CLI) creates the
// replication roles on the publisher and writes the current logins where the psql container reads them;
// after `rotate`, a Job started afresh subscribes a new copy with the new login while the files a stale
// pod (or the old hand-made Kubernetes Secret) held are refused; the monitor, logging in with the
// rotating login, re-reads it when the database refuses the old one and keeps reporting.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_NAME } from "../../../components/replication/copy.js";
import { PUBLICATION_COMMAND, SUBSCRIPTION_COMMAND, subscriptionName } from "../../../components/replication/logical.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { openSecretStore } from "../../../runtime/replication/cloud-secrets.js";
import { credentialsConfigSchema } from "../../../runtime/replication/credentials.js";
import { replicationMonitorService, type CopyLag } from "../../../runtime/replication/index.js";
import { rotateConfigSchema, rotateReplicationLogin } from "../../../runtime/replication/rotate.js";
import type { ReplicationLogin } from "../../../runtime/replication/secret-store.js";
import { ReplicationJobs } from "../../components/replication/jobs.js";
import { fileSecret, FIRST_LOGIN, WRITER } from "./logins.js";
import { PrivatePg, pgRoot, removeRoot, testCa, type TestCa } from "../../components/replication/private-pg.js";
import { runCli } from "../../cli.js";

const SUPERUSER_PASSWORD = "credentials-test-superuser-password";

let root = "";
let ca: TestCa;
let publisher: PrivatePg;
let subscriber: PrivatePg;
let late: PrivatePg;
let jobs: ReplicationJobs;
/** The late subscriber's Jobs: its own region, so its own replication slot. */
let lateJobs: ReplicationJobs;
let admin = "";
let login = "";
let monitor: RunningService | undefined;

const dbUrl = (s: PrivatePg) => `postgres://127.0.0.1:${s.port}/${DATABASE_NAME}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca.bundle)}&uselibpqcompat=true`;
const until = async (what: string, check: () => Promise<boolean>) => {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};
/** The init container's step, through the CLI as the Job runs it; returns the LOGIN_DIR it filled. */
function credentials(name: string, logins: Record<string, string>, roles = false): string {
  const dir = join(root, "login", name);
  const config = credentialsConfigSchema.parse({
    logins: Object.entries(logins).map(([side, secret]) => ({ secret, dir: join(dir, side) })),
    ...(roles ? { roles: { url: dbUrl(publisher), admin, login } } : {}),
  });
  const file = join(root, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const r = runCli(["replication", "credentials", "--config", file]);
  expect(r.status, r.stderr).toBe(0);
  return dir;
}
const replicationLogin = () => JSON.parse(readFileSync(login.slice("file://".length), "utf8")) as ReplicationLogin;

beforeAll(async () => {
  root = pgRoot();
  mkdirSync(join(root, "ca"));
  ca = testCa(join(root, "ca"));
  [publisher, subscriber, late] = (await PrivatePg.startAll(
    root,
    ["publisher", "subscriber", "late"].map((name) => ({ name, ca, password: SUPERUSER_PASSWORD })),
  )) as [PrivatePg, PrivatePg, PrivatePg];
  for (const s of [publisher, subscriber, late]) await s.sql("postgres", `CREATE DATABASE ${DATABASE_NAME}`);
  await publisher.sql(DATABASE_NAME, "CREATE TABLE ledger (id int PRIMARY KEY, note text NOT NULL); INSERT INTO ledger VALUES (1, 'before')");
  const secret = (name: string, doc: object) => fileSecret(root, name, doc);
  admin = secret("admin.json", { username: "postgres", password: SUPERUSER_PASSWORD });
  login = secret("login.json", FIRST_LOGIN);
  jobs = new ReplicationJobs(root, ca, SUPERUSER_PASSWORD, WRITER, WRITER, "region-1");
  mkdirSync(join(root, "late-jobs"));
  lateJobs = new ReplicationJobs(join(root, "late-jobs"), ca, SUPERUSER_PASSWORD, WRITER, WRITER, "region-2");
}, 180_000);

afterAll(async () => {
  await monitor?.close();
  for (const s of [publisher, subscriber, late]) s?.stop();
  if (root) removeRoot(root);
});

describe("replication logins read from the secret manager at connect time", () => {
  it("the init step creates the replication roles; the subscription logs in with the current replication login", async () => {
    const pub = jobs.run(PUBLICATION_COMMAND, jobs.publicationEnv(publisher, { LOGIN_DIR: credentials("pub", { admin }, true) }));
    expect(pub.status, pub.stderr).toBe(0);
    const roles = (await publisher.sql("postgres", "SELECT rolname, rolreplication FROM pg_roles WHERE rolname LIKE 'meridian_replication_%' ORDER BY 1")).rows;
    expect(roles).toEqual([
      { rolname: "meridian_replication_a", rolreplication: true },
      { rolname: "meridian_replication_b", rolreplication: true },
    ]);
    const sub = jobs.run(SUBSCRIPTION_COMMAND, jobs.subscriptionEnv(publisher, subscriber, { LOGIN_DIR: credentials("sub", { source: login, target: admin }) }));
    expect(sub.status, sub.stderr).toBe(0);
    await until("a walsender as role a", async () =>
      (await publisher.sql("postgres", "SELECT usename FROM pg_stat_replication")).rows.some((r: { usename: string }) => r.usename === FIRST_LOGIN.username),
    );
    await until("the first row", async () => (await subscriber.sql(DATABASE_NAME, "SELECT 1 FROM ledger WHERE id = 1")).rowCount === 1);
  }, 120_000);

  it("after a rotation a fresh Job subscribes with the new login, a stale login is refused, and the monitor re-reads its login and keeps reporting", async () => {
    monitor = await startService(
      replicationMonitorService,
      // The copy on the publisher read with the rotating replication login: the one whose password rotation retires.
      {
        server: { port: 0 },
        intervalMs: 200,
        maxLagSeconds: 5,
        region: WRITER,
        writes: { writer: WRITER, url: dbUrl(publisher), login: admin },
        copies: [{ writer: WRITER, url: dbUrl(publisher), login }],
      },
      { processMetrics: false },
    );
    const copy = async () => ((await (await fetch(`${monitor!.url}/v1/replication`)).json()) as { copies: CopyLag[] }).copies[0]!;
    await until("the monitor reading as role a", async () => (await copy()).ok);
    const stale = credentials("stale", { source: login, target: admin });

    const rotated = await rotateReplicationLogin(
      rotateConfigSchema.parse({
        publisher: { url: dbUrl(publisher), admin },
        login,
        subscribers: [
          {
            url: dbUrl(subscriber),
            admin,
            subscription: subscriptionName(WRITER, WRITER),
            slot: "meridian_aws_use1_from_aws_use1_to_region_1",
            source: `host=127.0.0.1 port=${publisher.port} dbname=${DATABASE_NAME} sslmode=require`,
          },
        ],
      }),
      { open: (ref) => openSecretStore(ref) },
    );
    expect(rotated.username).toBe(FIRST_LOGIN.standby.username);
    expect(replicationLogin().username).toBe(FIRST_LOGIN.standby.username);

    // A pod that read its login before the rotation (as a hand-made Secret never updated would) is refused.
    const refused = lateJobs.run(SUBSCRIPTION_COMMAND, lateJobs.subscriptionEnv(publisher, late, { LOGIN_DIR: stale }));
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/password authentication failed for user "meridian_replication_a"/);
    // The Job's next pod runs the init step again and subscribes with the current login.
    const sub = lateJobs.run(SUBSCRIPTION_COMMAND, lateJobs.subscriptionEnv(publisher, late, { LOGIN_DIR: credentials("fresh", { source: login, target: admin }) }));
    expect(sub.status, sub.stderr).toBe(0);
    await publisher.sql(DATABASE_NAME, "INSERT INTO ledger VALUES (2, 'after the rotation')");
    for (const s of [subscriber, late]) await until(`row 2 on ${s.port}`, async () => (await s.sql(DATABASE_NAME, "SELECT 1 FROM ledger WHERE id = 2")).rowCount === 1);
    expect((await publisher.sql("postgres", "SELECT DISTINCT usename FROM pg_stat_replication")).rows).toEqual([{ usename: rotated.username }]);

    // The monitor's sessions as role a were ended by the rotation; it logs in again as role b.
    await until("the monitor reading as role b", async () => {
      const sessions = (await publisher.sql("postgres", `SELECT 1 FROM pg_stat_activity WHERE usename = '${rotated.username}' AND backend_type = 'client backend'`)).rowCount!;
      return sessions > 0 && (await copy()).ok;
    });
  }, 180_000);
});
