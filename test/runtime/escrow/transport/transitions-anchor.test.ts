/**
 * The transition log's anchors in the verifiable map (transport/transitions-anchor.ts), with two escrow processes
 * serving one region on one map:
 *  - each process's log is anchored under a key of its own (its log and writer epoch), so neither overwrites the
 *    other's: both anchors stand while both publish (before, both wrote `<region>/.transitions`, the last write won);
 *  - on PostgreSQL the later process takes the log over: the earlier one seals its log at its durable size (its next
 *    write is refused), both anchors name the one log, and a Go witness (golang.org/x/mod/sumdb/{note,tlog}) finds the
 *    later checkpoint consistent with the earlier;
 *  - a log store restored from a stale snapshot is found against the map's anchors at the next start: the process
 *    does not continue the log at a smaller size (a rollback) but starts a new, differently named log and says why.
 */
import pg from "pg";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../../runtime/common/clock.js";
import { localOperatorAuth, startService, type RunningService } from "../../../../runtime/kit/index.js";
import { generateKey } from "../../../../runtime/prooflog/index.js";
import { startLogServer } from "../../../../runtime/prooflog/services.js";
import { MapClient } from "../../../../runtime/vmap/index.js";
import { mapService } from "../../../../runtime/vmap/services.js";
import { until } from "../../../until.js";
import { dropPgSchema, ensurePgDatabase, PG_URL, uniqueName } from "../servers.js";
import { TransitionEscrows } from "../transition-escrows.js";
import { buildGoWitness, type GoWitness } from "../transitions-go/witness.js";

const ORIGIN = "meridian.test/escrow-anchor";
const dir = mkdtempSync(join(tmpdir(), "escrow-anchor-"));
const schemas = [uniqueName("tlog_anchor"), uniqueName("tlog_stale")];
let logServer: { app: { close(): Promise<void> }; url: string };
let map: RunningService;
let tokenFile: string;
let keyFile: string;
let go: GoWitness;

type Anchor = { v: string; origin: string; epoch: number; vkey: string; size: number; root: string };

const escrows = new TransitionEscrows();
/** `regions`, 20 units each, on the map (and `extra`). */
const startEscrow = (regions: string[], extra: Record<string, unknown> = {}) =>
  escrows.start(Object.fromEntries(regions.map((r) => [r, 20])), { map: map.url, mapTokenFile: tokenFile, mapTimeoutMs: 2_000, ...extra });
const onPostgres = (schema: string) => ({ postgres: PG_URL, storeSchema: schema, transitionsKeyFile: keyFile });
const sell = (svc: RunningService, region: string, qty: number) => escrows.sell(svc, region, qty);

/** Every transition-log anchor the map holds, wherever its key (proven complete against the map's root). */
async function anchors(): Promise<Anchor[]> {
  const all = await new MapClient(map.url).readPrefix("escrow", "");
  return all.entries.map(([, v]) => JSON.parse(v.toString("utf8")) as Anchor).filter((a) => a.v?.startsWith("meridian-escrow-transitions/"));
}
const anchorOf = async (origin: string, size: number) => (await anchors()).find((a) => a.origin === origin && a.size === size);

beforeAll(async () => {
  await ensurePgDatabase();
  go = buildGoWitness();
  keyFile = go.signerKeyFile("meridian-escrow");
  const auth = await localOperatorAuth(systemClock);
  const keys = generateKey(ORIGIN);
  logServer = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, dataDir: join(dir, "log"), port: 0, checkpointIntervalMs: 20, notice: () => undefined });
  map = await startService(
    mapService,
    { maps: ["escrow"], log: logServer.url, writers: { escrow: { scope: "meridian.escrow.map" } }, server: { port: 0, auth: auth.auth } },
    { clock: systemClock, processMetrics: false },
  );
  tokenFile = join(dir, "map.token");
  writeFileSync(tokenFile, await auth.token({ scope: "meridian.escrow.map" }));
}, 120_000);
afterAll(async () => {
  await escrows.closeAll();
  await map?.close();
  await logServer?.app.close();
  for (const s of schemas) await dropPgSchema(s);
  go?.remove();
});

