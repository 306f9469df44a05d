// The embedded file store under the sequencer: a static tlog-tiles tree, a journal whose torn tail is set aside
// (never a possibly-acknowledged record), and a log that refuses to start when what it recovered would fork it.
import { describe, expect, it } from "vitest";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { FileStore } from "../../../../runtime/prooflog/storage/file.js";
import { TransparencyLog } from "../../../../runtime/prooflog/log.js";
import { generateKey, newSigner, newVerifier } from "../../../../runtime/prooflog/note.js";
import { openCheckpoint } from "../../../../runtime/prooflog/checkpoint.js";
import { decodeEntryBundle } from "../../../../runtime/prooflog/tiles.js";
import { scanJournal } from "../../../../runtime/prooflog/storage/journal.js";
import { leafHash } from "../../../../runtime/prooflog/rfc6962.js";
import { verifyInclusion } from "../../../../runtime/prooflog/proof/verify.js";

const ORIGIN = "meridian.test/file";
const keys = generateKey(ORIGIN);
const verifier = newVerifier(keys.verifierKey);
const open = (dir: string) => TransparencyLog.open({ origin: ORIGIN, signer: newSigner(keys.signerKey), verifier, store: new FileStore(dir), maxBatch: 100 });
const entry = (i: number) => Buffer.from(`entry ${i}`);

/** A log with `synced` entries published (tiles durable) and `journaled` more acknowledged after that. */
async function build(synced: number, journaled: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "filestore-"));
  const log = await open(dir);
  await Promise.all(Array.from({ length: synced }, (_, i) => log.add(entry(i))));
  await log.publishCheckpoint();
  for (let i = synced; i < synced + journaled; i += 100) await Promise.all(Array.from({ length: Math.min(100, synced + journaled - i) }, (_, k) => log.add(entry(i + k))));
  await log.close(); // no checkpoint, no sync: the last entries live only in the journal
  return dir;
}

const journalOf = (dir: string) =>
  join(
    dir,
    "state",
    readdirSync(join(dir, "state"))
      .filter((f) => f.startsWith("journal."))
      .sort()
      .at(-1)!,
  );
const failure = (p: Promise<unknown>) =>
  p.then(
    () => "started",
    (e: Error) => `${e.name}: ${e.message}`,
  );

describe("file store: a static tlog-tiles tree", () => {
  it("lays out checkpoint, full and partial tiles, gzip bundles; restart restores the tree from the edge and the journal", async () => {
    const dir = await build(600, 250);
    const pub = join(dir, "public");
    expect(readFileSync(join(pub, "tile/0/001")).length).toBe(8192);
    expect(existsSync(join(pub, "tile/0/002.p/88"))).toBe(true); // the published checkpoint's size: 600 = 2·256 + 88
    const bundle = readFileSync(join(pub, "tile/entries/000"));
    expect([bundle[0], bundle[1]]).toEqual([0x1f, 0x8b]); // gzip
    expect(decodeEntryBundle(gunzipSync(bundle))[255]!.toString()).toBe("entry 255");
    const cp = openCheckpoint(readFileSync(join(pub, "checkpoint"), "utf8"), [verifier], ORIGIN).checkpoint;
    expect(cp.size).toBe(600);

    const log = await open(dir);
    expect(log.size).toBe(850); // the journal tail is integrated again, same indices
    verifyInclusion(700, 850, leafHash(entry(700)), await log.inclusionProof(700, 850), await log.rootAt(850));
    expect((await log.readEntries(598, 602)).map((e) => Buffer.from(e).toString())).toEqual([598, 599, 600, 601].map((i) => `entry ${i}`));
    expect(await log.add(entry(5))).toEqual({ index: 5, duplicate: true }); // duplicate detection survives the restart
    await log.publishCheckpoint();
    expect(existsSync(join(pub, "tile/0/002.p/88"))).toBe(false); // partials of now-full tiles are pruned
    expect(existsSync(join(pub, "tile/0/003.p/82"))).toBe(true);
    await log.close();
  });

  it("sets a torn journal tail aside in quarantine (it was never acknowledged) and keeps every acknowledged entry", async () => {
    const dir = await build(300, 120);
    appendFileSync(journalOf(dir), Buffer.from([0x4d, 0x4c, 0x4a, 0x31, 0, 0, 0, 0, 0, 0, 1, 164, 0, 0, 0, 1, 0, 0, 0, 99, 1, 2])); // header promises more
    const log = await open(dir);
    expect(log.size).toBe(420);
    expect(readdirSync(join(dir, "state", "quarantine"))).toHaveLength(1);
    await log.close();
  });
});

/** The newest journal's records, both lanes, by index: where each lies (file and byte offset). */
function journalRecords(dir: string) {
  const st = join(dir, "state");
  const files = readdirSync(st).filter((f) => /^journal\.\d{12}(\.1)?$/.test(f));
  const seq = files
    .map((f) => f.slice(8, 20))
    .sort()
    .at(-1)!;
  return files
    .filter((f) => f.slice(8, 20) === seq)
    .flatMap((f) => scanJournal(readFileSync(join(st, f)), f).records.map((r) => ({ path: join(st, f), offset: r.offset, first: r.firstIndex, end: r.firstIndex + r.entries.length })))
    .sort((a, b) => a.first - b.first);
}

