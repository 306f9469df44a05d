/**
 * Duplicate detection over the whole log, in three layers, cheapest first:
 *  1. the in-memory window (antispam.ts): the most recent entries, leaf hash → index;
 *  2. a membership filter over every leaf in the log (filter.ts): "certainly not in the log" sequences a new
 *     entry without touching the store;
 *  3. the store's persistent duplicate index (storage/store.ts `findLeaves`), asked only on a filter "maybe" (a
 *     duplicate the window has evicted, or a rare false maybe), its answer confirmed against the tree.
 *
 * The filter is saved beside the log state when the log closes (and every 2^20 entries), with the size it covers: a
 * start loads it and adds only the level-0 tiles past that size, in the background. Without a usable saved filter
 * (none, corrupt, another format) it is rebuilt from all the tiles, as it is again, bigger, when it gets crowded;
 * until it is ready every window miss asks the store, as if the filter said "maybe". It is never
 * allowed a false "no": entries appended while it is being built go into it too, and a rebuild that cannot read a
 * tile is abandoned, not half-used.
 */
import { Antispam } from "./antispam.js";
import { LogUnavailableError } from "./errors.js";
import { LeafFilter } from "./filter.js";
import type { LogTiles } from "./logtiles.js";
import { type Hash, HASH_SIZE, hashEquals } from "./rfc6962.js";
import type { TileStore } from "./storage/store.js";

/** What the sequencer shows duplicate detection. */
export interface DedupeSource {
  store: TileStore;
  tiles(): LogTiles;
  /** Entries below this are durable (in tiles, indexed by the store). */
  durableSize(): number;
  /** Leaf hashes of entries sequenced but not yet durable. */
  inflightLeaves(): Iterable<Hash>;
}

interface Lookup {
  leaf: Hash;
  /** False: the filter already said no; the lookup only keeps its place in line. */
  ask: boolean;
  resolve: (i: number | undefined) => void;
  reject: (e: unknown) => void;
}

export class Dedupe {
  private readonly window: Antispam;
  /** The filter in use, or null until the first one is built (then every window miss asks the store). */
  private filter: LeafFilter | null = null;
  private building: LeafFilter | null = null;
  private rebuild: Promise<void> = Promise.resolve();
  private closed = false;
  /** After a failed rebuild, the next one waits until the filter holds this many entries. */
  private retryAt = 0;
  private lookups: Lookup[] | null = null;
  /** Lookups not yet answered, and the answer of the latest batch: batches answer in order. */
  private queued = 0;
  private answered: Promise<void> = Promise.resolve();
  /** Store lookups made (for metrics and tests). */
  storeLookups = 0;

  constructor(
    capacity: number,
    private readonly maxFilterBits: number,
    private readonly src: DedupeSource,
  ) {
    this.window = new Antispam(capacity);
  }

  get enabled(): boolean {
    return this.window.enabled;
  }

  /**
   * Build the filter for the log as opened: at once for an empty log; else from the saved filter (loaded now) and
   * the tiles past the size it covers, or from all the tiles, in the background.
   */
  async start(): Promise<void> {
    if (!this.enabled) return;
    const size = this.src.durableSize();
    if (size === 0) {
      this.filter = LeafFilter.sizedFor(0, this.maxFilterBits);
      return;
    }
    const image = await this.src.store.loadFilter?.().catch(() => null);
    const saved = image ? LeafFilter.fromImage(image) : null;
    // A filter bigger than the cap now allowed is not used (it would never be replaced); one covering more than the
    // log holds only adds false "maybe"s (entries sequenced but never made durable), never a false "no".
    if (saved && saved.filter.bits <= this.maxFilterBits) {
      this.savedAt = Math.min(saved.size, size);
      this.build(saved.filter, this.savedAt);
    } else this.grow();
  }

  /** Entries covered by the last saved filter. */
  private savedAt = 0;

  /**
   * Save the filter in use with the size it covers (every entry below it has been added), if it is ready and has
   * moved on by `minStep` entries since the last save.
   */
  persist(size: number, minStep = 0): Promise<void> {
    const f = this.filter;
    const store = this.src.store;
    if (!f || !store.saveFilter || size - this.savedAt < Math.max(minStep, 1)) return this.saving;
    this.savedAt = size;
    const image = f.toImage(size);
    this.saving = this.saving.then(() => store.saveFilter!(image)).catch(() => undefined); // unsaved: the next start rebuilds more
    return this.saving;
  }

  private saving: Promise<void> = Promise.resolve();

  /** Resolves once the filter answers (or its build failed: then the store keeps answering every miss). */
  async ready(): Promise<boolean> {
    for (let r = this.rebuild; ; r = this.rebuild) {
      await r;
      if (r === this.rebuild) return this.filter !== null;
    }
  }

  /** Index of an entry in the window. */
  recent(leaf: Hash): number | undefined {
    return this.window.lookup(leaf);
  }

  /** Whether the store must be asked about a leaf the window does not hold. */
  mayBeStored(leaf: Hash): boolean {
    return this.filter === null || this.filter.mayHave(leaf);
  }

  /**
   * Whether a submission the window does not know must wait for `findStored`: when the store must be asked, or
   * when earlier submissions are waiting for it (submissions are sequenced in the order they came).
   */
  mustWait(leaf: Hash): boolean {
    return this.queued > 0 || this.mayBeStored(leaf);
  }

  /**
   * Where the sequencer writes the leaf hash of the entry it would number `index` before claiming it:
   * `ring[stageFor(index)]` (the window's ring, antispam.ts), so the window keeps it without a copy of its own.
   */
  stageFor(index: number): number {
    this.window.restart(index);
    return this.window.stage;
  }

