// Persistent duplicate detection: a resubmitted entry gets the index it was first given — across restarts, kill -9
// mid-stream, an empty in-memory window, and a store whose index is out of step with its tree — and no entry is
// ever appended twice. The log never replays itself into memory to get there.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { ensureDatabase } from "../../pg-database.js";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killServers, serveCli } from "../../cli.js";
import { LogClient } from "../../../runtime/prooflog/client.js";
import { TransparencyLog } from "../../../runtime/prooflog/log.js";
import { generateKey, newSigner } from "../../../runtime/prooflog/note.js";
import { leafHash } from "../../../runtime/prooflog/rfc6962.js";
import { MemoryStore, type TileStore } from "../../../runtime/prooflog/storage/store.js";
import { FileStore } from "../../../runtime/prooflog/storage/file.js";
import { encodeRecords, findInBucket, RECORD_SIZE } from "../../../runtime/prooflog/storage/leafindex.js";

const ORIGIN = "meridian.test/antispam";
const keys = generateKey(ORIGIN);
const tmp = mkdtempSync(join(tmpdir(), "prooflog-antispam-"));
writeFileSync(join(tmp, "log.key"), keys.signerKey);
const DB = "meridian_prooflog_antispam_test";
const PG_URL = `postgres://postgres@127.0.0.1:5432/${DB}`;

const open = (store: TileStore, dedupeCapacity = 16, dedupeFilterBits?: number) =>
  TransparencyLog.open({ origin: ORIGIN, signer: newSigner(keys.signerKey), store, dedupeCapacity, dedupeFilterBits, maxBatch: 50 });

beforeAll(async () => {
  await ensureDatabase(DB);
});

afterAll(() => {
  killServers();
  rmSync(tmp, { recursive: true, force: true });
});

/** Every entry in the log appears once. */
async function expectNoDuplicates(entries: Uint8Array[]): Promise<void> {
  const seen = new Map<string, number>();
  entries.forEach((e, i) => {
    const k = Buffer.from(e).toString("hex");
    expect(seen.has(k), `entry at ${i} was already logged at ${seen.get(k)}`).toBe(false);
    seen.set(k, i);
  });
}

describe("file index records (pure core)", () => {
  it("finds the latest whole record for a leaf and ignores a torn tail", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.nat({ max: 2 ** 40 })), { minLength: 1, maxLength: 40 }), fc.nat({ max: RECORD_SIZE - 1 }), (recs, torn) => {
        const leaf = (k: number) => leafHash(Buffer.from([k]));
        const bytes = encodeRecords(recs.map(([k, index]) => ({ leaf: leaf(k), index })));
        const withTail = Buffer.concat([bytes, encodeRecords([{ leaf: leaf(recs[0]![0]), index: 2 ** 41 }]).subarray(0, torn)]);
        for (let k = 0; k < 8; k++) {
          const last = recs.filter(([r]) => r === k).at(-1);
          expect(findInBucket(withTail, leaf(k))).toBe(last?.[1]);
        }
      }),
    );
  });
});

