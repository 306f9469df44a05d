/** Fraud proofs for a state-transition log: single-step proofs (transitions.ts) and the bisection game (bisect.ts). */
export * from "./transitions.js";
export { BisectionGame, ChallengeWindow, honestAsserter, honestChallenger, loggedClaim, playBisection, type Asserter, type BisectionOutcome, type Challenger } from "./bisect.js";
