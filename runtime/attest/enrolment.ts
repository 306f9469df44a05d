/**
 * Enrolment of TPM nodes whose AK the operator does not register by hand (`nodes.<id>.enrol: true`): the node
 * presents its EK certificate and its AK's public area; the verifier checks the EK certificate up to the
 * configured manufacturer roots and answers a MakeCredential challenge (core/endorsement.ts); the node runs
 * `tpm2_activatecredential` and returns the secret. Only then is the AK the node's endorsed AK — until then, and
 * for any other AK, its quotes are refused. One outstanding challenge per node, single use, expiring; challenges
 * live in memory (a restart means asking for a new one), the enrolled AK in the service's registry (registry.ts).
 */
import type { Clock } from "../common/clock.js";
import { challengeAk, completeAkChallenge, EndorsementError, type AkChallenge } from "./core/endorsement.js";

export class Enrolments {
  private readonly pending = new Map<string, { challenge: AkChallenge; expiresAt: number }>();
  constructor(
    private readonly roots: { roots: string; intermediates?: string },
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** Step 1: the credential for `tpm2_activatecredential -i`; throws EndorsementError / QuoteFormatError naming what is wrong. */
  challenge(node: string, ekCert: Uint8Array, akPublic: Uint8Array): Buffer {
    const challenge = challengeAk({ ekCert, akPublic, ...this.roots, now: this.clock.now() });
    this.pending.set(node, { challenge, expiresAt: this.clock.now() + this.ttlMs });
    return challenge.credential;
  }

  /** Step 2: the recovered secret → the node's AK (PEM), for the caller to endorse. Throws why not. */
  activate(node: string, secret: Uint8Array): string {
    const p = this.pending.get(node);
    this.pending.delete(node); // one attempt per challenge: a wrong secret cannot be retried against it
    if (!p || this.clock.now() >= p.expiresAt) throw new EndorsementError(`node ${node} has no outstanding enrolment challenge (or it expired); ask for one first`);
    return completeAkChallenge(p.challenge, secret);
  }
}
