/**
 * The receiving side of a bridge between regions' proof logs. A relay carries the source log's checkpoints to this
 * verifier, whose light client accepts one only if it is signed by the source log, cosigned by a witness quorum and
 * consistent with the checkpoint it held before (no fork, no rollback). A state claim — "entry E is at index i of
 * the source log" — is then accepted only with an RFC 6962 inclusion proof under exactly the checkpoint the light
 * client verified last, and only while that checkpoint is younger than maxAgeMs by the injected clock. A claim
 * proven under an older tree (stale), a tree the client never verified, or with a wrong entry or proof is refused.
 */
import type { Clock } from "../common/clock.js";
import { type Hash, leafHash, LightClient, type LightClientOptions, verifyInclusion } from "../prooflog/index.js";

export class ClaimRefused extends Error {
  override name = "ClaimRefused";
}

export interface StateClaim {
  /** The source log's origin line. */
  origin: string;
  index: number;
  /** The tree size the inclusion proof is for. */
  size: number;
  entry: Uint8Array;
  inclusionProof: Hash[];
}

export interface BridgeVerifierOptions extends LightClientOptions {
  clock: Clock;
  /** A verified checkpoint older than this no longer backs claims: the relay must bring a newer one. */
  maxAgeMs: number;
}

export class BridgeVerifier {
  private readonly client: LightClient;
  private acceptedAt = 0;

  constructor(private readonly opts: BridgeVerifierOptions) {
    this.client = new LightClient(opts);
  }

  /** The relay's delivery of a source checkpoint (signed note with cosignatures); throws if the light client refuses it. */
  async relay(note: string): Promise<{ size: number }> {
    const cp = await this.client.update(note);
    this.acceptedAt = this.opts.clock.now();
    return { size: cp.size };
  }

  /** Resume from a checkpoint note verified earlier (signature and quorum are checked again) and when it was accepted. */
  static async restore(opts: BridgeVerifierOptions, note: string, acceptedAt: number): Promise<BridgeVerifier> {
    const v = new BridgeVerifier(opts);
    await v.client.update(note);
    v.acceptedAt = acceptedAt;
    return v;
  }

  /** The note last accepted and when, for a caller that keeps the verifier's state between runs. */
  get state(): { note: string; acceptedAt: number } | null {
    const note = this.client.note;
    return note === null ? null : { note, acceptedAt: this.acceptedAt };
  }

  /** Accept a state claim, or throw ClaimRefused naming why. */
  accept(claim: StateClaim): { origin: string; index: number; size: number } {
    const cp = this.client.checkpoint;
    if (!cp) throw new ClaimRefused(`no checkpoint of ${this.opts.origin} has been verified yet`);
    if (claim.origin !== cp.origin) throw new ClaimRefused(`the claim is about log "${claim.origin}"; this verifier follows "${cp.origin}"`);
    const age = this.opts.clock.now() - this.acceptedAt;
    if (age > this.opts.maxAgeMs) throw new ClaimRefused(`stale: the verified checkpoint (size ${cp.size}) was accepted ${age} ms ago, over the ${this.opts.maxAgeMs} ms limit; relay a newer one`);
    if (claim.size < cp.size) throw new ClaimRefused(`stale: the claim is proven under tree size ${claim.size}; the verified checkpoint is size ${cp.size} — re-prove it there`);
    if (claim.size > cp.size) throw new ClaimRefused(`the claim is proven under tree size ${claim.size}, which no verified checkpoint covers (verified: ${cp.size})`);
    if (!Number.isSafeInteger(claim.index) || claim.index < 0 || claim.index >= cp.size) throw new ClaimRefused(`index ${claim.index} is not in a tree of ${cp.size}`);
    try {
      verifyInclusion(claim.index, cp.size, leafHash(claim.entry), claim.inclusionProof, cp.root);
    } catch (e) {
      throw new ClaimRefused(`forged: the entry is not at index ${claim.index} under the verified checkpoint (${(e as Error).message})`);
    }
    return { origin: cp.origin, index: claim.index, size: cp.size };
  }
}
