/**
 * The SPIRE side of admission: what a SPIRE server NodeAttestor plugin (plugin SDK `nodeattestor/v1`, `Attest`
 * stream) answers for a node this verifier attested. The plugin (spire-plugin/, Go) hands the agent our nonce as its
 * challenge, posts the agent's evidence to `POST /v1/attest/verify`, and asks `GET /v1/attest/spire/:node`, which
 * maps the signed result with `spireAgentAttributes`: an accepted, fresh result for that node becomes the
 * AgentAttributes SPIRE expects (the agent's SPIFFE ID and selector values); anything else is the reason to
 * answer PermissionDenied, so the agent gets no SVID and neither do the workloads on it. Registration entries
 * can then require `meridian_attest:pcr:sha256:16:<hex>` or `meridian_attest:measurement:<hex>`, so a workload
 * is issued an identity only on nodes in the reference state.
 */
import { admit, openResult, type AdmitOptions } from "./core/result.js";

/** The plugin name: SPIRE's selector type and the agent path segment (`/spire/agent/meridian_attest/<node>`). */
const SPIRE_PLUGIN = "meridian_attest";

/** nodeattestor/v1 AgentAttributes, in its protobuf JSON names. */
export interface SpireAgentAttributes {
  spiffe_id: string;
  selector_values: string[];
  can_reattest: boolean;
}

const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;

/** The AgentAttributes for `node`'s latest signed result, or why SPIRE must refuse the agent. */
export function spireAgentAttributes(note: string | undefined, o: AdmitOptions & { node: string; trustDomain: string }): SpireAgentAttributes | { refused: string } {
  if (!TRUST_DOMAIN.test(o.trustDomain)) throw new Error(`trust domain: got ${JSON.stringify(o.trustDomain)}; expected a SPIFFE trust domain name`);
  const verdict = admit(note, o);
  if (verdict !== true) return { refused: `node ${o.node}: ${verdict}` };
  const r = openResult(note!, o.verifierKey);
  const selectors = [`node:${o.node}`, `format:${r.format ?? "tpm"}`, `ak:${r.ak}`];
  for (const [bank, pcrs] of Object.entries(r.pcrs ?? {})) for (const [i, v] of Object.entries(pcrs)) selectors.push(`pcr:${bank}:${i}:${v}`);
  if (r.snp) selectors.push(`measurement:${r.snp.measurement}`, `chip:${r.snp.chipId}`, `host_data:${r.snp.hostData}`);
  for (const [i, v] of Object.entries(r.nitro?.pcrs ?? {})) selectors.push(`pcr:sha384:${i}:${v}`);
  // Re-attestation renews the agent's SVID only through this verifier again: SPIRE may ask for it.
  return { spiffe_id: `spiffe://${o.trustDomain}/spire/agent/${SPIRE_PLUGIN}/${encodeURIComponent(o.node)}`, selector_values: selectors, can_reattest: true };
}
