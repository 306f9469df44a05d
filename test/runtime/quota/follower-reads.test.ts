// Follower reads of quota usage over a real PostgreSQL primary and asynchronous hot standby (initdb,
// pg_basebackup -R, loopback ports): a bounded-staleness read is served by the standby within its bound; with
// replay paused the standby falls behind and is refused — the primary answers; an AS OF read returns the old
// value; a write's consistency token keeps a lagging standby from answering the writer (read-your-writes); and
// with the standby stopped every read still succeeds, from the primary.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { CONSISTENCY_HEADER, startService, type RunningService } from "../../../runtime/kit/index.js";
import { quotaService } from "../../../runtime/quota/service.js";
import { PrivatePostgres } from "../escrow/faults/private-postgres.js";
import { issuer, startAuditLog, TREE } from "./fixture.js";

let pgp: PrivatePostgres;
let log: Awaited<ReturnType<typeof startAuditLog>>;
let id: Awaited<ReturnType<typeof issuer>>;
let svc: RunningService;
/** The loosest read the policy allows (an hour): served by any reachable standby not below the request's token. */
const LOOSE = "consistency=bounded-staleness&max_staleness=1h";

/** Pause or resume WAL replay on the standby; a pause is awaited until replay has actually stopped. */
async function replay(action: "pause" | "resume"): Promise<void> {
  const c = new pg.Client({ connectionString: pgp.replica!.url("quota_fr") });
  await c.connect();
  try {
    await c.query(`SELECT pg_wal_replay_${action}()`);
    for (let i = 0; action === "pause" && i < 400; i++) {
      if ((await c.query<{ s: string }>("SELECT pg_get_wal_replay_pause_state() AS s")).rows[0]!.s === "paused") return;
      await new Promise((res) => setTimeout(res, 25));
    }
    if (action === "pause") throw new Error("the standby's replay never paused");
  } finally {
    await c.end();
  }
}

async function reserve(cpu: number): Promise<string> {
  const res = await fetch(`${svc.url}/v1/quota/nodes/alice/reserve`, {
    method: "POST",
    headers: { ...(await id.as("quota-admin")), "content-type": "application/json" },
    body: JSON.stringify({ amounts: { cpu } }),
  });
  expect(res.status).toBe(200);
  const token = res.headers.get(CONSISTENCY_HEADER);
  expect(token).toMatch(/^\d+\.\d+$/);
  return token!;
}

interface UsageRead {
  status: number;
  token: string | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers; the assertions check their shape
  body: Record<string, any>;
}

async function usage(query: string, token?: string): Promise<UsageRead> {
  const res = await fetch(`${svc.url}/v1/quota/nodes/alice/usage?${query}`, { headers: { ...(await id.as("alice")), ...(token ? { [CONSISTENCY_HEADER]: token } : {}) } });
  return { status: res.status, token: res.headers.get(CONSISTENCY_HEADER), body: (await res.json()) as UsageRead["body"] };
}

/** Read until `done` holds (replication and the standby's watermark move on their own time); bounded. */
async function until(read: () => Promise<UsageRead>, done: (r: UsageRead) => boolean): Promise<UsageRead> {
  let r = await read();
  for (let i = 0; i < 400 && !done(r); i++) {
    await new Promise((res) => setTimeout(res, 25));
    r = await read();
  }
  return r;
}

beforeAll(async () => {
  pgp = await PrivatePostgres.start({ synchronous: false });
  await pgp.createDatabase("quota_fr");
  log = await startAuditLog();
  id = await issuer();
  svc = await startService(
    quotaService,
    {
      ...TREE,
      postgres: pgp.primary.url("quota_fr"),
      replica: pgp.replica!.url("quota_fr"),
      reads: { operations: { "quota.usage": { consistency: "bounded-staleness", maxStaleness: "1h" } } },
      closedTimestampIntervalMs: 20,
      log: log.url,
      server: { port: 0, auth: id.auth },
    },
    { clock: systemClock, processMetrics: false },
  );
}, 120_000);
afterAll(async () => {
  await svc?.close();
  await log?.close();
  await pgp?.stop();
});

