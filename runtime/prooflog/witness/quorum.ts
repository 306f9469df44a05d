/**
 * Consensus certificates and fork detection over cosigned checkpoints.
 *
 * A quorum certificate is a checkpoint carrying valid cosignatures from at least k of n trusted witnesses: a
 * client that requires one cannot be shown a view of the log that k witnesses did not each check to be
 * consistent with everything they saw before (split views need k colluding witnesses).
 *
 * Equivocation evidence is a pair of checkpoints, both validly signed by the log, for the same size with
 * different roots: no append-only log can produce both, and anyone holding the log's key can check it offline.
 */
import { openCheckpoint, type Checkpoint } from "../checkpoint.js";
import { NoteError, openNote, type NoteSignature, type Verifier } from "../note.js";
import { hashEquals } from "../rfc6962.js";

export interface QuorumCertificate {
  checkpoint: Checkpoint;
  note: string;
  witnesses: NoteSignature[];
}

/** Open a cosigned checkpoint and require at least `k` distinct trusted witnesses among its signatures. */
export function verifyQuorum(note: string, logVerifiers: readonly Verifier[], witnesses: readonly Verifier[], k: number, origin?: string): QuorumCertificate {
  const { checkpoint } = openCheckpoint(note, logVerifiers, origin);
  let cosigned: NoteSignature[] = [];
  try {
    cosigned = openNote(note, witnesses).sigs;
  } catch (e) {
    if (!(e instanceof NoteError) || e.kind !== "unverified") throw e;
  }
  const distinct = new Set(cosigned.map((s) => `${s.name}+${s.keyId}`));
  if (distinct.size < k) throw new NoteError("unverified", `checkpoint has ${distinct.size} valid witness cosignatures; the quorum needs ${k} of ${witnesses.length}`);
  return { checkpoint, note, witnesses: cosigned };
}

export interface Equivocation {
  origin: string;
  size: number;
  notes: [string, string];
}

/** Two log-signed checkpoints that cannot both be true (same origin and size, different roots), or null. */
function findEquivocation(a: string, b: string, logVerifiers: readonly Verifier[]): Equivocation | null {
  const ca = openCheckpoint(a, logVerifiers).checkpoint;
  const cb = openCheckpoint(b, logVerifiers, ca.origin).checkpoint;
  if (ca.size !== cb.size || hashEquals(ca.root, cb.root)) return null;
  return { origin: ca.origin, size: ca.size, notes: [a, b] };
}

/** Re-check evidence someone handed us: true only if it really proves the log equivocated. */
export function verifyEquivocation(e: Equivocation, logVerifiers: readonly Verifier[]): boolean {
  try {
    return findEquivocation(e.notes[0], e.notes[1], logVerifiers) !== null;
  } catch {
    return false;
  }
}

/** Notes the fork detector remembers as agreeing: a few checkpoints' worth of every source's copy. */
const AGREEING_KEPT = 64;

/**
 * Watches checkpoints from many sources (witnesses, gossip, clients) and reports the first equivocation per size.
 * Keeps one checkpoint per size seen.
 */
export class ForkDetector {
  private readonly bySize = new Map<number, string>();
  /**
   * The latest notes known to verify and to agree with the one kept for their size (that one included): seen again, byte
   * for byte (a monitor's idle rounds: the log's and each witness's copy of an unchanged checkpoint), they still do, so
   * they are not opened again. A cache, bounded: a note that left it is checked in full.
   */
  private readonly agreeing = new Set<string>();
  readonly evidence: Equivocation[] = [];

  constructor(
    private readonly logVerifiers: readonly Verifier[],
    private readonly origin: string,
  ) {}

  observe(note: string): Equivocation | null {
    if (this.agreeing.has(note)) return null;
    const { checkpoint } = openCheckpoint(note, this.logVerifiers, this.origin);
    const seen = this.bySize.get(checkpoint.size);
    if (seen === undefined) {
      this.bySize.set(checkpoint.size, note);
      this.agree(note);
      return null;
    }
    const e = findEquivocation(seen, note, this.logVerifiers);
    if (e) this.evidence.push(e);
    else this.agree(note);
    return e;
  }

  private agree(note: string): void {
    this.agreeing.add(note);
    if (this.agreeing.size > AGREEING_KEPT) this.agreeing.delete(this.agreeing.values().next().value!);
  }
}
