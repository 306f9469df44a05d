// Map state that survives restarts: the file and PostgreSQL stores restore every map (values and root) and the
// service asks the proof log only for entries after the stored head. Tries to break it with kill -9 of a child
// `map serve` mid-stream, a stale snapshot of the store, a torn journal, and a store that belongs to another log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { ensureDatabase } from "../../pg-database.js";
import { startMoto } from "../../moto.js";
import { AwsClient } from "aws4fetch";
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killServers, serveCli } from "../../cli.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";
import { generateKey, LogClient, parseCheckpoint, parseSignedNote } from "../../../runtime/prooflog/index.js";
import { startLogServer, type TransparencyLog } from "../../../runtime/prooflog/services.js";
import { decodeMapEntry, encodeMapEntry, MapClient, recoverMaps, VerifiableMap, type MapStore, type MapWrite } from "../../../runtime/vmap/index.js";
import { FileMapStore, mapService, PostgresMapStore, S3MapStore } from "../../../runtime/vmap/services.js";

const ORIGIN = "meridian.test/vmap-persist";
const keys = generateKey(ORIGIN);
const tmp = mkdtempSync(join(tmpdir(), "vmap-persist-"));
const DB = "meridian_vmap_persist_test";
const PG_URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
let logServer: { app: { close(): Promise<void> }; url: string; log: TransparencyLog };
let auth: Awaited<ReturnType<typeof localOperatorAuth>>;
let token = "";

beforeAll(async () => {
  logServer = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, dataDir: join(tmp, "log"), port: 0, checkpointIntervalMs: 20 });
  auth = await localOperatorAuth(systemClock);
  token = await auth.token({ scope: "meridian.vmap.write" });
  await ensureDatabase(DB);
});

afterAll(async () => {
  killServers();
  await logServer.app.close();
  rmSync(tmp, { recursive: true, force: true });
});

const cfg = (maps: string[], store: object, log: string | undefined = logServer.url) => ({
  maps,
  log,
  store,
  writers: Object.fromEntries(maps.map((m) => [m, { scope: "meridian.vmap.write" }])),
  server: { port: 0, auth: auth.auth },
});
const start = (maps: string[], store: object, log?: string | null) =>
  startService(mapService, cfg(maps, store, log === null ? undefined : (log ?? logServer.url)), { clock: systemClock, processMetrics: false });
const writer = (url: string) => new MapClient(url, { headers: { authorization: `Bearer ${token}` } });
const batch = (i: number): MapWrite[] => [
  [`acct:${i % 7}`, Buffer.from(`v${i}`)],
  [`acct:${(i * 3) % 11}`, i % 4 === 0 ? null : Buffer.from(`w${i}`)],
];

/** A MapStore wrapper that records what it was asked, and a LogClient that records which entries were read. */
function spyLog(url: string) {
  const client = new LogClient(url);
  const reads: number[] = [];
  const entries = client.entries.bind(client);
  client.entries = (start: number, end: number, size: number) => {
    reads.push(start);
    return entries(start, end, size);
  };
  return { client, reads };
}

describe("file map store (in process)", () => {
  it("restores every map exactly — values, revision, root — across snapshots and a torn journal tail", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.tuple(fc.constantFrom("a", "b", "c", "d", "e"), fc.option(fc.uint8Array({ minLength: 1, maxLength: 4 }))), { minLength: 1, maxLength: 4 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        async (batches, every) => {
          const dir = mkdtempSync(join(tmp, "fc-"));
          const store = new FileMapStore(dir, { snapshotEvery: every });
          await store.load("m");
          const map = new VerifiableMap("m");
          for (const writes of batches) await store.record({ entry: map.apply(writes as MapWrite[]), logIndex: null }, () => map.entries());
          await store.close();
          appendFileSync(join(dir, "m", "journal"), Buffer.from([0x4d, 0x4c, 0x4a, 0x31, 0, 0])); // a torn record: never acknowledged
          const reopened = new FileMapStore(dir, { snapshotEvery: every });
          const held = (await recoverMaps(["m"], reopened, null)).get("m")!;
          await reopened.close();
          expect(held.map.revision).toBe(batches.length);
          expect(Buffer.from(held.map.root()).toString("hex")).toBe(Buffer.from(map.root()).toString("hex"));
          for (const k of ["a", "b", "c", "d", "e"]) expect(held.map.get(k)).toEqual(map.get(k));
          rmSync(dir, { recursive: true });
        },
      ),
      { numRuns: 30 },
    );
  });

  it("reads only the log entries after the stored head, and catches a stale store up from the log", async () => {
    const dir = join(tmp, "stale");
    let svc = await start(["balances"], { dir });
    for (let i = 0; i < 5; i++) await writer(svc.url).write("balances", batch(i));
    await svc.close();
    cpSync(dir, join(tmp, "stale-snapshot"), { recursive: true });
    svc = await start(["balances"], { dir });
    let last = { revision: 0, root: "", logIndex: null as number | null };
    for (let i = 5; i < 12; i++) last = await writer(svc.url).write("balances", batch(i));
    await svc.close();

    // Restart on the current store: the log is read only past the head (the stored head's own entry is checked).
    const spy = spyLog(logServer.url);
    const reopened = new FileMapStore(dir);
    const held = (await recoverMaps(["balances"], reopened, spy.client)).get("balances")!;
    await reopened.close();
    expect(held.map.revision).toBe(12);
    expect(Buffer.from(held.map.root()).toString("base64")).toBe(last.root);
    expect(spy.reads.every((from) => from > last.logIndex!)).toBe(true);

    // Restart on the stale snapshot (revision 5): the 7 batches after it come back from the log, and are stored.
    rmSync(dir, { recursive: true });
    cpSync(join(tmp, "stale-snapshot"), dir, { recursive: true });
    svc = await start(["balances"], { dir });
    expect(await writer(svc.url).root("balances")).toEqual(last);
    await svc.close();
    svc = await start(["balances"], { dir }, null); // no log at all: the store alone now holds revision 12
    expect((await writer(svc.url).read("balances", "acct:3", last.root)).revision).toBe(12);
    expect((await writer(svc.url).write("balances", batch(12))).revision).toBe(13);
    await svc.close();
  });
});

