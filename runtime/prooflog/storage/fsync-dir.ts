/**
 * fsync a directory (so a rename or a new file in it survives a crash) off the event loop: a directory fsync on
 * a busy disk takes milliseconds to tens of them, and done synchronously it stalls every request the process is
 * serving, not only the commit that waits for it.
 */
import { open } from "node:fs/promises";

export async function fsyncDirectory(dir: string): Promise<void> {
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
