/** The public API of runtime/tbls ((t, n) threshold BLS signatures): other packages import from here only. */
export {
  combine,
  deal,
  groupPublicKey,
  interpolate,
  partialSign,
  publicKeyShare,
  ThresholdError,
  verifyGroupSignature,
  verifyPartial,
  verifyPartials,
  verifyShare,
  type Dealing,
  type PartialSignature,
  type Share,
} from "./threshold.js";
export { groupJson, readGroup, readShare, shareJson, type Group } from "./files.js";
export {
  commitmentDigest,
  complaintsFor,
  contribute,
  finish,
  qualify,
  reshareContribution,
  reshareFinish,
  type Contribution,
  type DkgResult,
  type DkgTranscript,
  type Disqualified,
  type ReshareResult,
} from "./dkg.js";
export { DkgParticipant, dkgService } from "./dkg-http.js";
export { awaitPeers, runDkg } from "./dkg-run.js";
export { dkgSession, signedBytes, type DkgPeer } from "./dkg-wire.js";
