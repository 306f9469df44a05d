/** The public API of runtime/bridge (state proofs between regions' proof logs): other packages import from here only. */
export { BridgeVerifier, ClaimRefused, type BridgeVerifierOptions, type StateClaim } from "./claim.js";
export { claimJson, readClaim, readState } from "./files.js";
