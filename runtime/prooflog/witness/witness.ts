/**
 * A transparency-log witness (C2SP tlog-witness semantics, tlog-cosignature/v1 signatures). For each log it
 * knows (origin → log verifier keys) it remembers the latest checkpoint it cosigned, and cosigns a new one only
 * if it is signed by the log and proven consistent with that one. It never cosigns a smaller tree (rollback) or a
 * different root for the same size (fork), and reports such checkpoints as misbehaviour evidence.
 *
 * Check-then-persist is serialised, so two concurrent requests can never roll the stored size back.
 */
import { createHash } from "node:crypto";
import { openCheckpoint, type Checkpoint } from "../checkpoint.js";
import { NoteError, signNote, type Signer, type Verifier } from "../note.js";
import { ProofError, verifyConsistency } from "../proof/verify.js";
import { type Hash, HASH_SIZE, toBase64 } from "../rfc6962.js";

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

export interface Misbehaviour {
  origin: string;
  reason: "fork" | "inconsistent" | "rollback";
  /** The checkpoint the witness had cosigned, and the validly log-signed one that contradicts it. */
  known: string;
  offered: string;
  proof: string[];
}

export interface WitnessOptions {
  cosigner: Signer;
  /** Logs this witness follows: origin → the log's verifier keys. */
  logs: ReadonlyMap<string, readonly Verifier[]>;
  store?: WitnessStore;
  onMisbehaviour?: (m: Misbehaviour) => void;
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

  private async add({ oldSize, proof, note }: AddCheckpointRequest): Promise<string> {
    const eol = note.indexOf("\n");
    if (eol <= 0) throw new WitnessError(400, "checkpoint has no origin line");
    const origin = note.slice(0, eol);
    const keys = this.opts.logs.get(origin);
    if (!keys) throw new WitnessError(404, `unknown log origin "${origin}"`);
    let cp: Checkpoint;
    try {
      cp = openCheckpoint(note, keys, origin).checkpoint;
    } catch (e) {
      if (e instanceof NoteError && (e.kind === "unverified" || e.kind === "invalid-signature")) throw new WitnessError(403, `checkpoint is not signed by ${origin}: ${e.message}`);
      throw new WitnessError(400, `malformed checkpoint: ${(e as Error).message}`);
    }
    if (oldSize > cp.size) throw new WitnessError(400, `old size ${oldSize} exceeds the checkpoint size ${cp.size}`);
    const known = await this.store.get(origin);
    const knownSize = known?.size ?? 0;
    const evidence = (reason: Misbehaviour["reason"]) =>
      known && this.opts.onMisbehaviour?.({ origin, reason, known: known.note, offered: note, proof: proof.map(toBase64) });
    if (oldSize !== knownSize) {
      if (known && cp.size < known.size) evidence("rollback");
      if (known && cp.size === known.size && known.root !== toBase64(cp.root)) evidence("fork");
      throw new WitnessError(409, `old size ${oldSize} is not the latest cosigned size ${knownSize}`, knownSize);
    }
    if (known && oldSize === cp.size) {
      if (known.root !== toBase64(cp.root)) {
        evidence("fork");
        throw new WitnessError(409, `a different root was already cosigned for size ${cp.size}`, knownSize);
      }
      if (proof.length > 0) throw new WitnessError(422, "sizes are equal but the consistency proof is not empty");
    } else if (oldSize === 0) {
      if (proof.length > 0) throw new WitnessError(422, "the consistency proof from size 0 must be empty");
    } else {
      try {
        verifyConsistency(oldSize, cp.size, proof, Buffer.from(known!.root, "base64"), cp.root);
      } catch (e) {
        if (!(e instanceof ProofError)) throw e;
        evidence("inconsistent");
        throw new WitnessError(422, `consistency proof ${oldSize} → ${cp.size} does not verify: ${e.message}`);
      }
    }
    const text = note.slice(0, note.indexOf("\n\n") + 1);
    const lines = signNote(text, [this.opts.cosigner]).slice(text.length + 1);
    // Kept with our cosignature: the monitoring endpoint serves exactly this (C2SP tlog-witness).
    await this.store.set(origin, { size: cp.size, root: toBase64(cp.root), note: `${note}${lines}` });
    return lines;
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