describe("transition-log anchors of two processes serving one region", () => {
  it("each process's anchor stands: neither overwrites the other's", { timeout: 90_000 }, async () => {
    const a = await startEscrow(["eu"]);
    const b = await startEscrow(["eu"]);
    await sell(a, "eu", 1);
    await sell(b, "eu", 2);
    const [ca, cb] = [await go.checkpoint(a.url, "ma"), await go.checkpoint(b.url, "mb")];
    expect(ca.origin).not.toBe(cb.origin);
    await until("both processes' anchors in the map", async () => ((await anchorOf(ca.origin, ca.size)) && (await anchorOf(cb.origin, cb.size)) ? true : undefined));
    // Both keep publishing: each one's anchor moves on, and the other's stays.
    await sell(a, "eu", 1);
    const ca2 = await go.checkpoint(a.url, "ma2");
    await until("a's anchor moved on", () => anchorOf(ca2.origin, ca2.size));
    expect(await anchorOf(cb.origin, cb.size)).toMatchObject({ vkey: cb.vkey, root: cb.root });
    expect((await anchors()).filter((x) => x.origin === ca.origin)).toHaveLength(1);
  });

  it("on PostgreSQL the later process takes the log over; the earlier seals; both anchors stand, one consistent log", { timeout: 90_000 }, async () => {
    const a = await startEscrow(["ap"], onPostgres(schemas[0]!));
    await sell(a, "ap", 1);
    const ca = await go.checkpoint(a.url, "pa");
    await until("a's anchor", () => anchorOf(ca.origin, ca.size));
    // a reserves, then b starts on the same store: b continues the same log (with a's reserve if a stored it first:
    // a's log stores on its own interval, so either may come first).
    await escrows.reserve(a, "ap", 1);
    const b = await startEscrow(["ap"], onPostgres(schemas[0]!));
    const cb = await go.checkpoint(b.url, "pb");
    expect(cb.origin).toBe(ca.origin);
    // a's next write is refused: it reserves again, its log is sealed where the store has it, it signs nothing past that.
    await escrows.reserve(a, "ap", 1);
    const ca2 = await go.checkpoint(a.url, "pa2");
    expect(ca2.sealed?.reason).toMatch(/another process took over the log/);
    expect(ca2.size).toBeGreaterThanOrEqual(ca.size);
    expect(ca2.size).toBeLessThanOrEqual(cb.size);
    await sell(b, "ap", 2);
    const cb2 = await go.checkpoint(b.url, "pb2");
    await until("b's anchor", () => anchorOf(cb2.origin, cb2.size));
    await until("a's last anchor", () => anchorOf(ca2.origin, ca2.size));
    const mine = (await anchors()).filter((x) => x.origin === ca.origin);
    expect(mine.map((x) => x.epoch).sort()).toEqual([1, 2]);
    expect(mine.find((x) => x.epoch === 1)).toMatchObject({ size: ca2.size, root: ca2.root });
    const verdict = await go.judge(ca.vkey, ca.file, cb2.file, b.url);
    expect(verdict, verdict).toMatch(/^ok note\.Open A: .*\nok tlog\.CheckTree: .*\nok B extends A: /);
  });

  it("a log store restored from a stale snapshot: the restart starts a new log, never a rolled-back one", { timeout: 90_000 }, async () => {
    const schema = schemas[1]!;
    const first = await startEscrow(["us"], onPostgres(schema));
    await sell(first, "us", 1);
    const early = await go.checkpoint(first.url, "s-early");
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      await c.query(`CREATE TABLE ${schema}.snap_logs AS SELECT * FROM ${schema}.escrow_transition_logs`);
      await c.query(`CREATE TABLE ${schema}.snap_entries AS SELECT * FROM ${schema}.escrow_transition_entries`);
      await sell(first, "us", 2);
      const late = await go.checkpoint(first.url, "s-late");
      expect(late.size).toBeGreaterThan(early.size);
      await until("the late anchor", () => anchorOf(late.origin, late.size));
      await first.close();
      // The store comes back from the snapshot taken at the early size.
      await c.query(`DELETE FROM ${schema}.escrow_transition_entries`);
      await c.query(`DELETE FROM ${schema}.escrow_transition_logs`);
      await c.query(`INSERT INTO ${schema}.escrow_transition_logs SELECT * FROM ${schema}.snap_logs`);
      await c.query(`INSERT INTO ${schema}.escrow_transition_entries SELECT * FROM ${schema}.snap_entries`);
    } finally {
      await c.end();
    }
    const second = await startEscrow(["us"], onPostgres(schema));
    const next = (await go.checkpoint(second.url, "s-next")) as Awaited<ReturnType<GoWitness["checkpoint"]>> & { restarted?: { origin: string; size: number; reason: string } };
    expect(next.origin).not.toBe(early.origin);
    expect(next.restarted).toMatchObject({ origin: early.origin, size: early.size });
    expect(next.restarted!.reason).toMatch(/anchors size \d+/);
    const late = { file: join(go.dir, "s-late.checkpoint") };
    expect(await go.judge(early.vkey, late.file, next.file, second.url)).toMatch(/^ok note\.Open A: .*\nok another log: /);
  });
});
