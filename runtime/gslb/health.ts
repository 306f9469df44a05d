/**
 * Health tracking as a GSLB's checkers do it: a region turns unhealthy after `failureThreshold`
 * consecutive failed probes and healthy again after `healthyThreshold` consecutive good ones (hysteresis,
 * so one lucky probe does not flap DNS). A probe that succeeds while some of the region's health signals
 * fail (at least `degradedShare` of them) marks it degraded. Pure: probe results and times are passed in.
 */
export type HealthState = "healthy" | "degraded" | "unhealthy";

export interface HealthPolicy {
  failureThreshold: number;
  healthyThreshold: number;
  /** Share of failing signals (0..1) at which a reachable region counts as degraded. */
  degradedShare: number;
}

export interface Probe {
  ok: boolean;
  /** Per-signal results when the probe reached the region (e.g. one per runtime service). */
  signals?: Record<string, boolean>;
  atMs: number;
}

export interface RegionHealth {
  state: HealthState;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** When the state last changed (ms). */
  sinceMs: number;
  failingSignals: string[];
}

export interface HealthTransition {
  region: string;
  from: HealthState;
  to: HealthState;
  atMs: number;
}

export class HealthTracker {
  private readonly regions = new Map<string, RegionHealth>();

  constructor(
    private readonly policy: HealthPolicy,
    regionIds: string[],
    startMs: number,
  ) {
    for (const id of regionIds) {
      this.regions.set(id, { state: "healthy", consecutiveFailures: 0, consecutiveSuccesses: 0, sinceMs: startMs, failingSignals: [] });
    }
  }

  /** Record one probe; returns the transition it caused, if any. */
  record(region: string, probe: Probe): HealthTransition | null {
    const h = this.regions.get(region);
    if (!h) throw new Error(`unknown region ${region}`);
    const from = h.state;
    if (probe.ok) {
      h.consecutiveSuccesses += 1;
      h.consecutiveFailures = 0;
      const signals = Object.entries(probe.signals ?? {});
      h.failingSignals = signals.filter(([, ok]) => !ok).map(([name]) => name);
      const failingShare = signals.length ? h.failingSignals.length / signals.length : 0;
      const reachable = h.state !== "unhealthy" || h.consecutiveSuccesses >= this.policy.healthyThreshold;
      if (reachable) h.state = failingShare > 0 && failingShare >= this.policy.degradedShare ? "degraded" : "healthy";
    } else {
      h.consecutiveFailures += 1;
      h.consecutiveSuccesses = 0;
      if (h.consecutiveFailures >= this.policy.failureThreshold) h.state = "unhealthy";
    }
    if (h.state === from) return null;
    h.sinceMs = probe.atMs;
    return { region, from, to: h.state, atMs: probe.atMs };
  }

  get(region: string): RegionHealth {
    const h = this.regions.get(region);
    if (!h) throw new Error(`unknown region ${region}`);
    return { ...h, failingSignals: [...h.failingSignals] };
  }

  states(): Record<string, HealthState> {
    return Object.fromEntries([...this.regions].map(([id, h]) => [id, h.state]));
  }
}
