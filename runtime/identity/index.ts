/**
 * Runtime identity: SPIFFE IDs, X.509-SVIDs and mTLS for services that terminate TLS themselves. See
 * docs/pki.md for the server and client recipe; production SVIDs come from the SPIRE agent, local ones
 * from createLocalTrustDomain.
 */
export { SpiffeIdError, parseSpiffeId, type SpiffeId } from "./spiffe-id.js";
export { svidSpiffeId } from "./svid.js";
export { createLocalTrustDomain, SvidAdmissionError, type LocalTrustDomain, type Svid, type SvidAdmission } from "./local-ca.js";
export {
  allowIds,
  allowTrustDomain,
  enforcePeerIds,
  mtlsClientOptions,
  mtlsServerOptions,
  peerSpiffeId,
  reloadSvid,
  requestPeerId,
  type Authorizer,
  type PeerRejection,
  type SvidSource,
} from "./mtls.js";
