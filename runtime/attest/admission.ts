/**
 * The relying party at SVID issuance: a workload ID is admitted only when the verifier's latest signed result
 * for the node it runs on is accepted, fresh (appraised within `maxAgeMs`) and for the node's endorsed AK. Plugs
 * into runtime/identity's `createLocalTrustDomain(…, { admit })`; a node that fails attestation gets no SVID.
 */
import type { Clock } from "../common/clock.js";
import type { SpiffeId, SvidAdmission } from "../identity/index.js";
import { admit } from "./core/result.js";

export interface AttestationAdmissionOptions {
  verifierKey: string;
  clock: Clock;
  maxAgeMs: number;
  /** The node a workload ID runs on (its attester), or undefined when the ID is not bound to a node. */
  nodeOf(id: SpiffeId): string | undefined;
  /** The latest signed result for a node (the verifier's GET /v1/attest/results/:node), if any. */
  resultFor(node: string): string | undefined | Promise<string | undefined>;
  /** The AK fingerprint endorsed for a node, when the relying party keeps its own registry. */
  akOf?(node: string): string | undefined;
}

export function attestationAdmission(o: AttestationAdmissionOptions): SvidAdmission {
  return async (id) => {
    const node = o.nodeOf(id);
    if (node === undefined) return `${id.uri} is bound to no attested node`;
    const verdict = admit(await o.resultFor(node), { verifierKey: o.verifierKey, now: o.clock.now(), maxAgeMs: o.maxAgeMs, node, ak: o.akOf?.(node) });
    return verdict === true ? true : `node ${node}: ${verdict}`;
  };
}
