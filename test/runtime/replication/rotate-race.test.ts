// A subscription created while its publisher's replication login rotates (issue #13). Real PostgreSQL: a
// publisher, a subscriber the rotation lists, and a late subscriber it does not (a region added while the
// rotation runs), subscribed by the Jobs' own init step (`credentials`) and script. The rotation is held at
// each interleaving point by its progress hook while the late Job runs:
//  - credentials read after the rotation is planned hand out the pending login, never the one being retired,
//    so the late subscription keeps streaming after the rotation ends;
//  - a late subscription made from a login read before the plan is one the rotation cannot switch: the
//    rotation stops before retiring that login (naming the slot), the subscription keeps replicating, and
//    once the subscriber is listed a re-run finishes.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_NAME } from "../../../components/replication/copy.js";
import { PUBLICATION_COMMAND, SUBSCRIPTION_COMMAND, subscriptionName } from "../../../components/replication/logical.js";
import { openSecretStore } from "../../../runtime/replication/cloud-secrets.js";
import { credentialsConfigSchema, writeCredentials } from "../../../runtime/replication/credentials.js";
import { rotateConfigSchema, rotateReplicationLogin, type RotateConfig, type RotateStep } from "../../../runtime/replication/rotate.js";
import type { ReplicationLogin } from "../../../runtime/replication/secret-store.js";
import { ReplicationJobs } from "../../components/replication/jobs.js";
import { PrivatePg, pgRoot, removeRoot, testCa, type TestCa } from "../../components/replication/private-pg.js";
import { canLogIn as canLogInAt, fileSecret, FIRST_LOGIN, WRITER } from "./logins.js";

const SUPERUSER_PASSWORD = "race-test-superuser-password";
const SUBSCRIPTION = subscriptionName(WRITER, WRITER);

let root = "";
let ca: TestCa;
let publisher: PrivatePg;
let listed: PrivatePg;
let late: PrivatePg;
let jobs: ReplicationJobs;
let lateJobs: ReplicationJobs;
let admin = "";
let login = "";

const open = (ref: string) => openSecretStore(ref);
const dbUrl = (s: PrivatePg) => `postgres://127.0.0.1:${s.port}/${DATABASE_NAME}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca.bundle)}&uselibpqcompat=true`;
const source = () => `host=127.0.0.1 port=${publisher.port} dbname=${DATABASE_NAME} sslmode=require`;
const slots = new Map<PrivatePg, string>();
const config = (subscribers: PrivatePg[]): RotateConfig =>
  rotateConfigSchema.parse({
    publisher: { url: dbUrl(publisher), admin },
    login,
    subscribers: subscribers.map((s) => ({ url: dbUrl(s), admin, subscription: SUBSCRIPTION, slot: slots.get(s)!, source: source() })),
  });
const until = async (what: string, check: () => Promise<boolean>) => {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};
const secretDoc = () => JSON.parse(readFileSync(login.slice("file://".length), "utf8")) as ReplicationLogin;

/** The late Job's init step: the logins it will use, written where its script reads them. */
async function lateCredentials(name: string): Promise<{ dir: string; username: string; password: string }> {
  const dir = join(root, "login", name);
  await writeCredentials(
    credentialsConfigSchema.parse({
      logins: [
        { secret: login, dir: join(dir, "source") },
        { secret: admin, dir: join(dir, "target") },
      ],
    }),
    { open },
  );
  const read = (f: string) => readFileSync(join(dir, "source", f), "utf8");
  return { dir, username: read("username"), password: read("password") };
}

function lateSubscribes(loginDir: string): void {
  const r = lateJobs.run(SUBSCRIPTION_COMMAND, lateJobs.subscriptionEnv(publisher, late, { LOGIN_DIR: loginDir }));
  expect(r.status, r.stderr).toBe(0);
}

/** A rotation held at `step` until the returned release is called; `at` resolves once it got there. */
function heldRotation(cfg: RotateConfig, step: RotateStep, drainTimeoutMs?: number) {
  let arrived!: () => void;
  let release!: () => void;
  const at = new Promise<void>((r) => (arrived = r));
  const gate = new Promise<void>((r) => (release = r));
  const done = rotateReplicationLogin(cfg, {
    open,
    ...(drainTimeoutMs === undefined ? {} : { drainTimeoutMs }),
    progress: (s) => {
      if (s !== step) return;
      arrived();
      return gate;
    },
  });
  done.catch(() => arrived());
  return { at, release, done };
}

const canLogIn = (user: string, password: string) => canLogInAt(publisher.port, user, password);

const lateSlot = "meridian_aws_use1_from_aws_use1_to_region_2";
const streamingAs = async (slot: string) =>
  (await publisher.sql("postgres", `SELECT r.usename FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = '${slot}'`)).rows.map(
    (r: { usename: string }) => r.usename,
  );

async function replicates(id: number): Promise<void> {
  await publisher.sql(DATABASE_NAME, `INSERT INTO ledger VALUES (${id}, 'row ${id}')`);
  for (const s of [listed, late]) await until(`row ${id} on ${s.port}`, async () => (await s.sql(DATABASE_NAME, `SELECT 1 FROM ledger WHERE id = ${id}`)).rowCount === 1);
}

