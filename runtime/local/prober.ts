/**
 * The GSLB's health checkers for the local estate: every interval, probe each region's health signals
 * (one HTTP path each, as the traffic policy lists them) with a timeout, and feed the traffic model's
 * HealthTracker — the same thresholds every cloud provider renders — reporting state changes with their
 * times so drills can measure detection against the runbook.
 */
import type { HealthState } from "../../model/traffic/health.js";
import type { TrafficPolicy } from "../../model/traffic/policy.js";
import { HealthTracker } from "../../model/traffic/tracker.js";

export interface HealthTransition {
  region: string;
  from: HealthState;
  to: HealthState;
  atMs: number;
}

export interface ProbeRound {
  startedAtMs: number;
  /** Slowest signal's round trip, ms; null when every signal failed. */
  rttMs: number | null;
  /** Signals that got no HTTP answer within the probe timeout (a failing status is an answer). */
  unanswered: number;
}

export interface ProberOptions {
  policy: TrafficPolicy;
  targets: Record<string, string>;
  onTransition?(t: HealthTransition): void;
  now?: () => number;
}

export class Prober {
  readonly tracker: HealthTracker;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private readonly now: () => number;
  private readonly states = new Map<string, HealthState>();
  private readonly since = new Map<string, number>();
  private readonly rounds = new Map<string, ProbeRound>();
  private readonly streaks = new Map<string, number>();

  constructor(private readonly options: ProberOptions) {
    this.now = options.now ?? Date.now;
    this.tracker = new HealthTracker(options.policy);
    for (const id of Object.keys(options.targets)) {
      this.states.set(id, this.tracker.state(id));
      this.since.set(id, this.now());
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.probeAll(), this.options.policy.healthCheck.intervalSeconds * 1000);
    void this.probeAll();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  health(): Record<string, HealthState> {
    return Object.fromEntries(this.states);
  }

  /** Signals currently counted as down, per region. */
  failingSignals(region: string): string[] {
    return this.options.policy.signals.filter((s) => !this.tracker.signalUp(region, s.name)).map((s) => s.name);
  }

  /** The last probe round's round-trip time to the region (slowest signal, ms); null when every signal failed. */
  rttMs(region: string): number | null {
    return this.rounds.get(region)?.rttMs ?? null;
  }

  /** The last completed probe round to the region, with when it started: what a drill needs to know which network it measured. */
  lastRound(region: string): ProbeRound | undefined {
    return this.rounds.get(region);
  }

  /**
   * How many probe rounds in a row, up to the last, the region answered on every signal within the probe timeout:
   * whether it serves through its network at all (a failing status counts — the GSLB then sees it failing).
   */
  answeredStreak(region: string): number {
    return this.streaks.get(region) ?? 0;
  }

  sinceMs(region: string): number {
    return this.since.get(region) ?? 0;
  }

  async probeAll(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      await Promise.all(Object.entries(this.options.targets).map(([region, url]) => this.probe(region, url)));
    } finally {
      this.inFlight = false;
    }
  }

  private async probe(region: string, url: string): Promise<void> {
    const timeoutMs = this.options.policy.healthCheck.timeoutSeconds * 1000;
    const startedAtMs = this.now();
    const results = await Promise.all(
      this.options.policy.signals.map(async (signal) => {
        const t0 = performance.now();
        try {
          const res = await fetch(`${url}${signal.path}`, { signal: AbortSignal.timeout(timeoutMs) });
          await res.arrayBuffer();
          return [signal.name, res.ok, performance.now() - t0] as const;
        } catch {
          return [signal.name, false, null] as const;
        }
      }),
    );
    const answered = results.flatMap(([, , rtt]) => (rtt === null ? [] : [rtt]));
    const unanswered = results.length - answered.length;
    this.rounds.set(region, { startedAtMs, rttMs: answered.length ? Math.max(...answered) : null, unanswered });
    this.streaks.set(region, unanswered === 0 ? this.answeredStreak(region) + 1 : 0);
    for (const [name, passed] of results) this.tracker.record(region, name, passed);
    const to = this.tracker.state(region);
    const from = this.states.get(region)!;
    if (to !== from) {
      const atMs = this.now();
      this.states.set(region, to);
      this.since.set(region, atMs);
      this.options.onTransition?.({ region, from, to, atMs });
    }
  }
}
