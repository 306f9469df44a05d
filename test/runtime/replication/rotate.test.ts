// Replication login rotation (alternating users) against real logical replication: a publisher and two
// subscribers (private PostgreSQL servers, wal_level=logical, SCRAM, TLS) subscribed by the Jobs' own
// scripts (one publisher feeding two subscribers, each with its own slot); the secrets are files standing
// in for the secret manager. After each rotation the walsenders on the publisher run as the new role, the
// retired password is refused, and a new row still reaches both subscribers. A rotation killed half-way (one subscriber switched, the other not) keeps replicating, and
// a re-run of the CLI finishes it.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_NAME } from "../../../components/replication/copy.js";
import { PUBLICATION_COMMAND, SUBSCRIPTION_COMMAND, subscriptionName } from "../../../components/replication/logical.js";
import { openSecretStore } from "../../../runtime/replication/cloud-secrets.js";
import { rotateConfigSchema, rotateReplicationLogin, type RotateConfig } from "../../../runtime/replication/rotate.js";
import type { ReplicationLogin } from "../../../runtime/replication/secret-store.js";
import { ReplicationJobs } from "../../components/replication/jobs.js";
import { canLogIn as canLogInAt, fileSecret, FIRST_LOGIN, WRITER } from "./logins.js";
import { PrivatePg, pgRoot, removeRoot, testCa, type TestCa } from "../../components/replication/private-pg.js";
import { MERIDIAN_BIN, REPO_ROOT } from "../../cli.js";

const SUPERUSER_PASSWORD = "rotate-test-superuser-password";

let root = "";
let ca: TestCa;
let publisher: PrivatePg;
const subscribers: { server: PrivatePg; subscription: string; slot: string }[] = [];
let config: RotateConfig;
let configFile = "";
let loginFile = "";

const until = async (what: string, check: () => Promise<boolean>) => {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};
const dbUrl = (s: PrivatePg) => `postgres://127.0.0.1:${s.port}/${DATABASE_NAME}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca.bundle)}&uselibpqcompat=true`;
const login = () => JSON.parse(readFileSync(loginFile, "utf8")) as ReplicationLogin;
const rotate = () => rotateReplicationLogin(config, { open: (ref) => openSecretStore(ref) });

const canLogIn = (user: string, password: string) => canLogInAt(publisher.port, user, password);

/** Insert a row on the publisher and wait until every subscriber holds it. */
async function replicates(id: number): Promise<void> {
  await publisher.sql(DATABASE_NAME, `INSERT INTO ledger VALUES (${id}, 'row ${id}')`);
  for (const { server } of subscribers) {
    await until(`row ${id} on ${server.port}`, async () => (await server.sql(DATABASE_NAME, `SELECT 1 FROM ledger WHERE id = ${id}`)).rowCount === 1);
  }
}

/** The roles the publisher's walsenders run as (one per subscription). */
const streamingAs = async () => (await publisher.sql("postgres", "SELECT usename FROM pg_stat_replication ORDER BY usename")).rows.map((r: { usename: string }) => r.usename);

beforeAll(async () => {
  root = pgRoot();
  mkdirSync(join(root, "ca"));
  ca = testCa(join(root, "ca"));
  const servers = await PrivatePg.startAll(
    root,
    ["publisher", "subscriber-1", "subscriber-2"].map((name) => ({ name, ca, password: SUPERUSER_PASSWORD })),
  );
  publisher = servers.shift()!;
  for (const s of [publisher, ...servers]) await s.sql("postgres", `CREATE DATABASE ${DATABASE_NAME}`);
  await publisher.sql(DATABASE_NAME, "CREATE TABLE ledger (id int PRIMARY KEY, note text NOT NULL)");
  // One publisher feeding two subscribers, as the topology does across clouds: the same subscription name on
  // each, and a replication slot of its own on the publisher (named after the subscriber's region).
  for (const [i, server] of servers.entries()) {
    mkdirSync(join(root, `jobs-${i}`));
    const jobs = new ReplicationJobs(join(root, `jobs-${i}`), ca, SUPERUSER_PASSWORD, WRITER, WRITER, `region-${i + 1}`);
    for (const [command, env] of [
      [PUBLICATION_COMMAND, jobs.publicationEnv(publisher)],
      [SUBSCRIPTION_COMMAND, jobs.subscriptionEnv(publisher, server)],
    ] as const) {
      const r = jobs.run(command, env);
      expect(r.status, r.stderr).toBe(0);
    }
    subscribers.push({ server, subscription: subscriptionName(WRITER, WRITER), slot: `meridian_aws_use1_from_aws_use1_to_region_${i + 1}` });
  }
  // The subscriptions' own slots; a subscription's initial table copy also holds a transient slot of PostgreSQL's
  // own (pg_<subid>_sync_<relid>_<sysid>) until that table is synchronised, which is not Meridian's to count.
  const slots = "SELECT slot_name FROM pg_replication_slots WHERE slot_name !~ '^pg_[0-9]+_sync_[0-9]+_[0-9]+$' ORDER BY slot_name";
  expect((await publisher.sql("postgres", slots)).rows.map((r: { slot_name: string }) => r.slot_name)).toEqual([
    "meridian_aws_use1_from_aws_use1_to_region_1",
    "meridian_aws_use1_from_aws_use1_to_region_2",
  ]);
  const secret = (name: string, doc: object) => fileSecret(root, name, doc);
  const admin = secret("admin.json", { username: "postgres", password: SUPERUSER_PASSWORD });
  loginFile = join(root, "login.json");
  config = rotateConfigSchema.parse({
    publisher: { url: dbUrl(publisher), admin },
    login: secret("login.json", FIRST_LOGIN),
    subscribers: subscribers.map((s) => ({
      url: dbUrl(s.server),
      admin,
      subscription: s.subscription,
      slot: s.slot,
      source: `host=127.0.0.1 port=${publisher.port} dbname=${DATABASE_NAME} sslmode=require`,
    })),
  });
  configFile = join(root, "rotate.json");
  writeFileSync(configFile, JSON.stringify(config));
}, 240_000);

