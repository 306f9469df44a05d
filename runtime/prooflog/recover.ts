/**
 * What a log's start reads back from its store, before the sequencer takes over (log.ts): the tree restored from
 * the stored edge — checked against the stored root — with the journaled entries past it integrated again at the
 * same indices and committed as tiles, and a constant amount of recent history verified. Nothing here is
 * proportional to the log's size.
 */
import { Integrator } from "./integrate.js";
import type { LogTiles } from "./logtiles.js";
import { HASH_SIZE, hashEquals, leafHash, leafHashInto } from "./rfc6962.js";
import { CorruptStoreError } from "./storage/journal.js";
import type { TileStore, TreeState } from "./storage/store.js";

/** Full level-0 tiles (and their bundles) verified against the tree at every start: a constant, not O(n). */
const RECENT_TILES_VERIFIED = 4;

/** The tree state of an integrator: what a commit names and a checkpoint is signed over. */
export function treeState(integrator: Integrator): TreeState {
  return { size: integrator.size, root: integrator.root(), edge: integrator.edge() };
}

/**
 * Open the store and restore its tree. Journaled (durable, maybe acknowledged) entries past the stored state are
 * integrated again and committed, so the tiles hold everything the journal did; `indexLeaves` hands their leaf
 * hashes to the store's duplicate index as well.
 */
export async function restoreTree(store: TileStore, indexLeaves: boolean): Promise<{ integrator: Integrator; checkpoint: string | null; pruned: number }> {
  const rec = await store.open();
  const where = store.description;
  let integrator = Integrator.empty();
  if (rec.state) {
    try {
      integrator = Integrator.fromEdge(rec.state.edge);
    } catch (e) {
      throw new CorruptStoreError(`${where}: the stored tree edge is inconsistent: ${(e as Error).message}`);
    }
    if (!hashEquals(integrator.root(), rec.state.root)) throw new CorruptStoreError(`${where}: the stored edge does not hash to the stored root at size ${rec.state.size}`);
  }
  if (rec.pending.length > 0) {
    const first = integrator.size;
    for (const e of rec.pending) integrator.append(e, leafHash(e));
    const done = integrator.takeCompleted();
    let leafHashes: Uint8Array | undefined;
    if (indexLeaves) {
      leafHashes = new Uint8Array(rec.pending.length * HASH_SIZE);
      rec.pending.forEach((e, i) => leafHashInto(e, leafHashes!, i * HASH_SIZE));
    }
    await store.commit({ firstIndex: first, entries: rec.pending, leafHashes, ...done, state: treeState(integrator), journaled: true });
    await store.sync();
  }
  return { integrator, checkpoint: rec.checkpoint, pruned: rec.pruned ?? 0 };
}

/** Read (and so verify, logtiles.ts) the most recent full level-0 tiles and their bundles (those not pruned). */
export async function verifyRecentTiles(tiles: LogTiles, size: number, pruned = 0): Promise<void> {
  const full = Math.floor(size / 256);
  for (let n = full - 1; n >= Math.max(0, full - RECENT_TILES_VERIFIED); n--) {
    await tiles.tile(0, n, 256);
    if ((n + 1) * 256 > pruned) await tiles.bundle(n, 256);
  }
}

export class PruneRefusedError extends Error {
  override name = "PruneRefusedError";
}

/**
 * `meridian log prune`: open the store as the log's writer (its lock keeps a running log out), integrate the journal
 * tail, refuse a minimum index beyond the integrated size (C2SP tlog-tiles: it must not exceed the checkpoint's),
 * and delete the bundles that end at or below it (store.ts `prune`).
 */
export async function pruneStore(store: TileStore, minIndex: number): Promise<{ size: number; removed: number }> {
  if (!store.prune) throw new PruneRefusedError(`${store.description} does not support pruning`);
  if (!Number.isSafeInteger(minIndex) || minIndex < 0) throw new PruneRefusedError(`minimum index ${minIndex} is not a non-negative integer`);
  try {
    const { integrator } = await restoreTree(store, true);
    if (minIndex > integrator.size) throw new PruneRefusedError(`minimum index ${minIndex} is beyond the ${integrator.size} entries integrated in ${store.description}`);
    return { size: integrator.size, removed: await store.prune(minIndex) };
  } finally {
    await store.close();
  }
}
