/**
 * HealthTracker: the checker side of the model, for a resolver that probes the regions itself (the
 * loopback resolver of `meridian local`). It turns a stream of probe results into each region's health
 * state with the providers' rule: a signal goes down after `failureThreshold` consecutive failed probes
 * and comes back after as many consecutive passes (the model's detection and recovery figures); the
 * region's state is `classifyRegion` over its signals. Pure: results are fed in order, no clock, no I/O.
 */
import type { RegionHealth } from "./answer.js";
import { classifyRegion, type HealthState } from "./health.js";
import type { TrafficPolicy } from "./policy.js";

interface SignalStatus {
  up: boolean;
  /** Consecutive probe results disagreeing with `up`. */
  streak: number;
}

export class HealthTracker {
  private readonly signals = new Map<string, Map<string, SignalStatus>>();
  private readonly threshold: number;

  constructor(private readonly policy: TrafficPolicy) {
    this.threshold = policy.healthCheck.failureThreshold;
    // Checks start healthy, as Route 53's and Traffic Manager's do: a new region is served until proven down.
    for (const t of policy.targets) this.signals.set(t.id, new Map(policy.signals.map((s) => [s.name, { up: true, streak: 0 }])));
  }

  /** Record one probe of one signal; returns true when the signal changed state. */
  record(regionId: string, signalName: string, passed: boolean): boolean {
    const status = this.status(regionId, signalName);
    if (passed === status.up) {
      status.streak = 0;
      return false;
    }
    status.streak += 1;
    if (status.streak < this.threshold) return false;
    status.up = passed;
    status.streak = 0;
    return true;
  }

  signalUp(regionId: string, signalName: string): boolean {
    return this.status(regionId, signalName).up;
  }

  state(regionId: string): HealthState {
    const region = this.region(regionId);
    return classifyRegion(
      [...region.values()].map((s) => s.up),
      this.policy.failingShare,
    );
  }

  /** Every region's state, ready for `answerSet`. */
  health(): RegionHealth {
    return Object.fromEntries(this.policy.targets.map((t) => [t.id, this.state(t.id)]));
  }

  private region(regionId: string): Map<string, SignalStatus> {
    const region = this.signals.get(regionId);
    if (region === undefined) throw new Error(`unknown region ${regionId}; the policy has ${[...this.signals.keys()].join(", ")}`);
    return region;
  }

  private status(regionId: string, signalName: string): SignalStatus {
    const status = this.region(regionId).get(signalName);
    if (status === undefined) throw new Error(`unknown signal ${signalName} of ${regionId}; expected ${this.policy.signals.map((s) => s.name).join(", ")}`);
    return status;
  }
}
