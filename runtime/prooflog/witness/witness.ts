/**
 * A transparency-log witness (C2SP tlog-witness, current main; tlog-cosignature Ed25519 or ML-DSA-44). For each
 * log it knows (origin → log verifier keys) it remembers the latest checkpoint it cosigned, and cosigns a new one
 * only if it is signed by the log and proven consistent with that one. It never cosigns a smaller tree or a
 * different root for a size it cosigned.
 *
 * Misbehaviour is reported only with evidence that convicts the log on its own: two checkpoints the log signed
 * for one size with different roots. A replayed old checkpoint, a stale size or a junk consistency proof can be
 * produced by anyone (the old checkpoint is public) and is refused without crying wolf.
 *
 * Check-then-persist is serialised, so two concurrent requests can never roll the stored size back.
 */
import { createHash } from "node:crypto";
import { openCheckpoint, type Checkpoint } from "../checkpoint.js";
import { NoteError, openNote, signNote, type Signer, type Verifier } from "../note.js";
import { checkSubtree, ProofError, verifyConsistency, verifySubtreeConsistency } from "../proof/verify.js";
import { EMPTY_ROOT, type Hash, HASH_SIZE, hashEquals, toBase64 } from "../rfc6962.js";
import type { SubtreeSigner } from "./cosignature.js";

export interface WitnessedCheckpoint {
  size: number;
  root: string;
  note: string;
}

/** Where the witness keeps its latest cosigned checkpoint per origin; `set` must be durable when it resolves. */
export interface WitnessStore {
  get(origin: string): Promise<WitnessedCheckpoint | null>;
  set(origin: string, cp: WitnessedCheckpoint): Promise<void>;
}

export class MemoryWitnessStore implements WitnessStore {
  private readonly m = new Map<string, WitnessedCheckpoint>();
  async get(origin: string): Promise<WitnessedCheckpoint | null> {
    return this.m.get(origin) ?? null;
  }
  async set(origin: string, cp: WitnessedCheckpoint): Promise<void> {
    this.m.set(origin, cp);
  }
}

/** An add-checkpoint refusal; `status` is the tlog-witness HTTP status. */
export class WitnessError extends Error {
  override name = "WitnessError";
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 422,
    message: string,
    /** For 409: the size of the latest checkpoint the witness cosigned. */
    readonly knownSize?: number,
  ) {
    super(message);
  }
}

/** Equivocation evidence: two checkpoints validly signed by the log for `size` with different roots. */
export interface Misbehaviour {
  origin: string;
  size: number;
  /** The checkpoint the witness had cosigned, and the validly log-signed one that contradicts it. */
  notes: [known: string, offered: string];
}

export interface WitnessOptions {
  cosigner: Signer;
  /** This witness's own verifier(s), to recognise its cosignature on a sign-subtree reference checkpoint. */
  verifiers?: readonly Verifier[];
  /** Logs this witness follows: origin → the log's verifier keys. */
  logs: ReadonlyMap<string, readonly Verifier[]>;
  store?: WitnessStore;
  onMisbehaviour?: (m: Misbehaviour) => void;
  /** Threshold mode (threshold.ts `partialLine`): the note line of this witness's partial signature over a checkpoint text. */
  partialSigner?: (text: string) => string;
}

export interface SignSubtreeRequest {
  start: number;
  end: number;
  hash: Hash;
  proof: Hash[];
  note: string;
}

/** Parse a sign-subtree body: "subtree <start> <end>", the subtree hash, proof lines, blank line, checkpoint. */
export function parseSignSubtree(body: string): SignSubtreeRequest {
  const split = body.indexOf("\n\n");
  if (split < 0) throw new WitnessError(400, "request has no blank line before the checkpoint");
  const lines = body.slice(0, split).split("\n");
  const range = /^subtree (0|[1-9][0-9]*) ([1-9][0-9]*)$/.exec(lines.shift() ?? "");
  if (!range || !Number.isSafeInteger(Number(range[2]))) throw new WitnessError(400, 'first line must be "subtree <start> <end>"');
  const hashes = lines.map((l, i) => {
    const h = Buffer.from(l, "base64");
    if (h.length !== HASH_SIZE || h.toString("base64") !== l) throw new WitnessError(400, `line ${i + 2} is not a base64 hash`);
    return h;
  });
  const hash = hashes.shift();
  if (!hash) throw new WitnessError(400, "the subtree hash line is missing");
  if (hashes.length > 63) throw new WitnessError(400, "more than 63 consistency proof lines");
  return { start: Number(range[1]), end: Number(range[2]), hash, proof: hashes, note: body.slice(split + 2) };
}