// One standby's story, step by step (written, paused, resumed, stopped): in this order even when tests are shuffled.
describe("quota usage: follower reads over a PostgreSQL hot standby", { shuffle: false }, () => {
  let first: string;
  let second: string;

  it("serves a bounded-staleness read from the standby, within its bound, once it has the write", async () => {
    first = await reserve(1);
    const r = await until(
      () => usage("consistency=bounded-staleness&max_staleness=10s", first),
      (x) => x.body.servedBy === "replica",
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ servedBy: "replica", consistency: "bounded-staleness", usage: { cpu: 1 } });
    expect(r.body.stalenessMs).toBeLessThanOrEqual(10_000);
    expect(r.token).toMatch(/^\d+\.\d+$/);
  });

  it("refuses a standby whose replay is paused: the primary answers, fresh", async () => {
    await replay("pause");
    second = await reserve(2);
    // The standby still answers with the old usage when nothing stops it (an hour's staleness allowed, no token)…
    const stale = await usage(LOOSE);
    expect(stale.body).toMatchObject({ servedBy: "replica", usage: { cpu: 1 } });
    // …but not the writer, whose token it has not reached (read-your-writes)…
    const mine = await usage(LOOSE, second);
    expect(mine.body).toMatchObject({ servedBy: "primary", usage: { cpu: 3 } });
    expect(mine.body.fallback).toMatch(/below the consistency token's/);
    // …and not a bounded read once its watermark is older than the bound.
    const bounded = await until(
      () => usage("consistency=bounded-staleness&max_staleness=200ms"),
      (x) => x.body.servedBy === "primary",
    );
    expect(bounded.body).toMatchObject({ servedBy: "primary", usage: { cpu: 3 } });
    expect(bounded.body.fallback).toMatch(/ms behind, beyond the 200 ms bound/);
    // An AS OF the standby has not closed goes to the primary too, and answers as of that time.
    const asOf = await usage(`as_of=${second}`);
    expect(asOf.body).toMatchObject({ servedBy: "primary", usage: { cpu: 3 }, asOf: second });
    expect(asOf.body.fallback).toMatch(/above the replica's watermark/);
  });

  it("answers AS OF an earlier write with the old value, from the standby once replay resumes", async () => {
    await replay("resume");
    const mine = await until(
      () => usage(LOOSE, second),
      (x) => x.body.servedBy === "replica",
    );
    expect(mine.body).toMatchObject({ servedBy: "replica", usage: { cpu: 3 } });
    const old = await usage(`as_of=${first}`);
    expect(old.body).toMatchObject({ servedBy: "replica", consistency: "exact", usage: { cpu: 1 }, asOf: first });
    expect((await usage("consistency=strong")).body).toMatchObject({ servedBy: "primary", usage: { cpu: 3 } });
  });

  it("refuses a looser read than the policy, and a malformed token or timestamp, naming the problem", async () => {
    expect((await usage("consistency=eventual")).body.detail).toMatch(/requires at least bounded-staleness; a eventual read is not allowed/);
    expect((await usage("as_of=yesterday")).body.detail).toMatch(/as_of: invalid HLC timestamp "yesterday"/);
    const bad = await usage(LOOSE, "v1.forged");
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toMatch(/x-meridian-consistency: invalid HLC timestamp/);
    expect((await usage(`as_of=${(Date.now() + 3_600_000) * 1000}.0`)).body.detail).toMatch(/in the future beyond the max offset/);
  });

  it("falls back to the primary, without an error, when the standby is down", async () => {
    pgp.replica!.stop();
    const r = await usage("consistency=bounded-staleness&max_staleness=10s");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ servedBy: "primary", usage: { cpu: 3 } });
    expect(r.body.fallback).toMatch(/^replica unavailable: /);
    expect((await usage(`as_of=${first}`)).body).toMatchObject({ servedBy: "primary", usage: { cpu: 1 } });
  });
});
