/**
 * Prometheus metrics for the time fabric (prom-client), named from model/time/metrics.ts so the
 * PrometheusRules that components/time renders read exactly these series. ε and commit-wait are
 * histograms (their p99 is what §12.2.3 tracks); everything else is a gauge or counter.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { SKEW_STATE_VALUE, TIME_METRICS } from "../../model/time/metrics.js";
import type { EnsembleSample } from "./sources/ensemble.js";
import type { SkewEvent } from "./skew.js";
import type { TrueTimeObserver } from "./truetime.js";

/** Buckets from 1 µs to ~8 s: ε spans a PTP-disciplined host to a clock in long holdover. */
/** Why a message's HLC was refused (runtime/clock/propagation.ts). */
export type MessageRefusal = "reset" | "unknown-epoch" | "no-epoch" | "invalid" | "untrustworthy";

const SECONDS_BUCKETS = [1e-6, 1e-5, 1e-4, 5e-4, 1e-3, 2e-3, 4e-3, 7e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2, 4, 8];

export class TimeMetrics {
  readonly registry: Registry;
  private readonly epsilon: Histogram;
  private readonly commitWait: Histogram;
  private readonly driftAlarms: Counter<"direction">;
  private readonly skewState: Gauge;
  private readonly offset: Gauge;
  private readonly hlcRejections: Counter;
  private readonly ensembleEpsilon: Gauge;
  private readonly falsetickers: Gauge;
  private readonly holdover: Gauge;
  private readonly synchronized: Gauge;
  readonly ntpReplies: Counter;
  private readonly backwardJumps: Counter;
  private readonly forwardJumps: Counter;
  private readonly upperBound: Gauge;
  private readonly startupWait: Gauge;
  private readonly epoch: Gauge;
  private readonly gatewayRefusals: Counter<"reason">;
  private readonly messageRefusals: Counter<"transport" | "reason">;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const r = [registry];
    this.epsilon = new Histogram({ name: TIME_METRICS.epsilon, help: "TrueTime uncertainty ε at now()", buckets: SECONDS_BUCKETS, registers: r });
    this.commitWait = new Histogram({ name: TIME_METRICS.commitWait, help: "Time spent in commit-wait", buckets: SECONDS_BUCKETS, registers: r });
    this.driftAlarms = new Counter({ name: TIME_METRICS.driftAlarms, help: "CUSUM drift alarms", labelNames: ["direction"], registers: r });
    this.skewState = new Gauge({ name: TIME_METRICS.skewState, help: "Skew monitor state: 0 healthy, 1 degraded, 2 frozen, 3 recovering", registers: r });
    this.offset = new Gauge({ name: TIME_METRICS.offset, help: "Last measured offset from the reference", registers: r });
    this.hlcRejections = new Counter({ name: TIME_METRICS.hlcRejections, help: "Remote HLC timestamps rejected beyond max offset", registers: r });
    this.ensembleEpsilon = new Gauge({ name: TIME_METRICS.ensembleEpsilon, help: "Grandmaster ensemble ε", registers: r });
    this.falsetickers = new Gauge({ name: TIME_METRICS.falsetickers, help: "Sources flagged as falsetickers", registers: r });
    this.holdover = new Gauge({ name: TIME_METRICS.holdover, help: "1 while the ensemble is in holdover", registers: r });
    this.synchronized = new Gauge({ name: TIME_METRICS.synchronized, help: "1 while a majority of sources agree", registers: r });
    this.ntpReplies = new Counter({ name: TIME_METRICS.ntpReplies, help: "NTP replies sent", registers: r });
    this.backwardJumps = new Counter({ name: TIME_METRICS.backwardJumps, help: "Physical clock readings that went backwards by more than max offset / 10", registers: r });
    this.forwardJumps = new Counter({ name: TIME_METRICS.forwardJumps, help: "Physical clock forward jumps at or beyond the tolerated jump (checking on)", registers: r });
    this.upperBound = new Gauge({ name: TIME_METRICS.upperBound, help: "HLC wall-time upper bound last persisted (Unix seconds)", registers: r });
    this.startupWait = new Gauge({ name: TIME_METRICS.startupWait, help: "Start-up wait before issuing HLC timestamps", registers: r });
    this.epoch = new Gauge({ name: TIME_METRICS.hlcEpoch, help: "HLC epoch (0 until the first reset)", registers: r });
    this.gatewayRefusals = new Counter({ name: TIME_METRICS.gatewayRefusals, help: "Timestamps and tokens refused at a clock domain gateway", labelNames: ["reason"], registers: r });
    this.messageRefusals = new Counter({ name: TIME_METRICS.messageRefusals, help: "Messages whose HLC was refused (dropped unapplied)", labelNames: ["transport", "reason"], registers: r });
  }

  /** Plug into TrueTime: ε and commit-wait in seconds, drift alarms by direction. */
  get trueTimeObserver(): TrueTimeObserver {
    return {
      epsilon: (ms) => this.epsilon.observe(ms / 1000),
      commitWait: (ms) => this.commitWait.observe(ms / 1000),
      driftAlarm: (alarm) => this.driftAlarms.inc({ direction: alarm }),
    };
  }

  skewEvent(event: SkewEvent): void {
    this.skewState.set(SKEW_STATE_VALUE[event.to]);
    if (event.offsetMs !== null) this.offset.set(event.offsetMs / 1000);
  }

  observeOffset(offsetMs: number): void {
    this.offset.set(offsetMs / 1000);
  }

  backwardJump(): void {
    this.backwardJumps.inc();
  }

  forwardJump(): void {
    this.forwardJumps.inc();
  }

  upperBoundPersisted(boundMicros: number): void {
    this.upperBound.set(boundMicros / 1e6);
  }

  startupWaited(ms: number): void {
    this.startupWait.set(ms / 1000);
  }

  hlcEpoch(epoch: number): void {
    this.epoch.set(epoch);
  }

  gatewayRefused(reason: "out-of-bound" | "reset" | "unknown-epoch" | "invalid" | "no-epoch"): void {
    this.gatewayRefusals.inc({ reason });
  }

  messageRefused(transport: "nats", reason: MessageRefusal): void {
    this.messageRefusals.inc({ transport, reason });
  }

  hlcRejected(): void {
    this.hlcRejections.inc();
  }

  ensemble(sample: Pick<EnsembleSample, "epsilonMs" | "falsetickers" | "holdover" | "synchronized">): void {
    this.ensembleEpsilon.set(sample.epsilonMs / 1000);
    this.falsetickers.set(sample.falsetickers.length);
    this.holdover.set(sample.holdover ? 1 : 0);
    this.synchronized.set(sample.synchronized ? 1 : 0);
  }
}
