/**
 * Replace a small state file so that a crash at any point leaves the old or the new content, never a torn
 * mix: write a sibling, fsync it, rename it over the file, fsync the directory (the rename itself).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import { open, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export function writeFileDurably(file: string, content: string): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const d = openSync(dir, "r");
  try {
    fsyncSync(d);
  } finally {
    closeSync(d);
  }
}

/**
 * The same off the event loop, for stores that replace snapshots while serving: a directory fsync on a busy disk
 * takes milliseconds to tens of them, and done synchronously it stalls every request, not only the one waiting.
 * The caller serialises replacements of one file (the temporary sibling is per process, not per call).
 */
export async function replaceFileDurably(file: string, content: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, { flush: true, mode: 0o600 });
  await rename(tmp, file);
  await fsyncDirectory(dirname(file));
}

/** fsync a directory, so a rename or a new file in it survives a crash. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
