// Duplicate detection's membership filter: new entries are sequenced without asking the store's persistent index,
// and no duplicate is missed for it — the filter has no false "no", is rebuilt from the tiles after a restart, and
// a log whose filter cannot be built falls back to asking the store.
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LeafFilter } from "../../../runtime/prooflog/filter.js";
import { TransparencyLog } from "../../../runtime/prooflog/log.js";
import { generateKey, newSigner } from "../../../runtime/prooflog/note.js";
import { leafHash, type Hash } from "../../../runtime/prooflog/rfc6962.js";
import { FileLeafIndex } from "../../../runtime/prooflog/storage/leafindex.js";
import { MemoryStore } from "../../../runtime/prooflog/storage/store.js";
import { FileStore } from "../../../runtime/prooflog/storage/file.js";
import { Integrator } from "../../../runtime/prooflog/integrate.js";
import { readFileSync } from "node:fs";

const ORIGIN = "meridian.test/dedupe";
const keys = generateKey(ORIGIN);
const tmp = mkdtempSync(join(tmpdir(), "prooflog-dedupe-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A memory store that counts duplicate-index lookups and can lose a level-0 tile. */
class CountingStore extends MemoryStore {
  lookedUp = 0;
  tileGone: number | null = null;
  /** Level-0 tiles read, by index. */
  readonly tileReads = new Map<number, number>();
  override async findLeaves(leaves: readonly Hash[]): Promise<(number | undefined)[]> {
    this.lookedUp += leaves.length;
    return super.findLeaves(leaves);
  }
  override async readTile(level: number, index: number): Promise<Uint8Array | null> {
    if (level === 0) this.tileReads.set(index, (this.tileReads.get(index) ?? 0) + 1);
    return level === 0 && index === this.tileGone ? null : super.readTile(level, index);
  }
}

const open = (store: MemoryStore, opts: { dedupeFilterBits?: number } = {}) =>
  TransparencyLog.open({ origin: ORIGIN, signer: newSigner(keys.signerKey), store, dedupeCapacity: 8, maxBatch: 64, ...opts });
const entry = (i: number) => Buffer.from(`dedupe entry ${i}`);

describe("membership filter (pure core)", () => {
  it("never says no to a leaf it was given, whatever its size and load", () => {
    fc.assert(
      fc.property(fc.integer({ min: 5, max: 20 }), fc.array(fc.uint8Array({ minLength: 1, maxLength: 16 }), { minLength: 1, maxLength: 300 }), (log2, entries) => {
        const f = new LeafFilter(2 ** log2);
        const leaves = entries.map((e) => leafHash(e));
        for (const l of leaves) f.add(l);
        for (const l of leaves) expect(f.mayHave(l)).toBe(true);
        expect(f.count).toBe(leaves.length);
      }),
    );
  });

  it("addAndTest answers what mayHave said before the leaf was added, and adds it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 5, max: 12 }), fc.array(fc.nat({ max: 500 }), { minLength: 1, maxLength: 300 }), (log2, ks) => {
        const f = new LeafFilter(2 ** log2);
        const g = new LeafFilter(2 ** log2);
        for (const k of ks) {
          const leaf = leafHash(entry(k));
          const before = g.mayHave(leaf);
          g.add(leaf);
          expect(f.addAndTest(leaf)).toBe(before);
          expect(f.mayHave(leaf)).toBe(true);
        }
        expect(f.count).toBe(g.count);
      }),
    );
  });

  it("says no to most leaves it was not given when it is not crowded", () => {
    const f = LeafFilter.sizedFor(1000, 2 ** 27);
    for (let i = 0; i < 1000; i++) f.add(leafHash(entry(i)));
    let maybes = 0;
    for (let i = 1000; i < 11_000; i++) if (f.mayHave(leafHash(entry(i)))) maybes++;
    expect(maybes).toBeLessThan(100); // about 1 in 400 expected; 1 in 100 would be a broken filter
  });
});

