/**
 * Checkpoint publication: the fork check at start (the recovered tree must extend every checkpoint this log is
 * known to have signed) and signing, cosigning, commit-wait and publishing checkpoints over what is durable.
 * Publications run one at a time, in order; a checkpoint never goes below one already published.
 */
import type { ClockNode } from "../clock/index.js";
import { checkpointTime, timeExtension } from "./commit-wait.js";
import { formatCheckpoint, openCheckpoint, parseCheckpoint, type Checkpoint } from "./checkpoint.js";
import { ForkRefusedError, LogUnavailableError } from "./errors.js";
import type { LogTiles } from "./logtiles.js";
import { parseSignedNote, signNote, type Signer, type Verifier } from "./note.js";
import { type Hash, hashEquals, toBase64 } from "./rfc6962.js";
import type { TileStore, TreeState } from "./storage/store.js";

export interface PublisherOptions {
  origin: string;
  signer: Signer;
  verifier?: Verifier;
  store: TileStore;
  extensions?: string[];
  cosign?: (note: string, size: number, proof: (oldSize: number) => Promise<Hash[]>) => Promise<string | null>;
  onPublish?: (note: string) => Promise<void>;
  clock?: ClockNode;
}

export class Publisher {
  latest: { note: string; checkpoint: Checkpoint } | null = null;
  /** Why the last checkpoint could not be signed (an unsynchronised clock), until one is. */
  private heldBack: string | null = null;
  private publishing: Promise<string> = Promise.resolve("");

  constructor(
    private readonly opts: PublisherOptions,
    private readonly tiles: () => LogTiles,
  ) {}

  /** Refuse to start unless the tree (of `size` entries) extends every checkpoint this log signed. */
  async checkExtends(size: number, stored: string | null, apart: { source: string; note: string }[]): Promise<void> {
    const where = this.opts.store.description;
    const candidates = [...(stored ? [{ source: `the checkpoint in ${where}`, note: stored }] : []), ...apart];
    for (const { source, note } of candidates) {
      let cp: Checkpoint;
      try {
        cp = openCheckpoint(note, this.opts.verifier ? [this.opts.verifier] : [], this.opts.origin).checkpoint;
      } catch (e) {
        // Without the log's verifier key only the store's own record can be read, and it is trusted as written.
        if (!this.opts.verifier) cp = parseCheckpoint(parseSignedNote(note).text);
        else throw new ForkRefusedError(`${source} is not a checkpoint of ${this.opts.origin} signed by this log's key: ${(e as Error).message}`);
      }
      if (cp.size > size) {
        throw new ForkRefusedError(
          `${source} shows this log signed size ${cp.size}, but ${where} holds only ${size} entries: ` +
            "acknowledged entries are missing (a stale snapshot, a lagging replica, or deleted data). Refusing to start, because " +
            "re-using those indices would fork the log. Restore the store to at least that size.",
        );
      }
      const root = await this.tiles().rootAt(cp.size);
      if (!hashEquals(root, cp.root)) {
        throw new ForkRefusedError(`${source} signed root ${toBase64(cp.root)} at size ${cp.size}, but the stored tree has ${toBase64(root)} there: the store's contents changed. Refusing to start.`);
      }
      if (!this.latest || cp.size > this.latest.checkpoint.size) this.latest = { note, checkpoint: cp };
    }
  }

  /** Sign and publish a checkpoint over `committed()` (read when its turn comes), after those queued before it. */
  publish(committed: () => TreeState, failure: () => unknown, force: boolean, witnessed: boolean): Promise<string> {
    this.publishing = this.publishing.catch(() => "").then(() => this.publishNow(committed(), failure(), force, witnessed));
    return this.publishing;
  }

  private async publishNow({ size, root, edge }: TreeState, failure: unknown, force: boolean, witnessed: boolean): Promise<string> {
    if (failure) throw new LogUnavailableError(`log storage failed earlier: ${String(failure)}`);
    if (this.latest && this.latest.checkpoint.size === size && !force) return this.latest.note;
    if (this.latest && this.latest.checkpoint.size > size) throw new ForkRefusedError(`refusing to sign size ${size} below the published ${this.latest.checkpoint.size}`);
    const clock = this.opts.clock;
    let time: number | null;
    try {
      time = clock ? checkpointTime(clock) : null;
    } catch (e) {
      this.heldBack = (e as Error).message;
      throw e;
    }
    const checkpoint: Checkpoint = { origin: this.opts.origin, size, root, extensions: [...(this.opts.extensions ?? []), ...(time === null ? [] : [timeExtension(time)])] };
    let note: string | null = signNote(formatCheckpoint(checkpoint), [this.opts.signer]);
    // Commit-wait runs while the witnesses cosign; nothing is published before it is over.
    const waited = time === null ? null : clock!.truetime.commitWait(time);
    if (this.opts.cosign && witnessed) note = await this.opts.cosign(note, size, (old) => this.tiles().consistencyProof(old, size));
    await waited;
    this.heldBack = null;
    if (note === null) return this.latest?.note ?? "";
    await this.opts.store.publish({ note, edge });
    await this.opts.onPublish?.(note);
    if (!this.latest || this.latest.checkpoint.size <= size) this.latest = { note, checkpoint };
    return this.latest.note;
  }

  /** The latest published checkpoint; throws LogUnavailableError while none has reached its witness quorum. */
  checkpoint(): { note: string; checkpoint: Checkpoint } {
    if (!this.latest) throw new LogUnavailableError(`no checkpoint has been published yet (${this.heldBack ?? "waiting for the witness quorum"})`);
    return this.latest;
  }

  /** Wait for publications in flight. */
  async settle(): Promise<void> {
    await this.publishing.catch(() => undefined);
  }
}