describe("file store: pipelined journal", () => {
  it("writes consecutive batches to alternate lanes, and a crash that lost a record but kept the next one's replays up to the gap and sets the later one aside", async () => {
    const dir = await build(300, 400);
    const recs = journalRecords(dir);
    expect(new Set(recs.map((r) => r.path)).size).toBe(2); // both lanes hold records
    for (let k = 1; k < recs.length; k++) {
      expect(recs[k]!.first).toBe(recs[k - 1]!.end); // no gaps, no overlap
      expect(recs[k]!.path).not.toBe(recs[k - 1]!.path); // consecutive commits on alternate lanes
    }
    // The crash: the last two commits were in flight; the later one's write landed, the earlier one's did not.
    const [lost, kept] = [recs.at(-2)!, recs.at(-1)!];
    truncateSync(lost.path, lost.offset);
    const log = await open(dir);
    expect(log.size).toBe(lost.first); // neither was acknowledged (acknowledgements are in order): nothing re-indexed
    const q = readdirSync(join(dir, "state", "quarantine"));
    expect(q).toHaveLength(1); // the later record is set aside, not left to be replayed later
    expect(scanJournal(readFileSync(join(dir, "state", "quarantine", q[0]!)), q[0]!).records.map((r) => r.firstIndex)).toEqual([kept.first]);
    expect((await log.readEntries(lost.first - 2, lost.first)).map((e) => Buffer.from(e).toString())).toEqual([`entry ${lost.first - 2}`, `entry ${lost.first - 1}`]);
    expect((await log.add(Buffer.from("after the crash"))).index).toBe(lost.first);
    await log.close();
    expect((await open(dir).then(async (l) => [l.size, await l.close()]))[0]).toBe(lost.first + 1);
  });

  it("refuses to start when a record is missing with more than one after it (those were acknowledged): never truncates past them", async () => {
    const dir = await build(300, 400);
    const recs = journalRecords(dir);
    const lost = recs.at(-4)!;
    const lane = recs.filter((r) => r.path === lost.path);
    // Remove one record from the middle of its lane, keeping the lane's later records.
    const bytes = readFileSync(lost.path);
    const next = lane[lane.indexOf(lost) + 1]!;
    writeFileSync(lost.path, Buffer.concat([bytes.subarray(0, lost.offset), bytes.subarray(next.offset)]));
    expect(await failure(open(dir))).toMatch(new RegExp(`CorruptStoreError: .*journal resumes at entry \\d+ but the entries before it end at ${lost.first}`));
  });
});

describe("file store: never forks", () => {
  it("refuses to start when a byte flips in the middle of the journal (acknowledged entries may be in that record)", async () => {
    const dir = await build(300, 300);
    const j = journalOf(dir);
    const bytes = readFileSync(j);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(j, bytes);
    expect(await failure(open(dir))).toMatch(/CorruptStoreError: .*journal\.\d+(\.1)?: the record at byte \d+ \(entries \d+\.\.\d+ by its header\) fails its CRC/);
  });

  it("refuses to start when the tree state is corrupt", async () => {
    const dir = await build(300, 0);
    const s = readFileSync(join(dir, "state", "state"));
    s[20]! ^= 0x80;
    writeFileSync(join(dir, "state", "state"), s);
    expect(await failure(open(dir))).toMatch(/StateError: .*fails its SHA-256 check/);
  });

  it("refuses to start when the store lost data the published checkpoint covers, instead of re-issuing indices", async () => {
    const dir = await build(600, 0);
    rmSync(join(dir, "state", "state")); // as if restored from a snapshot taken before the log existed
    expect(await failure(open(dir))).toMatch(/ForkRefusedError: the checkpoint in file store .* shows this log signed size 600, but .* holds only 0 entries/);
  });

  it("refuses to start when a tile the signed root depends on was altered", async () => {
    const dir = await build(600, 0);
    const t = join(dir, "public", "tile/0/001");
    const bytes = readFileSync(t);
    bytes[4000]! ^= 0x01;
    writeFileSync(t, bytes);
    expect(await failure(open(dir))).toMatch(/CorruptStoreError: .*tile\/0\/001 does not hash to its entry in the tile above/);
  });

  it("refuses to start on a corrupt recent bundle, and reports an older one on read instead of serving it", async () => {
    const dir = await build(2000, 0); // 7 full bundles; the last 4 are verified at every start
    const flip = (path: string) => {
      const b = join(dir, "public", path);
      writeFileSync(
        b,
        gunzipSync(readFileSync(b)).map((x, i) => (i === 4 ? x ^ 1 : x)),
      );
    };
    flip("tile/entries/000");
    const log = await open(dir);
    await expect(log.readEntries(0, 10)).rejects.toThrow(/tile\/entries\/000 does not match the leaf hashes of its level-0 tile/);
    await log.close();
    flip("tile/entries/006");
    expect(await failure(open(dir))).toMatch(/CorruptStoreError: .*tile\/entries\/006 does not match the leaf hashes/);
  });
});

describe("data directory lock", () => {
  it("refuses a second open while one is live, and takes over a lock left by a dead process", async () => {
    const dir = mkdtempSync(join(tmpdir(), "filestore-lock-"));
    const a = await open(dir);
    await expect(open(dir)).rejects.toThrow(/in use by this process/);
    await a.close();
    writeFileSync(join(dir, "state", "LOCK"), "1\n"); // pid 1 is alive (init): someone else holds it
    await expect(open(dir)).rejects.toThrow(/in use by a log server \(pid 1\)/);
    writeFileSync(join(dir, "state", "LOCK"), '{"pid":1,"start":"-1"}\n'); // pid 1, but not the process that locked (another start time)
    await (await open(dir)).close();
    writeFileSync(join(dir, "state", "LOCK"), "999999999\n"); // no such process: a crashed owner
    await (await open(dir)).close();
  });
});