describe("restart while the log's checkpoint lags", () => {
  it("finds batches the log acknowledged but no checkpoint covered yet, instead of forking the map at their revisions", async () => {
    // A log that publishes only when told: the last batch is acknowledged (durable) but not in any checkpoint.
    const origin = "meridian.test/vmap-lag";
    const lagging = await startLogServer({ origin, signerKey: generateKey(origin).signerKey, dataDir: join(tmp, "lag-log"), port: 0, checkpointIntervalMs: 3_600_000 });
    try {
      const map = new VerifiableMap("m");
      const direct = new LogClient(lagging.url);
      for (let i = 0; i < 3; i++) await direct.add(encodeMapEntry(map.apply(batch(i))));
      await lagging.log.publishCheckpoint();
      const lost = map.apply(batch(3)); // the store never recorded it: the service stopped right after the log's ack
      await direct.add(encodeMapEntry(lost));
      expect(parseCheckpoint(parseSignedNote(await direct.checkpoint()).text).size).toBe(3);

      // The restarted service appends a resume record; publish once the log holds it, as the interval would.
      const client = new LogClient(lagging.url);
      const add = client.add.bind(client);
      client.add = async (entry) => {
        const r = await add(entry);
        await lagging.log.publishCheckpoint();
        return r;
      };
      const held = (await recoverMaps(["m"], null, client)).get("m")!;
      expect([held.map.revision, held.logIndex]).toEqual([4, 3]);
      expect(Buffer.from(held.map.root()).toString("hex")).toBe(Buffer.from(lost.root).toString("hex"));

      // Without a checkpoint covering the resume record, the start is refused rather than served from a stale view.
      const silent = new LogClient(lagging.url);
      await expect(recoverMaps(["m"], null, silent, 200)).rejects.toThrow(/has not published a checkpoint covering this service's resume record \(entry 5\) within 200 ms/);
    } finally {
      await lagging.app.close();
    }
  });
});

describe("PostgreSQL map store", () => {
  it("restores maps from their rows without the log, and refuses a store whose head is not in the log it is given", async () => {
    const map = `pg${process.pid}x${Date.now()}`;
    let svc = await start([map], { postgres: PG_URL });
    let last = { revision: 0, root: "", logIndex: null as number | null };
    const model = new VerifiableMap(map);
    for (let i = 0; i < 9; i++) {
      last = await writer(svc.url).write(map, batch(i));
      model.apply(batch(i));
    }
    await svc.close();
    svc = await start([map], { postgres: PG_URL }, null);
    expect(await writer(svc.url).root(map)).toEqual({ ...last });
    const all = Array.from({ length: 11 }, (_, k) => `acct:${k}`);
    const keysRead = await writer(svc.url).readMany(map, all, last.root); // one batch proof, verified against the last root
    expect(keysRead.values.map((v) => v?.toString() ?? null)).toEqual(all.map((k) => (model.get(k) ? Buffer.from(model.get(k)!).toString() : null)));
    expect(keysRead.values.filter((v) => v === null).length).toBeGreaterThan(0); // exclusion proofs too
    await svc.close();

    // Another log (fresh, nearly empty): the stored head's log index is not there.
    const other = await startLogServer({
      origin: "meridian.test/vmap-other",
      signerKey: generateKey("meridian.test/vmap-other").signerKey,
      dataDir: join(tmp, "other-log"),
      port: 0,
      checkpointIntervalMs: 20,
    });
    const store: MapStore = new PostgresMapStore(PG_URL);
    await expect(recoverMaps([map], store, new LogClient(other.url), 30_000)).rejects.toThrow(/says map \S+ revision 9 is log entry \d+, but the log holds 1 entries/);
    await store.close();
    await other.app.close();
  });
});

describe("S3 map store (moto: S3 with conditional writes)", () => {
  it("restores maps from the bucket across snapshots, and catches up from the log after losing its last batch", async () => {
    const server = await startMoto();
    const url = `${await server.bucket(`maps-${process.pid}`)}/prod`;
    const creds = server.creds;
    try {
      const store = new S3MapStore({ url, ...creds }, 3);
      await store.load("m");
      const model = new VerifiableMap("m");
      for (let i = 0; i < 8; i++) await store.record({ entry: model.apply(batch(i)), logIndex: null }, () => model.entries());
      await store.close(); // one writer per bucket prefix: the next store takes the lease it releases
      const again = new S3MapStore({ url, ...creds }, 3);
      const held = (await recoverMaps(["m"], again, null)).get("m")!;
      expect([held.map.revision, Buffer.from(held.map.root()).toString("hex")]).toEqual([8, Buffer.from(model.root()).toString("hex")]);
      await again.close();

      const s3map = `s3m${process.pid}x${Date.now()}`; // the log is shared with the other tests: a map of its own
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey });
      let svc = await start([s3map], { s3: url });
      let last = { revision: 0, root: "", logIndex: null as number | null };
      for (let i = 0; i < 5; i++) last = await writer(svc.url).write(s3map, batch(i));
      await svc.close();
      const del = await new AwsClient({ ...creds, service: "s3", region: "us-east-1" }).fetch(`${url}/${s3map}/batch/000000000005`, { method: "DELETE" });
      expect(del.ok).toBe(true);
      svc = await start([s3map], { s3: url }); // revision 5 is back from the log, and recorded again
      expect(await writer(svc.url).root(s3map)).toEqual(last);
      await svc.close();
      svc = await start([s3map], { s3: url }, null);
      expect((await writer(svc.url).read(s3map, "acct:4", last.root)).revision).toBe(5);
      await svc.close();
    } finally {
      await server.close();
    }
  });
});