afterAll(() => {
  for (const s of [publisher, ...subscribers.map((x) => x.server)]) s?.stop();
  if (root) removeRoot(root);
});

describe("meridian replication rotate (alternating users)", () => {
  it("moves every subscription to the standby role, refuses the retired password, and keeps replicating; twice", async () => {
    await replicates(1);

    const once = await rotate();
    expect(once.username).toBe(FIRST_LOGIN.standby.username);
    expect(once.password).not.toBe(FIRST_LOGIN.standby.password);
    expect(login()).toEqual(once);
    await until("walsenders as the new role", async () => (await streamingAs()).join() === [once.username, once.username].join());
    expect(await canLogIn(FIRST_LOGIN.username, FIRST_LOGIN.password)).toBe(false);
    expect(await canLogIn(FIRST_LOGIN.standby.username, FIRST_LOGIN.standby.password)).toBe(false);
    expect(await canLogIn(once.username, once.password)).toBe(true);
    await replicates(2);

    const twice = await rotate();
    expect(twice.username).toBe(FIRST_LOGIN.username);
    await until("walsenders as role a again", async () => (await streamingAs()).join() === [twice.username, twice.username].join());
    expect(await canLogIn(once.username, once.password)).toBe(false);
    expect(await canLogIn(twice.username, twice.password)).toBe(true);
    await replicates(3);
  }, 180_000);

  it("a rotation killed between switching the first and the second subscriber keeps replicating; a re-run completes it", async () => {
    const before = login();
    const [first, second] = subscribers as [(typeof subscribers)[0], (typeof subscribers)[0]];
    // Hold the second subscription's object lock so the rotation stops just before switching it.
    const hold = new pg.Client({ connectionString: second.server.url(DATABASE_NAME) });
    await hold.connect();
    await hold.query("BEGIN");
    await hold.query(`COMMENT ON SUBSCRIPTION ${second.subscription} IS 'held by the test'`);

    const child = spawn(process.execPath, [MERIDIAN_BIN, "replication", "rotate", "--config", configFile], { cwd: REPO_ROOT });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => child.on("exit", r));
    await until("the first subscriber switched", async () => out.includes(`switch: ${first.subscription}`));
    const waiting = async () => (await second.server.sql("postgres", "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'ALTER SUBSCRIPTION%'")).rows as { pid: number }[];
    await until("the rotation blocked on the second subscriber", async () => (await waiting()).length === 1);
    child.kill("SIGKILL");
    await exited;
    // The crash takes the blocked statement with it.
    const [{ pid }] = (await waiting()) as [{ pid: number }];
    await second.server.sql("postgres", `SELECT pg_terminate_backend(${pid})`);
    await hold.query("ROLLBACK");
    await hold.end();

    const mid = login();
    expect(mid.pending?.username).toBe(before.standby.username);
    expect(mid.username).toBe(before.username); // readers still get the login that works
    // One subscription on each role, both streaming.
    await until("walsenders as both roles", async () => (await streamingAs()).join() === [before.username, before.standby.username].sort().join());
    await replicates(4);

    const r = spawn(process.execPath, [MERIDIAN_BIN, "replication", "rotate", "--config", configFile], { cwd: REPO_ROOT });
    let rOut = "";
    r.stdout.on("data", (d: Buffer) => (rOut += d.toString()));
    r.stderr.on("data", (d: Buffer) => (rOut += d.toString()));
    expect(await new Promise((res) => r.on("exit", res)), rOut).toBe(0);
    const after = login();
    expect(after.pending).toBeUndefined();
    // The interrupted rotation was finished with its recorded password, not a new one.
    expect(after).toMatchObject({ username: mid.pending!.username, password: mid.pending!.password });
    await until("walsenders as the new role", async () => (await streamingAs()).join() === [after.username, after.username].join());
    expect(await canLogIn(before.username, before.password)).toBe(false);
    await replicates(5);
  }, 240_000);

  it("refuses a config naming a login in the URL or the conninfo", () => {
    const bad = rotateConfigSchema.safeParse({
      ...config,
      publisher: { ...config.publisher, url: "postgres://postgres:pw@127.0.0.1/meridian" },
      subscribers: [{ ...config.subscribers[0], source: "host=x user=postgres" }],
    });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([expect.stringMatching(/^publisher\.url: must carry no login/), expect.stringMatching(/^subscribers\.0\.source: must not name a user or password/)]),
    );
  });
});