describe("sequencer with the filter", () => {
  it("after a restart, new entries never ask the store once the filter is rebuilt, and evicted duplicates still get their index", async () => {
    const store = new CountingStore();
    let log = await open(store);
    for (let i = 0; i < 600; i++) await log.add(entry(i));
    await log.close();
    log = await open(store);
    expect(await log.dedupeReady()).toBe(true);
    store.lookedUp = 0;
    for (let i = 600; i < 1200; i++) expect(await log.add(entry(i))).toEqual({ index: i, duplicate: false });
    expect(store.lookedUp).toBe(0);
    // The window holds 8: these were appended long ago (and before the restart); the store answers for them.
    for (let i = 0; i < 1200; i += 37) expect(await log.add(entry(i))).toEqual({ index: i, duplicate: true });
    expect(store.lookedUp).toBeGreaterThan(0);
    expect(log.size).toBe(1200);
    await log.close();
  });

  it("is saved at close with the size it covers: a restart reads only the tiles past that size; a corrupt saved filter is rebuilt from all of them", async () => {
    const store = new CountingStore();
    const add = async (log: TransparencyLog, from: number, to: number) => {
      for (let i = from; i < to; i += 64) await Promise.all(Array.from({ length: Math.min(64, to - i) }, (_, k) => log.add(entry(i + k))));
    };
    let log = await open(store);
    await add(log, 0, 2560); // 10 full tiles
    await log.close();
    const at2560 = (await store.loadFilter())!;
    expect(at2560).not.toBeNull();
    log = await open(store);
    await add(log, 2560, 3584); // 14 full tiles
    await log.close();
    await store.saveFilter(at2560); // as if the last save were the one at 2560 (a crash before the next)
    const restart = async () => {
      store.tileReads.clear();
      const l = await open(store);
      expect(await l.dedupeReady()).toBe(true);
      return l;
    };
    log = await restart();
    expect([...store.tileReads.keys()].sort((a, b) => a - b)).toEqual([10, 11, 12, 13]); // none of the first 10
    store.lookedUp = 0;
    for (let i = 3584; i < 3700; i++) expect(await log.add(entry(i))).toEqual({ index: i, duplicate: false });
    expect(store.lookedUp).toBe(0); // the loaded filter answers "certainly new"…
    for (const i of [5, 2000, 2600, 3500]) expect(await log.add(entry(i))).toEqual({ index: i, duplicate: true }); // …and holds the old and the added leaves
    await log.close();

    const image = Buffer.from((await store.loadFilter())!);
    image[image.length >> 1]! ^= 0x01;
    await store.saveFilter(image);
    log = await restart();
    expect(store.tileReads.has(0)).toBe(true); // the corrupt image is not used: a full rebuild
    store.lookedUp = 0;
    for (let i = 3700; i < 3800; i++) expect(await log.add(entry(i))).toEqual({ index: i, duplicate: false });
    expect(store.lookedUp).toBe(0);
    await log.close();
  });

  it("grows the filter as the log grows, missing no duplicate while it is rebuilt", async () => {
    const store = new CountingStore();
    const log = await open(store);
    // 2^16 bits is crowded past ~5,500 entries: the log outgrows its first filter while entries keep coming.
    const first: number[] = [];
    for (let i = 0; i < 12_000; i += 200) {
      await Promise.all(
        Array.from({ length: 200 }, async (_, k) => {
          const r = await log.submit(entry(i + k));
          expect(r.duplicate).toBe(false);
          first[i + k] = r.index;
          await r.durable;
        }),
      );
    }
    await log.dedupeReady();
    for (let i = 0; i < 12_000; i += 101) expect(await log.add(entry(i))).toEqual({ index: first[i], duplicate: true });
    expect(new Set(first).size).toBe(12_000);
    store.lookedUp = 0;
    for (let i = 12_000; i < 12_500; i++) expect((await log.add(entry(i))).duplicate).toBe(false);
    expect(store.lookedUp).toBeLessThan(25); // a few false maybes at most: the filter was rebuilt bigger
    await log.close();
  });

  it("the window finds every duplicate it holds through the filter's growth (the filter is asked first, so it must hold every leaf the window does)", async () => {
    const store = new CountingStore();
    const log = await TransparencyLog.open({ origin: ORIGIN, signer: newSigner(keys.signerKey), store, dedupeCapacity: 40_000, maxBatch: 64 });
    // 2^16 bits is crowded past ~5,500 entries: repeats, in flight and durable, span two rebuilds of the filter.
    const first = new Map<number, number>();
    let rng = 7;
    for (let i = 0; i < 30_000; i++) {
      rng = (Math.imul(rng, 1_103_515_245) + 12_345) >>> 0;
      const k = rng % 3 === 0 && i > 0 ? rng % i : i; // a third are repeats of an earlier entry
      const r = log.append(entry(k));
      if (first.has(k)) expect(r, `entry ${k} at step ${i}`).toEqual({ index: first.get(k), duplicate: true, durable: expect.any(Promise) });
      else {
        expect(r.duplicate).toBe(false);
        first.set(k, r.index);
      }
      if (i % 1000 === 999) await r.durable;
    }
    await log.drain();
    await log.dedupeReady();
    // And once the last rebuilt filter is in use, every entry again (the window holds them all).
    for (const [k, index] of first) expect(log.append(entry(k)), `entry ${k}`).toEqual({ index, duplicate: true, durable: expect.any(Promise) });
    expect(store.lookedUp).toBe(0); // append asks only the window
    await log.close();
  });

  it("asks the store for every new entry while no filter can be built (tiles unreadable), and still finds duplicates", async () => {
    const store = new CountingStore();
    let log = await open(store);
    for (let i = 0; i < 1300; i++) await log.add(entry(i));
    await log.close();
    await store.saveFilter(new Uint8Array(0)); // no usable saved filter: it must be rebuilt from the tiles
    store.tileGone = 0; // the start verifies only the most recent tiles; the filter's rebuild needs them all
    log = await open(store);
    expect(await log.dedupeReady()).toBe(false);
    store.tileGone = null;
    store.lookedUp = 0;
    for (let i = 1300; i < 1320; i++) expect((await log.add(entry(i))).duplicate).toBe(false);
    expect(store.lookedUp).toBe(20);
    for (let i = 0; i < 1300; i += 29) expect(await log.add(entry(i))).toEqual({ index: i, duplicate: true });
    await log.close();
  });
});

