/**
 * A time reference polled on an interval: one reading at start, then every `intervalMs` (timers unref'd). A tick
 * that finds the previous poll still in flight is skipped: overlapping polls could complete out of order, and an
 * older reading landing last would replace a newer one (ε and the reference's update time going back).
 */
export abstract class PolledReference<Reading> {
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;

  protected constructor(private readonly intervalMs: number) {}

  /** One reading; resolves null after reporting a failure (a failed poll feeds nothing). */
  abstract pollOnce(): Promise<Reading | null>;

  start(): void {
    if (this.timer !== null) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    if (this.inFlight) return;
    this.inFlight = true;
    void this.pollOnce().finally(() => (this.inFlight = false));
  }
}
