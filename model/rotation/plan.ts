/**
 * Staged certificate rotation across regions (§14.2.1): a canary region, then cumulative waves
 * (e.g. 25% → 100% of regions), each followed by a verification gate, with a rollback rule. The same
 * wave order staggers cert-manager's automatic renewals: wave k gets a renewBefore `stagger` shorter than
 * wave k-1, so the canary always renews first and no two waves renew together.
 * Pure: the caller passes the start time (epoch ms); nothing here reads a clock.
 * Invariants: every region is in exactly one wave; waves start `staggerHours` apart and each wave's gate
 * ends before the next wave starts; a failed gate never lets a later wave start.
 */
import type { EstateSpec, Region } from "../estate.js";
import { durationSeconds } from "../config/vocabulary.js";
import { gateChecks, type GateCheck } from "./gates.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export interface RotationWave {
  /** 0 is the canary. */
  index: number;
  name: string;
  /** Cumulative share of regions rotated once this wave completes. */
  share: number;
  regions: string[];
  startsAt: number;
  /** Rollout (issue + propagate) ends and the verification gate starts. */
  gateStartsAt: number;
  gateEndsAt: number;
  /** cert-manager `renewBefore` for this wave's certificates (Go duration). */
  renewBefore: string;
  gate: GateCheck[];
}

export interface RotationPlan {
  stack: string;
  startsAt: number;
  endsAt: number;
  staggerHours: number;
  waves: RotationWave[];
  rollback: string;
}

export const ROLLBACK_RULE =
  "A failed gate halts the rotation: later waves never start; the failed wave's regions go back to their previous " +
  "certificate (restore the backed-up Secret, or re-issue from the previous issuer), and waves that already passed stay rotated.";

/** The canary: the configured region, else the one with the least capacity (smallest blast radius). */
export function canaryRegion(spec: EstateSpec): Region {
  const id = spec.pki.rotation.canary;
  if (id !== undefined) {
    const region = spec.regions.find((r) => r.id === id);
    if (region) return region;
  }
  return byBlastRadius(spec.regions)[0] as Region;
}

function byBlastRadius(regions: readonly Region[]): Region[] {
  return [...regions].sort((a, b) => a.capacity - b.capacity || a.id.localeCompare(b.id));
}

/** Regions per wave: canary alone, then each configured cumulative share of all regions (empty waves dropped). */
export function waveRegions(spec: EstateSpec): { share: number; regions: string[] }[] {
  const canary = canaryRegion(spec);
  const rest = byBlastRadius(spec.regions.filter((r) => r.id !== canary.id));
  const total = spec.regions.length;
  const waves = [{ share: 1 / total, regions: [canary.id] }];
  let covered = 1;
  for (const share of spec.pki.rotation.waves) {
    const upTo = Math.min(total, Math.max(covered, Math.ceil(share * total - 1e-9)));
    if (upTo > covered) {
      waves.push({ share: upTo / total, regions: rest.slice(covered - 1, upTo - 1).map((r) => r.id) });
      covered = upTo;
    }
  }
  return waves;
}

/** Go duration in whole hours, as cert-manager accepts it. */
function hours(h: number): string {
  return `${h}h`;
}

/** renewBefore per wave: the last wave keeps the configured value, each earlier wave one stagger more. */
function staggeredRenewBefore(spec: EstateSpec, waveIndex: number, waveCount: number): string {
  const base = durationSeconds(spec.pki.certificate.renewBefore) / 3600;
  return hours(base + (waveCount - 1 - waveIndex) * spec.pki.rotation.staggerHours);
}

export function planRotation(spec: EstateSpec, startsAt: number): RotationPlan {
  const { applyMinutes, gateMinutes, staggerHours } = spec.pki.rotation;
  const groups = waveRegions(spec);
  const waves = groups.map(({ share, regions }, index): RotationWave => {
    const start = startsAt + index * staggerHours * HOUR;
    return {
      index,
      name: index === 0 ? "canary" : `wave ${index}`,
      share,
      regions,
      startsAt: start,
      gateStartsAt: start + applyMinutes * MINUTE,
      gateEndsAt: start + (applyMinutes + gateMinutes) * MINUTE,
      renewBefore: staggeredRenewBefore(spec, index, groups.length),
      gate: gateChecks(spec, regions),
    };
  });
  return { stack: spec.stack, startsAt, endsAt: (waves.at(-1) as RotationWave).gateEndsAt, staggerHours, waves, rollback: ROLLBACK_RULE };
}

/** The wave a region rotates in. */
export function waveOf(plan: RotationPlan, regionId: string): RotationWave {
  const wave = plan.waves.find((w) => w.regions.includes(regionId));
  if (!wave) throw new Error(`region ${regionId} is in no rotation wave`);
  return wave;
}

/** A gate's outcome, as the operator (or a pipeline) reports it. */
export interface GateResult {
  wave: number;
  passed: boolean;
  failedChecks?: string[];
}

export type RotationStep = { action: "verify"; wave: number; regions: string[] } | { action: "rollback"; wave: number; regions: string[]; keep: string[]; failedChecks: string[] } | { action: "done" };

/**
 * The rollback rule as a decision: walk the waves in order; the first without a gate result is the one to
 * verify next; the first failed gate means roll that wave back and stop. Results for later waves than a
 * failed or unverified one are ignored: a later wave cannot have legitimately started.
 */
export function nextStep(plan: RotationPlan, results: readonly GateResult[]): RotationStep {
  const keep: string[] = [];
  for (const wave of plan.waves) {
    const result = results.find((r) => r.wave === wave.index);
    if (!result) return { action: "verify", wave: wave.index, regions: wave.regions };
    if (!result.passed) return { action: "rollback", wave: wave.index, regions: wave.regions, keep, failedChecks: result.failedChecks ?? [] };
    keep.push(...wave.regions);
  }
  return { action: "done" };
}

/**
 * Automatic renewal instants per wave for certificates all issued at `issuedAt` (a fresh rotation
 * re-aligns them), over `horizonMs`: cert-manager renews at notAfter − renewBefore and re-issues for
 * `duration` again, so each wave renews every (duration − renewBefore_k).
 */
export function renewalInstants(spec: EstateSpec, plan: RotationPlan, issuedAt: number, horizonMs: number): { wave: number; at: number }[] {
  const lifetime = durationSeconds(spec.pki.certificate.duration) * 1000;
  const out: { wave: number; at: number }[] = [];
  for (const wave of plan.waves) {
    const period = lifetime - durationSeconds(wave.renewBefore) * 1000;
    for (let at = issuedAt + period; at <= issuedAt + horizonMs; at += period) out.push({ wave: wave.index, at });
  }
  return out.sort((a, b) => a.at - b.at || a.wave - b.wave);
}

/** Smallest gap between renewals of two different waves (Infinity when fewer than two). */
export function minRenewalGapMs(instants: readonly { wave: number; at: number }[]): number {
  let gap = Infinity;
  for (let i = 1; i < instants.length; i += 1) {
    const a = instants[i - 1] as { wave: number; at: number };
    const b = instants[i] as { wave: number; at: number };
    if (a.wave !== b.wave) gap = Math.min(gap, b.at - a.at);
  }
  return gap;
}