describe("file store index written behind the commits", () => {
  it("keeps records in memory, writes them to the buckets in the background, and finds them after a reopen", async () => {
    const dir = join(tmp, "index");
    let size = 0;
    let index = new FileLeafIndex(dir, () => size);
    await index.open(null, join(tmp, "public-unused"));
    const leaves = Array.from({ length: 70_000 }, (_, i) => leafHash(entry(i)));
    for (let at = 0; at < leaves.length; at += 1000) {
      index.add(at, Buffer.concat(leaves.slice(at, at + 1000))); // packed, as a commit hands them over
      size = at + 1000;
    }
    expect(await index.find([leaves[5]!, leaves[69_999]!, leafHash(entry(-1))])).toEqual([5, 69_999, undefined]);
    await index.close();
    index = new FileLeafIndex(dir, () => size);
    // The state says 70,000 and `covered` says the same: nothing is re-read from tiles (there are none here).
    await index.open({ size: 70_000, root: new Uint8Array(32), edge: { size: 70_000, tiles: [], entries: [] } }, join(tmp, "public-unused"));
    expect(await index.find([leaves[0]!, leaves[4242]!, leaves[69_999]!, leafHash(entry(70_000))])).toEqual([0, 4242, 69_999, undefined]);
    await index.close();
  });
});

describe("file store index with duplicate detection off", () => {
  it("still advances `covered` over commits without records, so a restart re-reads nothing", async () => {
    const dir = join(tmp, "no-dedupe");
    const store = new FileStore(dir);
    await store.open();
    const integ = Integrator.empty();
    for (let at = 0; at < 1000; at += 250) {
      const es = Array.from({ length: 250 }, (_, i) => entry(at + i));
      for (const e of es) integ.append(e, leafHash(e));
      await store.commit({ firstIndex: at, entries: es, ...integ.takeCompleted(), state: { size: integ.size, root: integ.root(), edge: integ.edge() } });
    }
    await store.sync();
    await store.close();
    expect(readFileSync(join(dir, "state", "antispam", "covered"), "utf8").trim()).toBe("1000");
  });
});
