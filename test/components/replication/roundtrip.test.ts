// The logical-replication Jobs, run for real: two private PostgreSQL servers (wal_level=logical, SCRAM
// logins, TLS with a test CA) on ephemeral loopback ports; the files the Jobs' ConfigMaps hold are
// written to a temp dir standing in for their mount, and each Job's own command runs with the Job's
// environment (plus the ports and CA bundle a test must supply). A row written on the publisher is
// then read on the subscriber; a wrong password, a missing database or an untrusted server certificate
// makes the same script exit non-zero.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_NAME } from "../../../components/replication/copy.js";
import { PUBLICATION_COMMAND, SUBSCRIPTION_COMMAND, publicationName, subscriptionName } from "../../../components/replication/logical.js";
import { ReplicationJobs } from "./jobs.js";
import { PrivatePg, pgRoot, removeRoot, testCa, type TestCa } from "./private-pg.js";

const WRITER = "aws-use1";
const FEEDER = "aws-use1";
// Quotes, a backslash and a space: the script must quote the login for libpq and for SQL.
const PASSWORD = `re pl'i\\ca`;

let root = "";
let ca: TestCa;
let otherCa: TestCa;
let publisher: PrivatePg;
let subscriber: PrivatePg;
let empty: PrivatePg;
let fresh: PrivatePg;
let elsewhere: PrivatePg;

let jobs: ReplicationJobs;
const job = (command: string[], env: Record<string, string>) => jobs.run(command, env);
const publicationEnv = (server: PrivatePg, overrides: Record<string, string> = {}) => jobs.publicationEnv(server, overrides);
const subscriptionEnv = (source: PrivatePg, target: PrivatePg, overrides: Record<string, string> = {}) => jobs.subscriptionEnv(source, target, overrides);

beforeAll(async () => {
  root = pgRoot();
  mkdirSync(join(root, "ca"));
  mkdirSync(join(root, "other-ca"));
  ca = testCa(join(root, "ca"));
  otherCa = testCa(join(root, "other-ca"));
  // The last, a subscriber on another cloud: its certificate chains to a different CA than the publisher's.
  [publisher, subscriber, empty, fresh, elsewhere] = (await PrivatePg.startAll(root, [
    ...["publisher", "subscriber", "empty", "fresh"].map((name) => ({ name, ca, password: PASSWORD })),
    { name: "elsewhere", ca: otherCa, password: PASSWORD },
  ])) as [PrivatePg, PrivatePg, PrivatePg, PrivatePg, PrivatePg];
  for (const s of [publisher, subscriber, fresh, elsewhere]) await s.sql("postgres", `CREATE DATABASE ${DATABASE_NAME}`);
  await publisher.sql(DATABASE_NAME, "CREATE TABLE ledger (id int PRIMARY KEY, note text NOT NULL); INSERT INTO ledger VALUES (1, 'before the subscription')");
  jobs = new ReplicationJobs(root, ca, PASSWORD, WRITER, FEEDER);
}, 180_000);

afterAll(() => {
  for (const s of [publisher, subscriber, empty, fresh, elsewhere]) s?.stop();
  if (root) removeRoot(root);
});

