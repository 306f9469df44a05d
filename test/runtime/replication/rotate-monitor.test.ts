// `meridian replication rotate` also rotates the lag monitor's own login (issue #13) — on the publisher and on
// each subscriber — with no moment at which the running monitor cannot log in. Real PostgreSQL: a publisher and
// a subscriber (private servers, SCRAM, TLS) subscribed by the Jobs' own scripts, the monitor roles made by the
// credentials step, and a running `replication monitor` stamping the publisher and reading the subscriber. The
// monitor role's sessions end after 50 ms idle (idle_session_timeout), so every probe logs in afresh; the
// rotation is held at each of its steps until several probes have run. No probe may fail, on either copy.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_NAME } from "../../../components/replication/copy.js";
import { PUBLICATION_COMMAND, SUBSCRIPTION_COMMAND, subscriptionName } from "../../../components/replication/logical.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { openSecretStore } from "../../../runtime/replication/cloud-secrets.js";
import { credentialsConfigSchema, writeCredentials } from "../../../runtime/replication/credentials.js";
import { replicationMonitorService } from "../../../runtime/replication/index.js";
import { rotateConfigSchema, rotateReplicationLogin, type RotateConfig, type RotateStep } from "../../../runtime/replication/rotate.js";
import type { MonitorLogin } from "../../../runtime/replication/secret-store.js";
import { ReplicationJobs } from "../../components/replication/jobs.js";
import { PrivatePg, pgRoot, removeRoot, testCa, type TestCa } from "../../components/replication/private-pg.js";
import { canLogIn, fileSecret, FIRST_LOGIN, WRITER } from "./logins.js";

const SUPERUSER_PASSWORD = "rotate-monitor-test-superuser-password";
const MONITOR = "meridian_monitor";
const FIRST = { publisher: "monitor-first-password-publisher-0", subscriber: "monitor-first-password-subscriber-" };

let root = "";
let ca: TestCa;
let publisher: PrivatePg;
let subscriber: PrivatePg;
let admin = "";
let config: RotateConfig;
const monitorRef = { publisher: "", subscriber: "" };
let monitor: RunningService;

