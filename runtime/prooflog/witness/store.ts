/**
 * Durable witness state: one JSON file per log origin holding the latest cosigned checkpoint, replaced
 * atomically (write temporary, fsync, rename, fsync directory) before the witness answers, as tlog-witness
 * requires — a witness that forgot its state after a crash could be talked into cosigning a rollback.
 */
import { mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { replaceFileDurably } from "../../common/durable-file.js";
import type { WitnessedCheckpoint, WitnessStore } from "./witness.js";

export class FileWitnessStore implements WitnessStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private path(origin: string): string {
    return join(this.dir, `${createHash("sha256").update(origin).digest("hex").slice(0, 32)}.json`);
  }

  async get(origin: string): Promise<WitnessedCheckpoint | null> {
    const text = await readFile(this.path(origin), "utf8").catch(() => null);
    if (text === null) return null;
    const doc = JSON.parse(text) as WitnessedCheckpoint & { origin: string };
    if (doc.origin !== origin) throw new Error(`witness state file ${this.path(origin)} belongs to "${doc.origin}"`);
    return { size: doc.size, root: doc.root, note: doc.note };
  }

  async set(origin: string, cp: WitnessedCheckpoint): Promise<void> {
    await replaceFileDurably(this.path(origin), JSON.stringify({ origin, ...cp }));
  }
}