  /** The window's ring as words (`stageFor`'s offset / 4 is the staged hash's first word). */
  get ringWords(): Int32Array {
    return this.window.ringWords;
  }

  /**
   * The window's index for the leaf hash at leaf[at, at + 32) — also staged at `ring[stageFor(index)]` — or (none
   * there) give it `index`: the sequencer's one call per new entry (its leaf hashes are packed in one array per
   * batch, so nothing is allocated per entry). The window answers exactly for its last `capacity` entries from one
   * cache line (antispam.ts), so it is all a claim asks: the filter is not needed for what the window holds, and
   * a new entry goes into it with its batch (`addBatch`).
   */
  claim(leaf: Hash, index: number, at = 0): number | undefined {
    return this.enabled ? this.window.claimStaged(leaf, index, at) : undefined;
  }

  /**
   * Add a batch's new entries (`count` packed leaf hashes) to the filter, when the sequencer hands the batch to the
   * store — before it is durable, so the filter holds every durable entry. Until then an entry is found by the
   * window (it is among the last numbered). The blocks are read in a first pass: independent loads the CPU
   * overlaps, so the adds then find their lines in cache instead of waiting for one miss after another.
   */
  addBatch(leaves: Uint8Array, count: number): void {
    if (!this.enabled) return;
    this.filter?.touch(leaves, count);
    for (let i = 0; i < count; i++) this.filterAdd(leaves, i * HASH_SIZE);
  }

  private filterAdd(leaf: Hash, at = 0): void {
    const f = this.filter;
    if (f) {
      f.add(leaf, at);
      this.afterFilterAdd(f, leaf, at);
    } else this.building?.add(leaf, at);
  }

  /** A leaf was just added to the filter in use `f`: add it to the one being built too; grow a crowded one. */
  private afterFilterAdd(f: LeafFilter, leaf: Hash, at: number): void {
    // Grow first: the new filter is seeded with the entries in flight (this one among them: added twice, harmless).
    if (f.crowded && !this.building && f.bits < this.maxFilterBits && f.count >= this.retryAt && !this.closed) this.grow();
    this.building?.add(leaf, at);
  }

  /** Build a filter (sized for the log's growth) from the tiles and the entries in flight, then switch to it. */
  private grow(): void {
    const upTo = this.src.durableSize();
    this.build(LeafFilter.sizedFor(Math.max(upTo, this.filter?.count ?? 0) * 4, this.maxFilterBits), 0);
  }

  /** Add the leaves of the tiles from `from` to the durable size and those in flight to `next`, then switch to it. */
  private build(next: LeafFilter, from: number): void {
    const upTo = this.src.durableSize();
    for (const leaf of this.src.inflightLeaves()) next.add(leaf);
    this.building = next;
    this.rebuild = (async () => {
      try {
        // Tiles are read in steps so close() can stop a long rebuild between reads.
        for (let at = from; at < upTo && !this.closed; at += 65_536) {
          await this.src.tiles().rawLeafHashes(at, Math.min(upTo, at + 65_536), (t, at) => next.add(t, at), true);
        }
        if (!this.closed) this.filter = next;
      } catch {
        // A tile could not be read: keep what answers now (the store, or the crowded filter); retry once it has doubled.
        this.retryAt = 2 * Math.max(upTo, this.filter?.count ?? 0, 1);
      } finally {
        this.building = null;
      }
    })();
  }

  /**
   * The persistent index's answer for a leaf, confirmed against the tree (a store restored from an older or newer
   * snapshot than its index cannot make the log answer with an index that holds another entry). Lookups arriving
   * together go to the store as one batch.
   */
  findStored(leaf: Hash): Promise<number | undefined> {
    const ask = this.mayBeStored(leaf);
    this.queued++;
    return new Promise((resolve, reject) => {
      if (!this.lookups) {
        this.lookups = [];
        setImmediate(() => void this.runLookups());
      }
      this.lookups.push({ leaf, ask, resolve, reject });
    });
  }

  private async runLookups(): Promise<void> {
    const batch = this.lookups!;
    this.lookups = null;
    const previous = this.answered;
    let done!: () => void;
    this.answered = new Promise((r) => (done = r));
    try {
      const asked = batch.filter((l) => l.ask);
      this.storeLookups += asked.length;
      const found = asked.length > 0 ? await this.src.store.findLeaves(asked.map((l) => l.leaf)) : [];
      const answers = await Promise.all(asked.map((l, i) => this.confirmed(l.leaf, found[i])));
      await previous;
      let k = 0;
      for (const l of batch) l.resolve(l.ask ? answers[k++] : undefined);
    } catch (e) {
      await previous;
      for (const l of batch) l.reject(new LogUnavailableError(`duplicate index lookup failed: ${String(e)}`));
    } finally {
      this.queued -= batch.length;
      done();
    }
  }

  private async confirmed(leaf: Hash, index: number | undefined): Promise<number | undefined> {
    if (index === undefined || index >= this.src.durableSize()) return undefined;
    let at: Hash | undefined;
    await this.src.tiles().rawLeafHashes(index, index + 1, (t, o) => (at = t.subarray(o, o + HASH_SIZE)));
    return at && hashEquals(at, leaf) ? index : undefined;
  }

  /** Stop a rebuild in progress (before the store closes). */
  async close(): Promise<void> {
    this.closed = true;
    await this.rebuild;
    await this.saving;
  }
}
