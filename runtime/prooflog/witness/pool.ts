/**
 * The log side of witnessing: when the log signs a checkpoint it asks each configured witness to cosign it,
 * sending a consistency proof from the size that witness last cosigned. A 409 tells us the witness's real size
 * (after our restart, say) and we retry once from there. Cosignatures are verified before they are attached.
 *
 * Every witness has its own deadline: a hung or slow witness costs only its own signature, never the log's
 * progress or a prompt shutdown. With a quorum k, a checkpoint is published only if at least k witnesses
 * cosigned it (k-of-n gating); otherwise the previous, quorate checkpoint stays the served one.
 *
 * In threshold mode (threshold.ts) the pool is also the combiner: it takes each witness's partial signature, names
 * the witness whose partial does not verify, and publishes a checkpoint only with the one group signature that t
 * valid partials combine to.
 */
import type { PartialSignature } from "../../tbls/index.js";
import { openNote, type Verifier } from "../note.js";
import type { Hash } from "../rfc6962.js";
import { requestCosignature, WitnessRefusal } from "./http.js";
import type { ThresholdGroup } from "./threshold.js";

/** threshold.ts, loaded on the first threshold round (it pulls in BLS12-381). */
type Combiner = typeof import("./threshold.js");

export interface WitnessEndpoint {
  url: string;
  verifier: Verifier;
}

export interface WitnessPoolOptions {
  /** Per-witness deadline for one add-checkpoint exchange (ms). */
  timeoutMs?: number;
  /** Publish only checkpoints that at least this many witnesses cosigned (0: publish regardless). */
  quorum?: number;
  /** Threshold mode: publish only checkpoints carrying this group's threshold signature, combined here. */
  threshold?: ThresholdGroup;
  /** Told of every failure as it happens (the service logs them: a forged partial names its witness). */
  onFailure?: (url: string, error: string) => void;
}

export class WitnessPool {
  private readonly known = new Map<string, number>();
  readonly failures: { url: string; error: string }[] = [];

  private readonly timeoutMs: number;
  readonly quorum: number;
  private readonly threshold: ThresholdGroup | undefined;
  private readonly onFailure: ((url: string, error: string) => void) | undefined;
  /** Aborted on close: in-flight requests to witnesses end at once, so a shutdown never waits on a hung witness. */
  private readonly closing = new AbortController();

  constructor(
    private readonly witnesses: readonly WitnessEndpoint[],
    o: WitnessPoolOptions = {},
  ) {
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.quorum = o.quorum ?? 0;
    this.threshold = o.threshold;
    this.onFailure = o.onFailure;
    if (this.quorum > witnesses.length) throw new RangeError(`witness quorum ${this.quorum} exceeds the ${witnesses.length} witnesses configured`);
  }

  close(): void {
    this.closing.abort();
  }

  /** `note` with every valid cosignature obtained appended, or null when fewer than the quorum cosigned. */
  async cosign(note: string, size: number, proof: (oldSize: number) => Promise<Hash[]>): Promise<string | null> {
    const th: Combiner | null = this.threshold ? await import("./threshold.js") : null;
    const answers = await Promise.all(this.witnesses.map((w) => this.one(w, note, size, proof, th)));
    const lines = answers.map((a) => a.lines);
    const got = lines.filter((l) => l !== "").length;
    if (got < this.quorum) {
      this.fail("(quorum)", `size ${size}: ${got} of ${this.witnesses.length} witnesses cosigned; the quorum is ${this.quorum}, so it is not published`);
      return null;
    }
    const group = this.threshold;
    if (!group || !th) return note + lines.join("");
    const text = note.slice(0, note.indexOf("\n\n") + 1);
    const from: string[] = [];
    const partials: PartialSignature[] = [];
    answers.forEach((a, i) => {
      for (const p of a.partials) {
        from.push(this.witnesses[i]!.url);
        partials.push(p);
      }
    });
    const blame = (forged: number[]) =>
      forged.forEach((k) => this.fail(from[k]!, `size ${size}: witness ${from[k]} sent a partial signature for share ${partials[k]!.index} that does not verify under that share's public key`));
    try {
      const { line, forged } = th.combineCheckpoint(group, text, partials);
      blame(forged);
      return note + lines.join("") + line;
    } catch (e) {
      if (!(e instanceof th.ThresholdCombineError)) throw e;
      blame(e.forged);
      this.fail("(threshold)", `size ${size}: ${e.message}, so it is not published`);
      return null;
    }
  }

  private fail(url: string, error: string): void {
    this.failures.push({ url, error });
    if (this.failures.length > 100) this.failures.shift();
    this.onFailure?.(url, error);
  }

  private async one(w: WitnessEndpoint, note: string, size: number, proof: (oldSize: number) => Promise<Hash[]>, th: Combiner | null): Promise<{ lines: string; partials: PartialSignature[] }> {
    const deadline = AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.closing.signal]);
    const attempt = async (old: number) => requestCosignature(w.url, old, old === 0 || old === size ? [] : await proof(old), note, deadline);
    try {
      let lines: string;
      try {
        lines = await attempt(this.known.get(w.url) ?? 0);
      } catch (e) {
        if (!(e instanceof WitnessRefusal) || e.knownSize === undefined || e.knownSize > size) throw e;
        lines = await attempt(e.knownSize);
      }
      // Keep only this witness's signatures, and only if they verify over exactly this checkpoint.
      const mine = lines.split("\n").filter((l) => l.startsWith(`— ${w.verifier.name} `));
      const text = note.slice(0, note.indexOf("\n\n") + 1);
      const valid = mine.filter((l) => {
        try {
          return openNote(`${text}\n${l}\n`, [w.verifier]).sigs.length === 1;
        } catch {
          return false;
        }
      });
      if (valid.length === 0) throw new Error("no valid cosignature in the answer");
      this.known.set(w.url, size);
      return { lines: valid.map((l) => `${l}\n`).join(""), partials: th && this.threshold ? th.parsePartials(this.threshold, lines) : [] };
    } catch (e) {
      this.fail(w.url, (e as Error).message);
      return { lines: "", partials: [] };
    }
  }
}
