/**
 * The storage port of the log. A store keeps the sequenced entries (the source of truth: the Merkle tree is
 * derived from them) and the latest signed checkpoint. `append` resolves only once the batch is durable, which
 * is what lets the sequencer acknowledge an index; a batch is all-or-nothing after a crash, and batches are
 * appended in index order, so what survives is always a prefix of what was sequenced.
 */
export interface LogStore {
  /** Replay every durable entry in index order (recovery); returns the entry count and the last checkpoint. */
  open(onEntry: (entry: Uint8Array, index: number) => void): Promise<{ size: number; checkpoint: string | null }>;
  /** Durably append entries at indices firstIndex, firstIndex+1, …; firstIndex must equal the current size. */
  append(entries: readonly Uint8Array[], firstIndex: number): Promise<void>;
  /** Entries [start, end); end must not exceed the durable size. */
  readEntries(start: number, end: number): Promise<Uint8Array[]>;
  saveCheckpoint(note: string): Promise<void>;
  close(): Promise<void>;
}

/** Memory store: for tests, benchmarks and ephemeral logs. Nothing survives the process. */
export class MemoryStore implements LogStore {
  private readonly entries: Uint8Array[] = [];
  private checkpoint: string | null = null;

  async open(onEntry: (entry: Uint8Array, index: number) => void): Promise<{ size: number; checkpoint: string | null }> {
    this.entries.forEach(onEntry);
    return { size: this.entries.length, checkpoint: this.checkpoint };
  }
  async append(entries: readonly Uint8Array[], firstIndex: number): Promise<void> {
    if (firstIndex !== this.entries.length) throw new Error(`append at ${firstIndex} but the store holds ${this.entries.length} entries`);
    for (const e of entries) this.entries.push(e);
  }
  async readEntries(start: number, end: number): Promise<Uint8Array[]> {
    if (end > this.entries.length) throw new RangeError(`entries [${start}, ${end}) beyond size ${this.entries.length}`);
    return this.entries.slice(start, end);
  }
  async saveCheckpoint(note: string): Promise<void> {
    this.checkpoint = note;
  }
  async close(): Promise<void> {}
}
