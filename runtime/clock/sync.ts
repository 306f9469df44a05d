/**
 * NtpSync: the adapter that keeps a ClockNode measured against its reference — every `intervalMs` it
 * queries the NTP server (the region's grandmaster), passes the exchange through the clock filter (the
 * least-uncertain of the recent exchanges, ntp/filter.ts) and feeds that to `node.measure`, offset and
 * error bound: one slow exchange on a busy machine neither freezes the node nor widens its ε. A failed query feeds
 * nothing, so a node that loses its reference drifts into the skew monitor's sync-loss degradation and
 * TrueTime's ε keeps growing at the drift bound: the safe direction. Timers are unref'd.
 */
import type { Clock } from "../common/clock.js";
import type { ClockNode } from "./node.js";
import { ntpQuery, type NtpMeasurement } from "./ntp/client.js";
import { ClockFilter, type FilteredOffset } from "./ntp/filter.js";
import { PolledReference } from "./polled.js";

export interface NtpSyncOptions {
  host: string;
  port: number;
  /** The clock NTP timestamps are taken with (the node's physical clock, sub-ms). */
  clock: Clock;
  intervalMs?: number;
  timeoutMs?: number;
  onError?: (error: Error) => void;
}

export class NtpSync extends PolledReference<NtpMeasurement> {
  private failures = 0;
  private readonly filter: ClockFilter;
  /** The last exchange as measured, and what the filter made of it (what the node was fed). */
  last: NtpMeasurement | null = null;
  lastFiltered: FilteredOffset | null = null;

  constructor(
    private readonly node: ClockNode,
    private readonly options: NtpSyncOptions,
  ) {
    super(options.intervalMs ?? 16_000);
    this.filter = new ClockFilter({ driftPpm: node.truetime.driftPpm });
  }

  /** One exchange; resolves with the measurement, or null after reporting the error. */
  async pollOnce(): Promise<NtpMeasurement | null> {
    try {
      const m = await ntpQuery(this.options.host, this.options.port, { clock: this.options.clock, timeoutMs: this.options.timeoutMs });
      const f = this.filter.add(m);
      // The filter ages its bound to the exchange's arrival (t4), not to when this callback ran.
      this.node.measure(f.offsetMs, f.errorBoundMs, { asOfMs: m.atMs });
      this.last = m;
      this.lastFiltered = f;
      this.failures = 0;
      return m;
    } catch (e) {
      this.failures++;
      this.node.skew.evaluate();
      this.options.onError?.(e as Error);
      return null;
    }
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
