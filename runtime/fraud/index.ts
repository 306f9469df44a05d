/** Fraud proofs for a state-transition log: single-step proofs (transitions.ts) and the bisection game (bisect.ts). */
export * from "./challenge.js";
export * from "./transitions.js";
export { BisectionGame, ChallengeWindow, honestAsserter, honestChallenger, loggedClaim, playBisection, type Asserter, type BisectionOutcome, type Challenger } from "./bisect.js";
export * from "./escrow-machine.js";
export * from "./escrow-log.js";
export { fetchEscrowLog, fileWithCourt, type ServedCheckpoint } from "./escrow-client.js";