const open = (ref: string) => openSecretStore(ref);
const dbUrl = (s: PrivatePg) => `postgres://127.0.0.1:${s.port}/${DATABASE_NAME}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca.bundle)}&uselibpqcompat=true`;
const secretDoc = (ref: string) => JSON.parse(readFileSync(ref.slice("file://".length), "utf8")) as MonitorLogin;
const until = async (what: string, check: () => Promise<boolean>) => {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

/**
 * The monitor's probe counters: heartbeats stamped on the publisher, reads of the subscriber's copy, and the
 * probes whose login the database refused. (A session ended by the idle timeout as a probe takes it is an
 * `error`, not a refusal: that is the test's churn, not the rotation's.)
 */
async function probes(): Promise<{ stamped: number; stampRefused: number; read: number; readRefused: number }> {
  const text = await (await fetch(`${monitor.url}/metrics`)).text();
  const count = (name: string, outcome: string) => Number(new RegExp(`^${name}\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
  return {
    stamped: count("meridian_replication_heartbeats_total", "ok"),
    stampRefused: count("meridian_replication_heartbeats_total", "refused"),
    read: count("meridian_replication_copy_reads_total", "ok"),
    readRefused: count("meridian_replication_copy_reads_total", "refused"),
  };
}

/** Wait until the monitor has stamped and read (each with a fresh login) three more times. */
async function probesRun(): Promise<void> {
  const from = await probes();
  await until("three more probes", async () => {
    const now = await probes();
    return now.stamped >= from.stamped + 3 && now.read >= from.read + 3;
  });
}

beforeAll(async () => {
  root = pgRoot();
  mkdirSync(join(root, "ca"));
  ca = testCa(join(root, "ca"));
  [publisher, subscriber] = (await PrivatePg.startAll(
    root,
    ["publisher", "subscriber"].map((name) => ({ name, ca, password: SUPERUSER_PASSWORD })),
  )) as [PrivatePg, PrivatePg];
  for (const s of [publisher, subscriber]) await s.sql("postgres", `CREATE DATABASE ${DATABASE_NAME}`);
  await publisher.sql(DATABASE_NAME, "CREATE TABLE ledger (id int PRIMARY KEY, note text NOT NULL)");
  const jobs = new ReplicationJobs(root, ca, SUPERUSER_PASSWORD, WRITER, WRITER, "region-1");
  for (const [command, env] of [
    [PUBLICATION_COMMAND, jobs.publicationEnv(publisher)],
    [SUBSCRIPTION_COMMAND, jobs.subscriptionEnv(publisher, subscriber)],
  ] as const) {
    const r = jobs.run(command, env);
    expect(r.status, r.stderr).toBe(0);
  }
  admin = fileSecret(root, "admin.json", { username: "postgres", password: SUPERUSER_PASSWORD });
  monitorRef.publisher = fileSecret(root, "monitor-publisher.json", { username: MONITOR, password: FIRST.publisher });
  monitorRef.subscriber = fileSecret(root, "monitor-subscriber.json", { username: MONITOR, password: FIRST.subscriber });
  // The monitor-login Jobs' init step on each copy; the publisher's writes the heartbeat.
  for (const [server, ref, writes] of [
    [publisher, monitorRef.publisher, true],
    [subscriber, monitorRef.subscriber, false],
  ] as const) {
    await writeCredentials(credentialsConfigSchema.parse({ logins: [{ secret: ref, dir: join(root, "login", String(server.port)) }], monitor: { url: dbUrl(server), admin, login: ref, writes } }), {
      open,
    });
    await server.sql("postgres", `ALTER ROLE ${MONITOR} SET idle_session_timeout = '50ms'`);
  }
  config = rotateConfigSchema.parse({
    publisher: { url: dbUrl(publisher), admin },
    login: fileSecret(root, "login.json", FIRST_LOGIN),
    subscribers: [
      {
        url: dbUrl(subscriber),
        admin,
        subscription: subscriptionName(WRITER, WRITER),
        slot: "meridian_aws_use1_from_aws_use1_to_region_1",
        source: `host=127.0.0.1 port=${publisher.port} dbname=${DATABASE_NAME} sslmode=require`,
      },
    ],
    monitors: [
      { url: dbUrl(publisher), admin, login: monitorRef.publisher },
      { url: dbUrl(subscriber), admin, login: monitorRef.subscriber },
    ],
  });
  monitor = await startService(
    replicationMonitorService,
    {
      server: { port: 0 },
      intervalMs: 100,
      maxLagSeconds: 60,
      region: WRITER,
      writes: { writer: WRITER, url: dbUrl(publisher), login: monitorRef.publisher },
      copies: [{ writer: WRITER, url: dbUrl(subscriber), login: monitorRef.subscriber }],
    },
    { processMetrics: false },
  );
}, 240_000);

afterAll(async () => {
  await monitor?.close();
  for (const s of [publisher, subscriber]) s?.stop();
  if (root) removeRoot(root);
});

describe("meridian replication rotate: the lag monitor's login", () => {
  it("gets a new password on the publisher and the subscriber, and the running monitor never fails a probe", async () => {
    await until("the subscriber's copy of the heartbeat read", async () => (await probes()).read > 0);
    const steps: string[] = [];
    // At every step from the replication login's end on, the monitor keeps probing with fresh logins.
    const held = new Set<RotateStep>(["done", "monitor-record", "monitor-set", "monitor-publish"]);
    await rotateReplicationLogin(config, {
      open,
      progress: async (step, detail) => {
        if (!held.has(step)) return;
        steps.push(`${step} ${detail === monitorRef.publisher ? "publisher" : detail === monitorRef.subscriber ? "subscriber" : ""}`.trim());
        await probesRun();
      },
    });
    expect(steps).toEqual([
      "done",
      "monitor-record publisher",
      "monitor-set publisher",
      "monitor-publish publisher",
      "monitor-record subscriber",
      "monitor-set subscriber",
      "monitor-publish subscriber",
    ]);
    const { stampRefused, readRefused } = await probes();
    expect({ stampRefused, readRefused }).toEqual({ stampRefused: 0, readRefused: 0 });

    for (const [server, ref, first] of [
      [publisher, monitorRef.publisher, FIRST.publisher],
      [subscriber, monitorRef.subscriber, FIRST.subscriber],
    ] as const) {
      const doc = secretDoc(ref);
      expect(doc.next).toBeUndefined();
      expect(doc.password).not.toBe(first);
      expect(await canLogIn(server.port, MONITOR, first)).toBe(false);
      expect(await canLogIn(server.port, MONITOR, doc.password)).toBe(true);
    }
    await until("the monitor ready", async () => (await fetch(`${monitor.url}/readyz`)).status === 200);
  }, 180_000);

  it("the credentials step run mid-rotation waits for it, then sets the password the rotation published", async () => {
    const before = secretDoc(monitorRef.publisher);
    let release!: () => void;
    let arrived!: () => void;
    const at = new Promise<void>((r) => (arrived = r));
    const gate = new Promise<void>((r) => (release = r));
    const rotation = rotateReplicationLogin(
      { ...config, monitors: [config.monitors[0]!] },
      {
        open,
        progress: (step) => {
          if (step !== "monitor-record") return;
          arrived();
          return gate;
        },
      },
    );
    await at;
    const mid = secretDoc(monitorRef.publisher);
    expect(mid).toMatchObject({ password: before.password, next: expect.any(String) });
    // The monitor-login Job's init step on the publisher now: it waits on the rotation's lock.
    let ensured = false;
    const ensure = writeCredentials(
      credentialsConfigSchema.parse({
        logins: [{ secret: monitorRef.publisher, dir: join(root, "login", "again") }],
        monitor: { url: dbUrl(publisher), admin, login: monitorRef.publisher, writes: true },
      }),
      { open },
    ).then(() => (ensured = true));
    await until(
      "the credentials step waiting on the advisory lock",
      async () => (await publisher.sql("postgres", "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).rowCount === 1,
    );
    expect(ensured).toBe(false);
    await probesRun();
    release();
    await rotation;
    await ensure;
    // The recorded next password was the one set and published; the credentials step set the same.
    const doc = secretDoc(monitorRef.publisher);
    expect(doc).toEqual({ username: MONITOR, password: mid.next });
    expect(await canLogIn(publisher.port, MONITOR, doc.password)).toBe(true);
    expect(readFileSync(join(root, "login", "again", "password"), "utf8")).toBe(doc.password);
    await probesRun();
    const { stampRefused, readRefused } = await probes();
    expect({ stampRefused, readRefused }).toEqual({ stampRefused: 0, readRefused: 0 });
  }, 180_000);
});
