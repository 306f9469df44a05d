/**
 * Timestamp-based freshness (RATS RFC 9334 §10.2 "timestamps"): a quote made without a verifier nonce is fresh
 * when the TPM's own clock vouches for it. The quote's TPMS_CLOCK_INFO carries `clock` (milliseconds the TPM has
 * been powered, monotonic and never reported lower while `safe`), `resetCount` (TPM Resets, i.e. reboots) and
 * `restartCount` (restarts and resumes). An AK is registered by a nonce-fresh quote: the verifier pins its clock
 * reading to the verifier's time (the anchor). A later timestamped quote from the same AK is accepted only when
 * `safe` is set, its resetCount is the anchor's (a reboot resets nothing the verifier can trust: re-register), its
 * restartCount did not go down, its clock is past every clock accepted before (a replayed or older quote is
 * refused), and its time estimated from the anchor — anchor time + (clock − anchor clock) — is within `maxAgeMs`
 * of the verifier's now. The TPM clock stops while powered off, so a node that slept looks old and must
 * re-register: the error is on the side of refusing. Pure: the registry is a map the caller keeps.
 */

export interface TpmClock {
  /** TPMS_CLOCK_INFO.clock, decimal (a uint64). */
  clock: string;
  resetCount: number;
  restartCount: number;
  safe: boolean;
}

export interface ClockAnchor {
  /** The clock reading of the registering (nonce-fresh) quote, and the verifier's time when it accepted it. */
  clock: string;
  at: number;
  resetCount: number;
  restartCount: number;
  /** The highest clock accepted so far from this AK: timestamped quotes must go past it. */
  last: string;
}

export type ClockVerdict = { ok: true; detail: string } | { ok: false; why: "unregistered" | "unsafe" | "reset" | "backwards" | "stale"; detail: string };

/** The anchor a nonce-fresh quote sets (registration). */
export const anchorOf = (c: TpmClock, at: number): ClockAnchor => ({ clock: c.clock, at, resetCount: c.resetCount, restartCount: c.restartCount, last: c.clock });

export function clockFreshness(anchor: ClockAnchor | undefined, c: TpmClock, o: { now: number; maxAgeMs: number }): ClockVerdict {
  if (!anchor) return { ok: false, why: "unregistered", detail: "no nonce-fresh quote registered this AK's clock; attest once with a verifier nonce" };
  if (!c.safe) return { ok: false, why: "unsafe", detail: "clockInfo.safe is 0: the TPM may have reported a higher clock before, so its clock proves no order" };
  if (c.resetCount !== anchor.resetCount) {
    return { ok: false, why: "reset", detail: `resetCount is ${c.resetCount}, registered ${anchor.resetCount}: the TPM was reset since registration; re-register with a verifier nonce` };
  }
  if (c.restartCount < anchor.restartCount) return { ok: false, why: "backwards", detail: `restartCount went back from ${anchor.restartCount} to ${c.restartCount}` };
  const clock = BigInt(c.clock);
  if (clock <= BigInt(anchor.last)) {
    return { ok: false, why: "backwards", detail: `clock ${c.clock} is not past ${anchor.last}, the latest accepted: a replayed or older quote` };
  }
  const madeAt = anchor.at + Number(clock - BigInt(anchor.clock));
  const age = o.now - madeAt;
  if (age > o.maxAgeMs) {
    return { ok: false, why: "stale", detail: `the TPM clock dates the quote ${new Date(madeAt).toISOString()}, ${age} ms before now; at most ${o.maxAgeMs} ms (re-register if the node slept)` };
  }
  return { ok: true, detail: `TPM clock ${c.clock} (reset ${c.resetCount}, restart ${c.restartCount}) dates the quote ${Math.max(age, 0)} ms ago, after the last accepted` };
}
