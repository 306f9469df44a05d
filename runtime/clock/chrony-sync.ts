/**
 * ChronySync: the node's chronyd as the reference, the way AWS ClockBound does it. Every `intervalMs` it
 * reads chrony's tracking report (`chronyc -c tracking` over chronyd's command port) and turns it into a
 * ClockBound reading (chrony-tracking.ts): the offset chrony measured against its selected sources and an
 * error bound of |system time| + root delay / 2 + root dispersion, grown by drift since the last update.
 *
 * chrony already votes among the region's independent references and the grandmaster, so this error
 * bound covers the whole path to UTC — unlike one NTP exchange with the grandmaster, whose ε says nothing
 * about the grandmaster's own error. SYNCHRONIZED and FREE_RUNNING readings are fed to the node
 * (FREE_RUNNING's bound keeps growing with drift); DISRUPTED gives no bound, so the node refuses strong
 * operations until chrony recovers. A failed read feeds nothing: ε grows, the skew monitor sees sync loss.
 */
import { execFile } from "node:child_process";
import type { Clock } from "../common/clock.js";
import { clockBound, parseTracking, type ClockBoundOptions, type ClockBoundReading } from "./chrony-tracking.js";
import type { ClockNode } from "./node.js";
import { PolledReference } from "./polled.js";

/**
 * Returns chronyc's `-c tracking` line: as a string when chronyd answered after the read began (chronyc itself),
 * or with `ageMs`, how long before the read began chronyd gave it (the node time agent serves its last read).
 */
export type TrackingReader = () => Promise<string | { line: string; ageMs: number }>;

/** chronyc against chronyd's command port (monitoring commands need no key from an allowed address). */
export function chronycTracking(host: string, port: number, timeoutMs = 2_000): () => Promise<string> {
  return () =>
    new Promise((resolve, reject) => {
      execFile("chronyc", ["-c", "-n", "-h", host, "-p", String(port), "tracking"], { timeout: timeoutMs }, (err, stdout, stderr) => {
        if (err) reject(new Error(`chronyc -h ${host} -p ${port} tracking: ${(stderr || stdout || err.message).trim().slice(0, 200)}`));
        else resolve(stdout);
      });
    });
}

export interface ChronySyncOptions extends ClockBoundOptions {
  read: TrackingReader;
  /** The clock the tracking report's ref time is compared with (the node's physical clock). */
  clock: Clock;
  /** Names the reference in status and refusals, e.g. `chrony 10.0.1.7:323`. */
  source: string;
  intervalMs?: number;
  onError?: (error: Error) => void;
}

export class ChronySync extends PolledReference<ClockBoundReading> {
  last: ClockBoundReading | null = null;

  constructor(
    private readonly node: ClockNode,
    private readonly options: ChronySyncOptions,
  ) {
    super(options.intervalMs ?? 1_000);
  }

  /** One read; resolves with the reading, or null after reporting the error. */
  async pollOnce(): Promise<ClockBoundReading | null> {
    let reading: ClockBoundReading;
    // chronyd computes the root dispersion it reports as of its answer, which came after this instant (less the
    // agent's cache age); ε must grow from here, at chrony's rate, to cover the dispersion chrony has by the time
    // the answer is handled — under a busy event loop that can be many milliseconds later.
    const startedMs = this.options.clock.now();
    let asOfMs: number;
    try {
      const got = await this.options.read();
      const { line, ageMs } = typeof got === "string" ? { line: got, ageMs: 0 } : got;
      if (!(ageMs >= 0 && ageMs < Infinity)) throw new RangeError(`tracking line age ${ageMs} ms is not a finite duration ≥ 0`);
      asOfMs = startedMs - ageMs;
      reading = clockBound(parseTracking(line), this.options.clock.now() / 1000, this.options);
    } catch (e) {
      this.node.skew.evaluate();
      this.options.onError?.(e as Error);
      return null;
    }
    this.last = reading;
    const updatedAt = reading.refTimeS > 0 ? new Date(reading.refTimeS * 1000).toISOString() : undefined;
    this.node.reportReference({ source: this.options.source, status: reading.status, reason: reading.reason, ...(updatedAt && { updatedAt }) });
    // TrueTime keeps ClockBound's bound as ε, growing at least as fast as chrony's own dispersion; the skew
    // monitor weighs chrony's offset by that offset's own error.
    if (reading.offsetMs !== null && reading.errorBoundMs !== null && reading.offsetErrorMs !== null)
      this.node.measure(reading.offsetMs, reading.offsetErrorMs, { epsilonMs: reading.errorBoundMs, growthPpm: reading.growthPpm, asOfMs });
    else this.node.skew.evaluate();
    return reading;
  }
}