const serveMap = (config: string) => serveCli(["map", "serve", "--config", config]);

describe("kill -9 mid-stream", () => {
  for (const kind of ["file", "postgres"] as const) {
    it(`${kind} store: after a restart every proof verifies against the last root and updates continue from it`, async () => {
      const map = `k${kind}${process.pid}x${Date.now()}`;
      const config = join(tmp, `${kind}.json`);
      writeFileSync(config, JSON.stringify({ ...cfg([map], kind === "file" ? { dir: join(tmp, "kill") } : { postgres: PG_URL }), server: { port: 0, auth: auth.auth, log: { level: "warn" } } }));
      const first = await serveMap(config);
      const acked: { revision: number; root: string; logIndex: number | null }[] = [];
      const model = new VerifiableMap(map);
      const w = writer(first.url);
      try {
        for (let i = 0; ; i++) {
          const pending = w.write(map, batch(i));
          if (i === 40) first.child.kill("SIGKILL"); // while a write is in flight
          acked.push(await pending);
          model.apply(batch(i));
        }
      } catch {
        // cut off by the crash: the last write may or may not have been recorded
      }
      expect(acked.length).toBeGreaterThanOrEqual(40);
      const second = await serveMap(config);
      const r = writer(second.url);
      const now = await r.root(map);
      const inFlight = model.revision + 1;
      expect([model.revision, inFlight]).toContain(now.revision);
      if (now.revision === model.revision) expect(now.root).toBe(acked.at(-1)!.root);
      else model.apply(batch(model.revision));
      expect(now.root).toBe(Buffer.from(model.root()).toString("base64"));
      for (let k = 0; k < 11; k++) {
        const got = await r.read(map, `acct:${k}`, now.root); // verifies the inclusion / exclusion proof
        expect(got.value).toEqual(model.get(`acct:${k}`) ? Buffer.from(model.get(`acct:${k}`)!) : null);
      }
      const next = await r.write(map, [["acct:new", Buffer.from("1")]]);
      expect(next.revision).toBe(now.revision + 1);
      const log = new LogClient(logServer.url);
      let size = 0;
      while (size <= next.logIndex!) size = parseCheckpoint(parseSignedNote(await log.checkpoint()).text).size;
      const logged = decodeMapEntry(await log.entry(next.logIndex!, size))!;
      expect({ map: logged.map, revision: logged.revision, root: Buffer.from(logged.root).toString("base64") }).toEqual({ map, revision: next.revision, root: next.root });
      second.child.kill("SIGTERM");
      await new Promise((res) => second.child.once("exit", res));
    });
  }
});
