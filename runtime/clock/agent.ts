/**
 * The node time agent (`meridian time agent`): the node's chronyd made readable by the pods on that node, the way
 * AWS ClockBound's daemon publishes chrony's state in a shared-memory segment its clients map. Pods cannot reach
 * chronyd's command port (it answers 127.0.0.1 on the host network only, and Pod Security forbids the hostPath
 * its Unix socket would need), so the agent runs in the chrony DaemonSet's pod — on the host network, where
 * 127.0.0.1:323 is chronyd — reads `chronyc -c tracking` every `intervalMs`, and serves the last line read-only:
 *
 *  - GET /v1/tracking: the tracking line exactly as chronyc printed it (text/csv), which a service's ChronySync
 *    parses and bounds against its own clock — the node's clock, the one chrony disciplines (reference.ts
 *    `timeReference.agent`); 503 naming chronyc's error while the last read failed, so a service sees no reading
 *    (its ε grows, its skew monitor sees sync loss) rather than a stale one;
 *  - GET /status: the same as a ClockBound reading (status, offset, error bound) for operators;
 *  - GET /metrics: chrony's tracking as the series the clock-health rules read (model/time/metrics.ts, named as
 *    chrony_exporter names them), so no exporter image runs beside chronyd; while the last read failed they are
 *    absent (only `chrony_up 0`), never the last value seen.
 *
 * Monitoring only: nothing reaches chronyd's commands through it. Pods reach it through the node-local
 * `time-agent` Service (internalTrafficPolicy: Local, components/time/chrony.ts).
 */
import { Gauge, type Registry } from "prom-client";
import { z } from "zod";
import { TIME_METRICS as M } from "../../model/time/metrics.js";
import { HttpError } from "../common/http.js";
import { defineService } from "../kit/index.js";
import { chronycTracking } from "./chrony-sync.js";
import { clockBound, parseTracking, type Tracking } from "./chrony-tracking.js";
import { hostPort, TRACKING_AGE_HEADER } from "./reference.js";

export const timeAgentConfigSchema = z
  .object({
    /** chronyd's command port, as the agent reaches it on the host network. */
    chrony: hostPort.prefault("127.0.0.1:323"),
    /** Between reads of chrony's tracking (ClockBound's daemon refreshes its segment every second). */
    intervalMs: z.number().int().min(100).max(60_000).default(1_000),
  })
  .strict();

type Read = { ok: true; line: string; atMs: number } | { ok: false; error: string; atMs: number };

export const timeAgentService = defineService({
  name: "time-agent",
  config: timeAgentConfigSchema,
  start({ config, clock, log, metrics }) {
    const source = `${config.chrony.host}:${config.chrony.port}`;
    const read = chronycTracking(config.chrony.host, config.chrony.port);
    let last: Read = { ok: false, error: "chrony not read yet", atMs: clock.now() };
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const poll = async () => {
      // The line's age counts from before the read: chronyd answered at some instant after this one.
      const startedMs = clock.now();
      try {
        const line = (await read()).trim();
        parseTracking(line); // only a line a service can parse is passed on
        last = { ok: true, line, atMs: startedMs };
      } catch (e) {
        if (last.ok) log.warn({ err: (e as Error).message, chrony: source }, "chrony tracking unreadable");
        last = { ok: false, error: (e as Error).message, atMs: clock.now() };
      }
    };
    const loop = () => {
      if (stopped) return;
      timer = setTimeout(() => void poll().then(loop), config.intervalMs);
      timer.unref();
    };
    trackingMetrics(metrics, () => (last.ok ? parseTracking(last.line) : null));
    const unavailable = (l: Extract<Read, { ok: false }>) => new HttpError(503, "chrony tracking unavailable", `chronyc -c tracking from ${source}: ${l.error}`);
    return {
      routes(app) {
        app.get("/v1/tracking", { config: { auth: "public" } }, async (_req, reply) => {
          if (!last.ok) throw unavailable(last);
          return reply
            .header("content-type", "text/csv; charset=utf-8")
            .header(TRACKING_AGE_HEADER, String(Math.max(0, clock.now() - last.atMs)))
            .send(`${last.line}\n`);
        });
        app.get("/status", { config: { auth: "public" } }, async () => {
          if (!last.ok) throw unavailable(last);
          const tracking = parseTracking(last.line);
          return { chrony: source, readAtMs: last.atMs, reading: clockBound(tracking, clock.now() / 1000), tracking };
        });
      },
      ready: { chrony: () => last.ok || `no tracking from chronyd at ${source}: ${last.error}` },
      async started() {
        await poll();
        loop();
      },
      async close() {
        stopped = true;
        clearTimeout(timer);
      },
    };
  },
});

/**
 * The tracking series, read from the last line at each scrape. Labelled by the reference chrony follows, so a
 * failed read removes them (an unlabelled prom-client gauge would keep reporting its last value or 0).
 */
function trackingMetrics(registry: Registry, tracking: () => Tracking | null): void {
  const registers = [registry];
  const series: [string, string, (t: Tracking) => number][] = [
    [M.chronyLastOffset, "chronyd's last measured offset of the system clock (seconds; positive: fast)", (t) => t.lastOffsetS],
    [M.chronyRmsOffset, "Long-term RMS of chronyd's offsets (seconds)", (t) => t.rmsOffsetS],
    [M.chronyReferenceTime, "When chronyd last updated from its reference (Unix seconds)", (t) => t.refTimeS],
    [M.chronyStratum, "chronyd's stratum", (t) => t.stratum],
  ];
  for (const [name, help, value] of series) {
    new Gauge({
      name,
      help,
      labelNames: ["reference"],
      registers,
      collect() {
        this.reset();
        const t = tracking();
        if (t) this.set({ reference: t.referenceName }, value(t));
      },
    });
  }
  new Gauge({
    name: M.chronyUp,
    help: "1 while the last `chronyc -c tracking` read succeeded",
    registers,
    collect() {
      this.set(tracking() ? 1 : 0);
    },
  });
}
