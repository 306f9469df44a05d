/**
 * The GSLB's health checkers for the local estate: probe every region's `/healthz` each interval with a
 * timeout, feed the HealthTracker, and report transitions with their times, so drills can measure
 * detection against the runbook's interval × threshold.
 */
import { HealthTracker, type HealthPolicy, type HealthTransition } from "../gslb/health.js";

export interface ProberOptions {
  targets: Record<string, string>;
  intervalMs: number;
  timeoutMs: number;
  policy: HealthPolicy;
  onTransition?(t: HealthTransition): void;
  now?: () => number;
}

export class Prober {
  readonly tracker: HealthTracker;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private readonly now: () => number;
  /** The last probe's body per region (signals), for the dashboard. */
  readonly lastBody = new Map<string, unknown>();

  constructor(private readonly options: ProberOptions) {
    this.now = options.now ?? Date.now;
    this.tracker = new HealthTracker(options.policy, Object.keys(options.targets), this.now());
  }

  start(): void {
    this.timer = setInterval(() => void this.probeAll(), this.options.intervalMs);
    void this.probeAll();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
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
    let ok = false;
    let signals: Record<string, boolean> | undefined;
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(this.options.timeoutMs) });
      const body = (await res.json()) as { signals?: Record<string, boolean> };
      this.lastBody.set(region, body);
      ok = res.ok;
      signals = body.signals;
    } catch {
      this.lastBody.delete(region);
    }
    const transition = this.tracker.record(region, { ok, signals, atMs: this.now() });
    if (transition) this.options.onTransition?.(transition);
  }
}
