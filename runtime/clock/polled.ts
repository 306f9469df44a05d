/** A time reference polled on an interval: one reading at start, then every `intervalMs` (timers unref'd). */
export abstract class PolledReference<Reading> {
  private timer: NodeJS.Timeout | null = null;

  protected constructor(private readonly intervalMs: number) {}

  /** One reading; resolves null after reporting a failure (a failed poll feeds nothing). */
  abstract pollOnce(): Promise<Reading | null>;

  start(): void {
    if (this.timer !== null) return;
    void this.pollOnce();
    this.timer = setInterval(() => void this.pollOnce(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