describe("logical replication Jobs against real PostgreSQL", () => {
  it("publication then subscription: a row written on the publisher is read on the subscriber; both Jobs are idempotent", async () => {
    for (let i = 0; i < 2; i++) {
      const pub = job(PUBLICATION_COMMAND, publicationEnv(publisher));
      expect(pub.status, pub.stderr).toBe(0);
      const sub = job(SUBSCRIPTION_COMMAND, subscriptionEnv(publisher, subscriber));
      expect(sub.status, sub.stderr).toBe(0);
    }
    expect((await publisher.sql(DATABASE_NAME, "SELECT pubname FROM pg_publication")).rows).toEqual([{ pubname: publicationName(WRITER) }]);
    expect((await subscriber.sql(DATABASE_NAME, "SELECT subname FROM pg_subscription")).rows).toEqual([{ subname: subscriptionName(WRITER, FEEDER) }]);

    await publisher.sql(DATABASE_NAME, "INSERT INTO ledger VALUES (2, 'after the subscription')");
    let rows: unknown[] = [];
    for (let i = 0; i < 600 && rows.length < 2; i++) {
      rows = (await subscriber.sql(DATABASE_NAME, "SELECT id, note FROM ledger ORDER BY id")).rows;
      if (rows.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    expect(rows).toEqual([
      { id: 1, note: "before the subscription" },
      { id: 2, note: "after the subscription" },
    ]);
  }, 120_000);

  it("a wrong password fails both Jobs, on either side", () => {
    const wrong = { username: "postgres", password: "wrong" };
    const pub = job(PUBLICATION_COMMAND, publicationEnv(publisher, { LOGIN_DIR: jobs.logins("wrong-admin", { admin: wrong }) }));
    expect(pub.status).not.toBe(0);
    expect(pub.stderr).toMatch(/password authentication failed/);
    const sub = job(SUBSCRIPTION_COMMAND, subscriptionEnv(publisher, empty, { LOGIN_DIR: jobs.logins("wrong-target", { target: wrong }) }));
    expect(sub.status).not.toBe(0);
    expect(sub.stderr).toMatch(/password authentication failed/);
    // A target not yet subscribed dumps from the source with the source login first.
    const src = job(SUBSCRIPTION_COMMAND, subscriptionEnv(empty, fresh, { LOGIN_DIR: jobs.logins("wrong-source", { source: wrong }) }));
    expect(src.status).not.toBe(0);
    expect(src.stderr).toMatch(/password authentication failed/);
  });

  it("no login files (the init container did not run) fails both Jobs before they dial", () => {
    const none = jobs.logins("none", { admin: null, source: null, target: null });
    for (const [command, env] of [
      [PUBLICATION_COMMAND, publicationEnv(publisher, { LOGIN_DIR: none })],
      [SUBSCRIPTION_COMMAND, subscriptionEnv(publisher, subscriber, { LOGIN_DIR: none })],
    ] as const) {
      const r = job(command, env);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/No such file or directory/);
    }
    const unset = job(PUBLICATION_COMMAND, publicationEnv(publisher, { LOGIN_DIR: "" }));
    expect(unset.status).not.toBe(0);
  });

  it("a missing database fails both Jobs, on either side", () => {
    const pub = job(PUBLICATION_COMMAND, publicationEnv(empty));
    expect(pub.status).not.toBe(0);
    expect(pub.stderr).toMatch(/database "meridian" does not exist/);
    const noTarget = job(SUBSCRIPTION_COMMAND, subscriptionEnv(publisher, empty));
    expect(noTarget.status).not.toBe(0);
    expect(noTarget.stderr).toMatch(/database "meridian" does not exist/);
    // A target not yet subscribed dumps the source's schema first: no source database, no subscription.
    const noSource = job(SUBSCRIPTION_COMMAND, subscriptionEnv(empty, fresh));
    expect(noSource.status).not.toBe(0);
    expect(noSource.stderr).toMatch(/database "meridian" does not exist/);
  });

  it("a server certificate the CA bundle does not vouch for fails the Job (verify-full)", () => {
    const sub = job(SUBSCRIPTION_COMMAND, subscriptionEnv(publisher, subscriber, { PGSSLROOTCERT: otherCa.bundle }));
    expect(sub.status).not.toBe(0);
    expect(sub.stderr).toMatch(/certificate verify failed/);
    const noBundle = job(SUBSCRIPTION_COMMAND, subscriptionEnv(publisher, subscriber, { PGSSLROOTCERT: join(root, "absent.crt") }));
    expect(noBundle.status).not.toBe(0);
  });

  it("each side is verified by its own cloud's CA (SOURCE_/TARGET_SSLROOTCERT, as the rendered Job sets them)", async () => {
    const absent = join(root, "absent.crt");
    // Its own publisher (`fresh`), so its replication slot is its own.
    const pub = job(PUBLICATION_COMMAND, publicationEnv(fresh));
    expect(pub.status, pub.stderr).toBe(0);
    const swapped = job(
      SUBSCRIPTION_COMMAND,
      subscriptionEnv(fresh, elsewhere, { PGSSLROOTCERT: absent, SOURCE_SSLMODE: "verify-full", SOURCE_SSLROOTCERT: otherCa.bundle, TARGET_SSLMODE: "verify-full", TARGET_SSLROOTCERT: ca.bundle }),
    );
    expect(swapped.status).not.toBe(0);
    expect(swapped.stderr).toMatch(/certificate verify failed/);
    const sub = job(
      SUBSCRIPTION_COMMAND,
      subscriptionEnv(fresh, elsewhere, { PGSSLROOTCERT: absent, SOURCE_SSLMODE: "verify-full", SOURCE_SSLROOTCERT: ca.bundle, TARGET_SSLMODE: "verify-full", TARGET_SSLROOTCERT: otherCa.bundle }),
    );
    expect(sub.status, sub.stderr).toBe(0);
    expect((await elsewhere.sql(DATABASE_NAME, "SELECT subname FROM pg_subscription")).rows).toEqual([{ subname: subscriptionName(WRITER, FEEDER) }]);
  }, 120_000);
});
