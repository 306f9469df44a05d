/**
 * The certificate chain a server holds (`meridian cert serve`): every certificate from a trusted checkpoint
 * certificate on, each verified as a light client would (quorum of the committee in force, parent hash, hand-over
 * signed by the old quorum), so a reader can fast-sync any suffix of it. A second certificate at a held height is
 * refused, and when members signed both it is kept as equivocation evidence — as is evidence anyone submits (two
 * certificates at one height), once checked against the committee that was in force at that height.
 */
import { CertError } from "./errors.js";
import { certHash, equivocators, findEquivocation, LightClient, type Certificate, type Committee, type Equivocation } from "./certificates.js";

export interface ChainEntry {
  cert: Certificate;
  /** The committee whose quorum signed it. */
  committee: Committee;
}

/** A certificate conflicting with a held one at its height. */
export class ForkError extends CertError {
  override name = "ForkError";
}

export class CertChain {
  private readonly entries: ChainEntry[] = [];
  private readonly client: LightClient;
  private readonly evidenceByKey = new Map<string, Equivocation>();

  constructor(start: Certificate, committee: Committee) {
    this.client = new LightClient(start, committee);
    this.entries.push({ cert: start, committee });
  }

  /** Height of the first certificate held (history before it is pruned). */
  get firstHeight(): number {
    return this.entries[0]!.cert.height;
  }

  /** The first certificate held and the committee that signed it: where the chain (and a restart) starts after pruning. */
  get base(): ChainEntry {
    return this.entries[0]!;
  }

  /** The committee whose quorum signed the certificate held at `height`. */
  committeeAt(height: number): Committee | undefined {
    return this.entries[height - this.firstHeight]?.committee;
  }

  /**
   * Keep only the last `keep` certificates: history before them is pruned (ranges below answer 410), as a light
   * client that starts from the new first certificate would never ask for it. Evidence already kept stays.
   */
  prune(keep: number): boolean {
    const drop = this.entries.length - Math.max(1, keep);
    if (drop <= 0) return false;
    this.entries.splice(0, drop);
    return true;
  }

  get latest(): Certificate {
    return this.entries[this.entries.length - 1]!.cert;
  }

  at(height: number): Certificate | undefined {
    return this.entries[height - this.firstHeight]?.cert;
  }

  /** Up to `limit` certificates from `from` on. */
  range(from: number, limit: number): Certificate[] {
    const i = Math.max(0, from - this.firstHeight);
    return this.entries.slice(i, i + limit).map((e) => e.cert);
  }

  get evidence(): Equivocation[] {
    return [...this.evidenceByKey.values()];
  }

  /** Append the next certificate; true if it is new, false if it is the one already held. Throws CertError (ForkError on a conflict). */
  append(c: Certificate): boolean {
    const held = this.at(c.height);
    if (held !== undefined && certHash(held) === certHash(c)) return false;
    if (held !== undefined) {
      const found = this.record(findEquivocation(held, c, this.entries[c.height - this.firstHeight]!.committee));
      throw new ForkError(`fork at height ${c.height}: a second certificate${found.length > 0 ? `; ${equivocators(found)} signed both (evidence kept)` : " (no common signer)"}`);
    }
    if (c.height < this.firstHeight) throw new CertError(`certificate ${c.height} is below the first held height ${this.firstHeight} (pruned)`);
    const committee = this.client.head.committee;
    this.client.accept(c);
    this.entries.push({ cert: c, committee });
    return true;
  }

  /** Check two certificates as equivocation evidence against the committee in force at their height; keep and return what they prove. */
  submitEvidence(a: Certificate, b: Certificate): Equivocation[] {
    if (a.height !== b.height) throw new CertError(`evidence needs two certificates at one height, got ${a.height} and ${b.height}`);
    const entry = this.entries[a.height - this.firstHeight];
    if (entry === undefined) throw new CertError(`height ${a.height} is not held here (held: ${this.firstHeight}..${this.latest.height}), so its committee is unknown`);
    const found = findEquivocation(a, b, entry.committee);
    if (found.length === 0) throw new CertError(`no member of the committee at height ${a.height} validly signed both certificates`);
    this.record(found);
    return found;
  }

  /**
   * Evidence at a pruned height, as kept with the committee then in force (the server's own record: that committee
   * is no longer provable from the chain held). The members' signatures are checked again.
   */
  restoreEvidence(a: Certificate, b: Certificate, committee: Committee): Equivocation[] {
    const found = findEquivocation(a, b, committee);
    if (found.length === 0) throw new CertError(`no member of the recorded committee at height ${a.height} validly signed both certificates`);
    return this.record(found);
  }

  private record(found: Equivocation[]): Equivocation[] {
    for (const e of found) {
      const key = `${e.a.height}/${e.member}`;
      if (!this.evidenceByKey.has(key)) this.evidenceByKey.set(key, e);
    }
    return found;
  }
}
