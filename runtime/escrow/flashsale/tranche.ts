/**
 * The global waiting room's order and release schedule (outline §11.1.4), pure: time and randomness are
 * passed in. Every buyer gets a *score* when they join (lower goes first); the score travels in their
 * signed queue token, so any region — or the same one after a restart — can put them back in place.
 *
 * Order at the open, by policy (buyers who join after the open always queue behind the pre-queue, in
 * arrival order, ties within a millisecond broken by a random draw):
 * - fifo: the pre-queue in arrival order, ties broken at random;
 * - lottery: the pre-queue in a uniformly random order (joining early gains nothing, so nobody camps);
 * - weighted: the pre-queue in a tier-weighted random order — Efraimidis–Spirakis keys u^(1/w), so a
 *   weight-3 buyer is three times as likely as a weight-1 buyer to be drawn first.
 *
 * Release: tranche k opens at `opensAt + k × interval` and admits positions up to (k + 1) × trancheSize.
 */
import type { QueuePolicy } from "./waiting-room.js";

export interface TrancheSchedule {
  opensAtMs: number;
  trancheSize: number;
  intervalMs: number;
}

/** A new buyer's score: pre-open scores are all negative (ahead of everyone who joins later). */
export function queueScore(policy: QueuePolicy, joinedAtMs: number, opensAtMs: number, weight: number, u: number): number {
  const sinceOpen = Math.floor(joinedAtMs) - opensAtMs;
  if (sinceOpen >= 0 || policy === "fifo") return sinceOpen + u;
  if (policy === "lottery") return -1 - u;
  // weighted: the largest key goes first, so the score is its negation (in (-2, -1]).
  return -1 - Math.pow(u, 1 / Math.max(weight, 1e-9));
}

/** Positions admitted by `nowMs` (1-based, inclusive): nobody before the open. */
export function admittedThrough(s: TrancheSchedule, nowMs: number): number {
  if (nowMs < s.opensAtMs) return 0;
  return (Math.floor((nowMs - s.opensAtMs) / s.intervalMs) + 1) * s.trancheSize;
}

/** When the tranche holding `position` is released. */
function releaseAtMs(s: TrancheSchedule, position: number): number {
  return s.opensAtMs + (Math.ceil(position / s.trancheSize) - 1) * s.intervalMs;
}

export interface QueueStanding {
  position: number;
  ahead: number;
  admitted: boolean;
  /** Seconds until this buyer's tranche is released (0 once admitted). */
  etaSeconds: number;
  releaseAt: string;
}

export function standing(s: TrancheSchedule, position: number, nowMs: number): QueueStanding {
  const at = releaseAtMs(s, position);
  return { position, ahead: position - 1, admitted: nowMs >= at, etaSeconds: Math.max(0, Math.ceil((at - nowMs) / 1000)), releaseAt: new Date(at).toISOString() };
}