describe("sequencer with a persistent duplicate index", () => {
  // The membership filter at its default size, and capped at 32 bits (saturated: it says "maybe" to everything).
  it.each([[undefined], [32]])("never appends an entry twice nor moves one, whatever the submissions and restarts (tiny window, so the store answers; filter cap %s)", async (bits) => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.integer({ min: 0, max: 60 }), fc.constant(-1)), { minLength: 1, maxLength: 120 }), async (ops) => {
        const store = new MemoryStore();
        let log = await open(store, 4, bits);
        const first = new Map<number, number>();
        for (const op of ops) {
          if (op === -1) {
            await log.close();
            log = await open(store, 4, bits); // a restart: the in-memory window is empty again
            continue;
          }
          const r = await log.add(Buffer.from(`entry ${op}`));
          expect(r.duplicate).toBe(first.has(op));
          if (!first.has(op)) first.set(op, r.index);
          expect(r.index).toBe(first.get(op));
        }
        expect(log.size).toBe(first.size);
        await expectNoDuplicates(await log.readEntries(0, log.size));
        await log.close();
      }),
      { numRuns: 40 },
    );
  });

  it("does not trust an index that is ahead of its tree (restored from a newer snapshot): no index holding another entry is returned", async () => {
    const dir = join(tmp, "stale");
    const entry = (i: number) => Buffer.from(`stale ${i}`);
    // Entries from..to-1 at indices from..to-1, a batch (one durable commit: maxBatch) at a time, not a commit each.
    const append = async (log: TransparencyLog, from: number, to: number) => {
      for (let i = from; i < to; i += 50) {
        const added = await Promise.all(Array.from({ length: Math.min(50, to - i) }, (_, k) => log.add(entry(i + k))));
        expect(added).toEqual(added.map((_, k) => ({ index: i + k, duplicate: false })));
      }
    };
    let log = await open(new FileStore(dir));
    await append(log, 0, 300);
    await log.publishCheckpoint();
    await log.close();
    cpSync(dir, join(tmp, "stale-snapshot"), { recursive: true });
    log = await open(new FileStore(dir));
    await append(log, 300, 600);
    await log.publishCheckpoint();
    await log.close();
    // The tree goes back to 300 entries; the index keeps the records of 300..599.
    const index = join(tmp, "antispam-newer");
    cpSync(join(dir, "state", "antispam"), index, { recursive: true });
    rmSync(dir, { recursive: true });
    cpSync(join(tmp, "stale-snapshot"), dir, { recursive: true });
    rmSync(join(dir, "state", "antispam"), { recursive: true });
    cpSync(index, join(dir, "state", "antispam"), { recursive: true });

    log = await open(new FileStore(dir));
    expect(log.size).toBe(300);
    // Different entries now take 300..: the stale records for them must not be believed.
    for (let i = 0; i < 50; i++) expect(await log.add(Buffer.from(`other ${i}`))).toEqual({ index: 300 + i, duplicate: false });
    for (let i = 300; i < 400; i++) expect((await log.add(entry(i))).duplicate).toBe(false);
    for (let i = 0; i < 300; i += 7) expect(await log.add(entry(i))).toEqual({ index: i, duplicate: true });
    await expectNoDuplicates(await log.readEntries(0, log.size));
    expect(log.size).toBe(450);
    await log.close();
  });
});

const serve = (args: string[]) => serveCli(["log", "serve", "--port", "0", "--origin", ORIGIN, "--key", join(tmp, "log.key"), "--checkpoint-interval", "25", "--dedupe", "64", ...args]);

/**
 * Append from 8 writers, each resubmitting its earlier entries between new ones; kill -9 the instant an
 * acknowledgement arrives past 600; restart (a 64-entry window: the store must answer) and resubmit everything,
 * acknowledged or not. Every acknowledged entry keeps its index; nothing is logged twice.
 */
async function killAndResubmit(args: string[]): Promise<void> {
  const first = await serve(args);
  const client = new LogClient(first.url);
  const acked = new Map<string, number>();
  const tried = new Set<string>();
  let killed = false;
  const writer = async (w: number) => {
    for (let i = 0; !killed; i++) {
      const entry = i % 3 === 2 ? `w${w} e${Math.floor(i / 3)}` : `w${w} e${i}`; // every third is a resubmission
      tried.add(entry);
      try {
        const { index } = await client.add(Buffer.from(entry));
        if (acked.has(entry)) expect(index).toBe(acked.get(entry));
        acked.set(entry, index);
        if (acked.size >= 600 && !killed) {
          killed = true;
          first.child.kill("SIGKILL");
        }
      } catch (e) {
        if (!killed) throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
  if (first.child.exitCode === null && first.child.signalCode === null) await new Promise((r) => first.child.once("exit", r));

  const second = await serve(args);
  const after = new LogClient(second.url);
  const all = [...tried];
  for (let i = 0; i < all.length; i += 32) {
    await Promise.all(
      all.slice(i, i + 32).map(async (entry) => {
        const r = await after.add(Buffer.from(entry));
        if (acked.has(entry)) expect({ entry, index: r.index }).toEqual({ entry, index: acked.get(entry) });
      }),
    );
  }
  const again = await Promise.all([...tried].map((e) => after.add(Buffer.from(e))));
  expect(again.every((r) => r.duplicate)).toBe(true);
  await new Promise((r) => setTimeout(r, 100)); // let a checkpoint cover the resubmissions
  const size = Math.max(...again.map((r) => r.index)) + 1;
  const entries = await after.entries(0, size, size);
  await expectNoDuplicates(entries);
  expect(new Set(entries.map((e) => Buffer.from(e).toString()))).toEqual(tried);
  second.child.kill("SIGTERM");
  await new Promise((r) => second.child.once("exit", r));
}

describe("kill -9 mid-stream, then resubmit everything", () => {
  it("file store", async () => {
    await killAndResubmit(["--data", join(tmp, "data")]);
  });

  it("PostgreSQL store", async () => {
    const origin = `${ORIGIN}-${process.pid}-${Date.now()}`;
    const key = join(tmp, "pg.key");
    writeFileSync(key, generateKey(origin).signerKey);
    await killAndResubmit(["--postgres", PG_URL, "--origin", origin, "--key", key, "--lock-wait", "10000"]);
  });
});
