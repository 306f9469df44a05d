/**
 * A light client: it stores one checkpoint and moves forward only along consistency proofs, never downloading
 * entries. Optionally it demands a witness quorum on every checkpoint it accepts, or the witnesses' one threshold
 * signature under a group key (witness/threshold.ts). A smaller tree (rollback) or a
 * different root at its own size (fork) is refused, and a fork comes back as self-contained evidence.
 */
import { openCheckpoint, type Checkpoint } from "./checkpoint.js";
import type { Verifier } from "./note.js";
import { ProofError } from "./proof/verify.js";
import { hashEquals } from "./rfc6962.js";
import { proveExtends } from "./verifier.js";
import { verifyQuorum, type Equivocation } from "./witness/quorum.js";
import type { ThresholdGroup } from "./witness/threshold.js";

export interface LightClientOptions {
  origin: string;
  logVerifiers: readonly Verifier[];
  fetchConsistency: (oldSize: number, newSize: number) => Promise<Uint8Array[]>;
  witnesses?: { verifiers: readonly Verifier[]; quorum: number };
  /** Require the witness quorum's threshold signature under this group's key (t of n witnesses, one signature). */
  threshold?: ThresholdGroup;
}

export class ForkError extends ProofError {
  constructor(readonly evidence: Equivocation) {
    super(`log ${evidence.origin} equivocated: two signed roots for size ${evidence.size}`);
  }
}

export class LightClient {
  private trusted: { checkpoint: Checkpoint; note: string } | null = null;

  constructor(private readonly opts: LightClientOptions) {}

  get checkpoint(): Checkpoint | null {
    return this.trusted?.checkpoint ?? null;
  }

  /** The signed note of the trusted checkpoint, as accepted (with its cosignatures). */
  get note(): string | null {
    return this.trusted?.note ?? null;
  }

  /** Accept `note` if it is signed (and cosigned, if required) and extends the trusted checkpoint. */
  async update(note: string): Promise<Checkpoint> {
    // The trusted note again, byte for byte (an idle log): under the same keys it verifies and extends itself as it did.
    if (this.trusted?.note === note) return this.trusted.checkpoint;
    const { checkpoint } = this.opts.witnesses
      ? verifyQuorum(note, this.opts.logVerifiers, this.opts.witnesses.verifiers, this.opts.witnesses.quorum, this.opts.origin)
      : openCheckpoint(note, this.opts.logVerifiers, this.opts.origin);
    if (this.opts.threshold) (await import("./witness/threshold.js")).verifyThresholdCheckpoint(note, this.opts.logVerifiers, this.opts.threshold, this.opts.origin);
    const prev = this.trusted;
    if (prev) {
      if (checkpoint.size === prev.checkpoint.size && !hashEquals(checkpoint.root, prev.checkpoint.root)) {
        throw new ForkError({ origin: checkpoint.origin, size: checkpoint.size, notes: [prev.note, note] });
      }
      await proveExtends(prev.checkpoint, checkpoint, this.opts.fetchConsistency);
    }
    this.trusted = { checkpoint, note };
    return checkpoint;
  }
}
