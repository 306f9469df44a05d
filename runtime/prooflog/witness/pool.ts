/**
 * The log side of witnessing: when the log publishes a checkpoint it asks each configured witness to cosign it,
 * sending a consistency proof from the size that witness last cosigned. A 409 tells us the witness's real size
 * (after our restart, say) and we retry once from there. Cosignatures are verified before they are attached;
 * a witness that is down or refuses only costs its own signature, never the log's availability.
 */
import { openNote, type Verifier } from "../note.js";
import type { Hash } from "../rfc6962.js";
import { requestCosignature, WitnessRefusal } from "./http.js";

export interface WitnessEndpoint {
  url: string;
  verifier: Verifier;
}

export class WitnessPool {
  private readonly known = new Map<string, number>();
  readonly failures: { url: string; error: string }[] = [];

  constructor(private readonly witnesses: readonly WitnessEndpoint[]) {}

  /** Returns `note` with every valid cosignature obtained appended. */
  async cosign(note: string, size: number, proof: (oldSize: number) => Hash[]): Promise<string> {
    const lines = await Promise.all(this.witnesses.map((w) => this.one(w, note, size, proof)));
    return note + lines.join("");
  }

  private async one(w: WitnessEndpoint, note: string, size: number, proof: (oldSize: number) => Hash[]): Promise<string> {
    const attempt = (old: number) => requestCosignature(w.url, old, old === 0 || old === size ? [] : proof(old), note);
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
      return valid.map((l) => `${l}\n`).join("");
    } catch (e) {
      this.failures.push({ url: w.url, error: (e as Error).message });
      if (this.failures.length > 100) this.failures.shift();
      return "";
    }
  }
}
