// The replication monitor against real logical replication: two private PostgreSQL servers, the
// publication and subscription Jobs' own scripts, and one monitor per region — the writer's stamps the
// heartbeat, the subscriber region's reads its copy. A disabled subscription and a writer that stops
// beating both surface as lag beyond the bound: /readyz 503 naming the copy; re-enabled, it recovers.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_NAME } from "../../../components/replication/copy.js";
import { PUBLICATION_COMMAND, SUBSCRIPTION_COMMAND, subscriptionName } from "../../../components/replication/logical.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { replicationMonitorService, type CopyLag } from "../../../runtime/replication/index.js";
import { ReplicationJobs } from "../../components/replication/jobs.js";
import { PrivatePg, pgRoot, removeRoot, testCa } from "../../components/replication/private-pg.js";

const WRITER = "aws-use1";
const PASSWORD = "heartbeat-pw";
let root = "";
let publisher: PrivatePg;
let subscriber: PrivatePg;
let passwordFile = "";
const running: RunningService[] = [];

const dbUrl = (s: PrivatePg) => `postgres://postgres@127.0.0.1:${s.port}/${DATABASE_NAME}`;
const start = async (config: Record<string, unknown>) => {
  const svc = await startService(replicationMonitorService, { server: { port: 0 }, intervalMs: 200, maxLagSeconds: 2, ...config }, { processMetrics: false });
  running.push(svc);
  return svc;
};
const until = async (what: string, check: () => Promise<boolean>) => {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};
const status = async (url: string) => (await (await fetch(`${url}/v1/replication`)).json()) as { copies: CopyLag[]; writes: { ok: boolean } | null };

beforeAll(async () => {
  root = pgRoot();
  mkdirSync(join(root, "ca"));
  const ca = testCa(join(root, "ca"));
  [publisher, subscriber] = (await PrivatePg.startAll(
    root,
    ["publisher", "subscriber"].map((name) => ({ name, ca, password: PASSWORD })),
  )) as [PrivatePg, PrivatePg];
  for (const s of [publisher, subscriber]) await s.sql("postgres", `CREATE DATABASE ${DATABASE_NAME}`);
  const jobs = new ReplicationJobs(root, ca, PASSWORD, WRITER, WRITER);
  for (const [command, env] of [
    [PUBLICATION_COMMAND, jobs.publicationEnv(publisher)],
    [SUBSCRIPTION_COMMAND, jobs.subscriptionEnv(publisher, subscriber)],
  ] as const) {
    const r = jobs.run(command, env);
    expect(r.status, r.stderr).toBe(0);
  }
  passwordFile = join(root, "password");
  writeFileSync(passwordFile, `${PASSWORD}\n`);
}, 180_000);

afterAll(async () => {
  for (const s of running.reverse()) await s.close();
  for (const s of [publisher, subscriber]) s?.stop();
  if (root) removeRoot(root);
});

describe("replication monitor (heartbeat lag) over real logical replication", () => {
  it("the publication Job creates the heartbeat table and the subscriber copies it with the schema", async () => {
    for (const s of [publisher, subscriber]) {
      expect((await s.sql(DATABASE_NAME, "SELECT to_regclass('meridian_replication.heartbeat') AS t")).rows).toEqual([{ t: "meridian_replication.heartbeat" }]);
    }
  });

  it("measures the copy's lag, and a stalled subscription or a silent writer fails /readyz naming the copy", async () => {
    const writer = await start({ region: WRITER, writes: { writer: WRITER, url: dbUrl(publisher), passwordFile } });
    // The reader's login, like its password, comes from a mounted Secret file (the Deployment's layout), not the URL.
    const userFile = join(root, "username");
    writeFileSync(userFile, "postgres\n");
    const reader = await start({ region: "gcp-usc1", copies: [{ writer: WRITER, url: `postgres://127.0.0.1:${subscriber.port}/${DATABASE_NAME}`, userFile, passwordFile }] });
    await until("a fresh copy", async () => (await fetch(`${reader.url}/readyz`)).status === 200);
    const fresh = (await status(reader.url)).copies[0]!;
    expect(fresh).toMatchObject({ writer: WRITER, ok: true });
    expect(fresh.lagMs!).toBeLessThan(2000);
    expect((await status(writer.url)).writes).toEqual({ writer: WRITER, ok: true });
    expect(await (await fetch(`${reader.url}/metrics`)).text()).toMatch(new RegExp(`^meridian_replication_lag_seconds\\{[^}]*writer="${WRITER}"[^}]*\\} [0-9.e-]+$`, "m"));

    // The subscription stops applying: the copy's stamp stops moving.
    await subscriber.sql(DATABASE_NAME, `ALTER SUBSCRIPTION ${subscriptionName(WRITER, WRITER)} DISABLE`);
    await until("/readyz 503", async () => (await fetch(`${reader.url}/readyz`)).status === 503);
    const body = (await (await fetch(`${reader.url}/readyz`)).json()) as { checks: { replication: string } };
    expect(body.checks.replication).toMatch(new RegExp(`^copy of ${WRITER} is \\d+\\.\\d s behind \\(bound 2 s\\)$`));

    await subscriber.sql(DATABASE_NAME, `ALTER SUBSCRIPTION ${subscriptionName(WRITER, WRITER)} ENABLE`);
    await until("recovery", async () => (await fetch(`${reader.url}/readyz`)).status === 200);

    // The writer's monitor stops: no heartbeat is the same staleness to a reader.
    await writer.close();
    running.splice(running.indexOf(writer), 1);
    await until("/readyz 503 again", async () => (await fetch(`${reader.url}/readyz`)).status === 503);
  }, 120_000);

  it("an unreachable copy is not ready and says why; a URL with a password is refused", async () => {
    const reader = await start({ region: "r2", timeoutMs: 500, copies: [{ writer: WRITER, url: "postgres://postgres@127.0.0.1:1/meridian", passwordFile }] });
    await until("a failed probe", async () => /unreadable/.test(JSON.stringify(await status(reader.url))));
    expect((await fetch(`${reader.url}/readyz`)).status).toBe(503);
    await expect(start({ region: "r3", copies: [{ writer: WRITER, url: `postgres://postgres:secret@127.0.0.1:1/meridian` }] })).rejects.toThrow(/copies\.0\.url.*must not carry a password/s);
  }, 60_000);
});