export function formatSignSubtree(start: number, end: number, hash: Hash, proof: readonly Hash[], note: string): string {
  return `subtree ${start} ${end}\n${toBase64(hash)}\n${proof.map((h) => `${toBase64(h)}\n`).join("")}\n${note}`;
}

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Hash[];
  note: string;
}

/** Parse a tlog-witness add-checkpoint body: "old N", proof lines, blank line, checkpoint. */
export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  const split = body.indexOf("\n\n");
  if (split < 0) throw new WitnessError(400, "request has no blank line before the checkpoint");
  const lines = body.slice(0, split).split("\n");
  const old = /^old (0|[1-9][0-9]*)$/.exec(lines.shift() ?? "");
  if (!old || !Number.isSafeInteger(Number(old[1]))) throw new WitnessError(400, 'first line must be "old <size>"');
  if (lines.length > 63) throw new WitnessError(400, "more than 63 consistency proof lines");
  const proof = lines.map((l, i) => {
    const h = Buffer.from(l, "base64");
    if (h.length !== HASH_SIZE || h.toString("base64") !== l) throw new WitnessError(400, `proof line ${i + 1} is not a base64 hash`);
    return h;
  });
  return { oldSize: Number(old[1]), proof, note: body.slice(split + 2) };
}

export function formatAddCheckpoint(oldSize: number, proof: readonly Hash[], note: string): string {
  return `old ${oldSize}\n${proof.map((h) => `${toBase64(h)}\n`).join("")}\n${note}`;
}