beforeAll(async () => {
  root = pgRoot();
  mkdirSync(join(root, "ca"));
  ca = testCa(join(root, "ca"));
  [publisher, listed, late] = (await PrivatePg.startAll(
    root,
    ["publisher", "listed", "late"].map((name) => ({ name, ca, password: SUPERUSER_PASSWORD })),
  )) as [PrivatePg, PrivatePg, PrivatePg];
  slots.set(listed, "meridian_aws_use1_from_aws_use1_to_region_1").set(late, lateSlot);
  for (const s of [publisher, listed, late]) await s.sql("postgres", `CREATE DATABASE ${DATABASE_NAME}`);
  await publisher.sql(DATABASE_NAME, "CREATE TABLE ledger (id int PRIMARY KEY, note text NOT NULL)");
  const secret = (name: string, doc: object) => fileSecret(root, name, doc);
  admin = secret("admin.json", { username: "postgres", password: SUPERUSER_PASSWORD });
  login = secret("login.json", FIRST_LOGIN);
  jobs = new ReplicationJobs(root, ca, SUPERUSER_PASSWORD, WRITER, WRITER, "region-1");
  mkdirSync(join(root, "late-jobs"));
  lateJobs = new ReplicationJobs(join(root, "late-jobs"), ca, SUPERUSER_PASSWORD, WRITER, WRITER, "region-2");
  // The publication Job's init step creates the roles; the listed subscriber subscribes before any rotation.
  const pubDir = join(root, "login", "pub");
  await writeCredentials(credentialsConfigSchema.parse({ logins: [{ secret: admin, dir: join(pubDir, "admin") }], roles: { url: dbUrl(publisher), admin, login } }), { open });
  expect(jobs.run(PUBLICATION_COMMAND, jobs.publicationEnv(publisher, { LOGIN_DIR: pubDir })).status).toBe(0);
  const subDir = join(root, "login", "listed");
  await writeCredentials(
    credentialsConfigSchema.parse({
      logins: [
        { secret: login, dir: join(subDir, "source") },
        { secret: admin, dir: join(subDir, "target") },
      ],
    }),
    { open },
  );
  const r = jobs.run(SUBSCRIPTION_COMMAND, jobs.subscriptionEnv(publisher, listed, { LOGIN_DIR: subDir }));
  expect(r.status, r.stderr).toBe(0);
}, 240_000);

afterAll(() => {
  for (const s of [publisher, listed, late]) s?.stop();
  if (root) removeRoot(root);
});

describe("a subscription created while the replication login rotates", () => {
  it("credentials read after the plan hand out the pending login; the late subscription survives the retirement", async () => {
    const before = secretDoc();
    const rotation = heldRotation(config([listed]), "standby");
    await rotation.at;
    expect(secretDoc().pending?.from).toBe(before.username); // planned: the top level is the login being retired

    const got = await lateCredentials("mid-rotation");
    expect(got.username).toBe(before.standby.username);
    expect(got.username).not.toBe(secretDoc().pending!.from);
    lateSubscribes(got.dir);

    rotation.release();
    const after = await rotation.done;
    expect(after).toMatchObject({ username: got.username, password: got.password });
    expect(await canLogIn(before.username, before.password)).toBe(false);
    expect(await canLogIn(got.username, got.password)).toBe(true);
    await until("the late subscription streaming as the new role", async () => (await streamingAs(lateSlot)).join() === got.username);
    await replicates(1);
  }, 180_000);

  it("a late subscription made from a login read before the plan stops the rotation before that login is retired; listed, a re-run finishes", async () => {
    await late.sql(DATABASE_NAME, `DROP SUBSCRIPTION ${SUBSCRIPTION}`);
    await late.sql(DATABASE_NAME, "DROP TABLE ledger; DROP SCHEMA meridian_replication CASCADE");
    const before = secretDoc();
    const early = await lateCredentials("before-plan");
    expect(early.username).toBe(before.username);

    // The rotation waits its whole drain timeout for the late slot, which never moves to the new login; the listed
    // subscription reconnects within a second (its apply worker retries every 200 ms: private-pg.ts), so 5 s is plenty.
    const rotation = heldRotation(config([listed]), "standby", 5_000);
    await rotation.at;
    lateSubscribes(early.dir); // with the login this rotation would retire
    rotation.release();
    await expect(rotation.done).rejects.toThrow(
      new RegExp(`^${before.username} cannot be retired yet: ${lateSlot} (streams as ${before.username}|has not connected) after every listed subscription was switched`),
    );
    // Nothing retired: the late subscription still streams with its login, the listed one with the pending login.
    expect(await canLogIn(early.username, early.password)).toBe(true);
    expect(secretDoc().pending?.from).toBe(before.username);
    await replicates(2);

    const after = await rotateReplicationLogin(config([listed, late]), { open });
    expect(after.username).toBe(before.standby.username);
    expect(await canLogIn(early.username, early.password)).toBe(false);
    await until("the late subscription streaming as the new role", async () => (await streamingAs(lateSlot)).join() === after.username);
    await replicates(3);
  }, 180_000);
});
