/**
 * The file store's pruning (C2SP tlog-tiles): `state/pruned` records "<minimum index> <pruned up to>" durably before
 * any bundle is deleted, so a prune cut short sweeps again from the last completed sweep and a missing bundle below
 * the recorded minimum is never taken for corruption.
 */
import { existsSync } from "node:fs";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fsyncDirectory } from "../../common/durable-file.js";
import { tilePath, TILE_WIDTH } from "../tiles.js";
import { CorruptStoreError } from "./journal.js";

const prunedPath = (stateDir: string) => join(stateDir, "pruned");

/** The minimum index pruned to, and how far the deletion of its bundles is known complete (0, 0 if never pruned). */
export async function readPruned(stateDir: string): Promise<{ target: number; done: number }> {
  const path = prunedPath(stateDir);
  const text = await readFile(path, "utf8").catch(() => null);
  if (text === null) return { target: 0, done: 0 };
  const m = /^([0-9]{1,16}) ([0-9]{1,16})\n$/.exec(text);
  if (!m) throw new CorruptStoreError(`${path} is not "<minimum index> <pruned up to>"`);
  return { target: Number(m[1]), done: Number(m[2]) };
}

export async function writePruned(stateDir: string, target: number, done: number): Promise<void> {
  const path = prunedPath(stateDir);
  await writeFile(`${path}.tmp`, `${target} ${done}\n`, { flush: true });
  await rename(`${path}.tmp`, path);
  await fsyncDirectory(stateDir);
}

/** Delete the full entry bundles numbered [from, end) and any partial bundle left beside them; the count deleted. */
export async function deleteBundles(publicDir: string, from: number, end: number): Promise<number> {
  let removed = 0;
  const dirs = new Set<string>();
  for (let n = from; n < end; n++) {
    const file = join(publicDir, tilePath({ level: "entries", index: n, width: TILE_WIDTH }));
    if (existsSync(file)) {
      await rm(file);
      removed++;
      dirs.add(dirname(file));
    }
    await rm(`${file}.p`, { recursive: true, force: true });
  }
  await Promise.all([...dirs].map(fsyncDirectory));
  return removed;
}