export class Witness {
  private readonly store: WitnessStore;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: WitnessOptions) {
    this.store = opts.store ?? new MemoryWitnessStore();
  }

  get name(): string {
    return this.opts.cosigner.name;
  }

  /** Handle an add-checkpoint request; resolves with the cosignature line(s). */
  addCheckpoint(req: AddCheckpointRequest): Promise<string> {
    const run = this.lock.then(() => this.add(req));
    this.lock = run.catch(() => undefined);
    return run;
  }

  private openSigned(note: string): { origin: string; cp: Checkpoint } {
    const eol = note.indexOf("\n");
    if (eol <= 0) throw new WitnessError(400, "checkpoint has no origin line");
    const origin = note.slice(0, eol);
    const keys = this.opts.logs.get(origin);
    if (!keys) throw new WitnessError(404, `unknown log origin "${origin}"`);
    try {
      return { origin, cp: openCheckpoint(note, keys, origin).checkpoint };
    } catch (e) {
      if (e instanceof NoteError && (e.kind === "unverified" || e.kind === "invalid-signature")) throw new WitnessError(403, `checkpoint is not signed by ${origin}: ${e.message}`);
      throw new WitnessError(400, `malformed checkpoint: ${(e as Error).message}`);
    }
  }

  private async add({ oldSize, proof, note }: AddCheckpointRequest): Promise<string> {
    const { origin, cp } = this.openSigned(note);
    if (oldSize > cp.size) throw new WitnessError(400, `old size ${oldSize} exceeds the checkpoint size ${cp.size}`);
    if (cp.size === 0 && !hashEquals(cp.root, EMPTY_ROOT)) throw new WitnessError(422, "a checkpoint of size 0 must carry the empty tree's root (SHA-256 of the empty string)");
    const known = await this.store.get(origin);
    const knownSize = known?.size ?? 0;
    // The one conviction: the log signed a second root for a size whose root we cosigned.
    if (known && cp.size === known.size && known.root !== toBase64(cp.root)) {
      this.opts.onMisbehaviour?.({ origin, size: cp.size, notes: [known.note, note] });
      throw new WitnessError(422, `a different root was already cosigned for size ${cp.size}: the log equivocated`);
    }
    if (oldSize !== knownSize) throw new WitnessError(409, `old size ${oldSize} is not the latest cosigned size ${knownSize}`, knownSize);
    if (oldSize === 0) {
      if (proof.length > 0) throw new WitnessError(422, "the consistency proof from size 0 must be empty");
    } else if (oldSize === cp.size) {
      if (proof.length > 0) throw new WitnessError(422, "sizes are equal but the consistency proof is not empty");
    } else {
      try {
        verifyConsistency(oldSize, cp.size, proof, Buffer.from(known!.root, "base64"), cp.root);
      } catch (e) {
        if (!(e instanceof ProofError)) throw e;
        throw new WitnessError(422, `consistency proof ${oldSize} → ${cp.size} does not verify: ${e.message}`);
      }
    }
    const text = note.slice(0, note.indexOf("\n\n") + 1);
    const lines = signNote(text, [this.opts.cosigner]).slice(text.length + 1);
    // Kept with our cosignature: the monitoring endpoint serves exactly this (C2SP tlog-witness).
    await this.store.set(origin, { size: cp.size, root: toBase64(cp.root), note: `${note}${lines}` });
    // Only after every check above: the partial is as much a commitment to this view of the log as the cosignature.
    return this.opts.partialSigner ? lines + this.opts.partialSigner(text) : lines;
  }

  /**
   * tlog-witness sign-subtree: cosign the subtree [start, end) with `hash`, given a subtree consistency proof to a
   * reference checkpoint that this witness cosigned (its cosignature must be on it). ML-DSA-44 witnesses only.
   */
  async signSubtree(req: SignSubtreeRequest): Promise<string> {
    const signer = this.opts.cosigner as Signer & Partial<SubtreeSigner>;
    if (!signer.signSubtree) throw new WitnessError(404, "this witness has no subtree-capable (ML-DSA-44) key");
    try {
      checkSubtree(BigInt(req.start), BigInt(req.end));
    } catch (e) {
      throw new WitnessError(400, (e as Error).message);
    }
    const { origin, cp } = this.openSigned(req.note);
    if (req.end > cp.size) throw new WitnessError(400, `subtree end ${req.end} exceeds the checkpoint size ${cp.size}`);
    const mine = this.opts.verifiers ?? [];
    try {
      openNote(req.note, mine);
    } catch (e) {
      throw new WitnessError(403, `the reference checkpoint carries no valid cosignature of this witness: ${(e as Error).message}`);
    }
    try {
      verifySubtreeConsistency(req.start, req.end, cp.size, req.proof, req.hash, cp.root);
    } catch (e) {
      if (!(e instanceof ProofError)) throw e;
      throw new WitnessError(422, `subtree consistency proof [${req.start}, ${req.end}) → ${cp.size} does not verify: ${e.message}`);
    }
    const sig = signer.signSubtree(origin, req.start, req.end, req.hash);
    const b = Buffer.alloc(4 + sig.length);
    b.writeUInt32BE(signer.keyId >>> 0, 0);
    b.set(sig, 4);
    return `— ${signer.name} ${b.toString("base64")}\n`;
  }

  /** The latest cosigned checkpoint of the log whose origin hashes (SHA-256, lowercase hex) to `originHash`. */
  async latest(originHash: string): Promise<string | null> {
    for (const origin of this.opts.logs.keys()) {
      if (createHash("sha256").update(origin).digest("hex") === originHash) return (await this.store.get(origin))?.note ?? null;
    }
    return null;
  }
}

/** Merge cosignature lines into a signed checkpoint note (the client side of add-checkpoint). */
export function attachCosignatures(note: string, lines: string): string {
  return `${note}${lines.endsWith("\n") || lines === "" ? lines : `${lines}\n`}`;
}
