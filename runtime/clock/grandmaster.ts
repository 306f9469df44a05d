/**
 * The grandmaster service: the simulated ensemble (GPS + rubidium + cesium by default) served as a
 * stratum-1 NTPv4 server, with an admin HTTP API for status, Prometheus metrics and drills.
 *
 * The ensemble's notion of true time is the host's high-resolution clock plus `offsetMs`, so a test or a
 * `meridian local` region can run a grandmaster that is deliberately wrong by a known amount. NTP
 * replies carry the ensemble's ε as root dispersion, its leap indicator, refid "GPS" when disciplined and
 * "ATOM" in holdover, and leap 3 / stratum 16 when the sources have no majority.
 *
 * Admin routes (served by the kit, see grandmaster-service.ts): GET /status (public), and for operators
 * POST /drills/gps {fault, durationSeconds?, offsetMs?} and POST /drills/inflate {epsilonMs, durationSeconds}.
 */
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { z } from "zod";
import { type Clock, skewedClock } from "../common/clock.js";
import { HttpError, parseInput } from "../common/http.js";
import { TimeMetrics } from "./metrics.js";
import { NtpServer } from "./ntp/server.js";
import type { ServerState } from "./ntp/packet.js";
import { calibratedRealtimeClock, type CalibratedClock } from "./realtime.js";
import { ScenarioRunner, leapOf, type Scenario } from "./scenario.js";
import { buildEnsemble, type Ensemble, type EnsembleSample } from "./sources/ensemble.js";

/**
 * Sub-millisecond wall clock: Date.now() resolves only 1 ms, too coarse to serve NTP within 1 ms. The process's one
 * periodically recalibrated clock (realtime.ts), made at its first reading, so a long-running process (the relay, a
 * test worker) follows slews of the host clock: anchored once at process start (performance.timeOrigin), it was
 * 4.7 ms off the host clock in a test worker ten minutes old, beyond an NTP measurement's error bound.
 */
let shared: CalibratedClock | undefined;
export const preciseSystemClock: Clock = { now: () => (shared ??= calibratedRealtimeClock()).now() };

export interface GrandmasterOptions {
  clock?: Clock;
  offsetMs?: number;
  primary?: "gps" | "rubidium" | "cesium";
  smear?: boolean;
  scenario?: Scenario;
  seed?: number;
  /** Where the time metrics register (the kit's registry when served; a private one otherwise). */
  registry?: Registry;
}

export class Grandmaster {
  readonly ensemble: Ensemble;
  readonly metrics: TimeMetrics;
  readonly ntp: NtpServer;
  private readonly clock: Clock;
  private readonly runner: ScenarioRunner | null;
  private last: EnsembleSample;
  private readonly realtime: CalibratedClock | null;

  constructor(options: GrandmasterOptions = {}) {
    const offset = options.offsetMs ?? 0;
    this.metrics = new TimeMetrics(options.registry);
    this.realtime = options.clock === undefined ? calibratedRealtimeClock() : null;
    this.clock = skewedClock(options.clock ?? this.realtime!, () => offset);
    const scenario = options.scenario;
    this.ensemble = buildEnsemble({
      clock: this.clock,
      primary: options.primary ?? "gps",
      smear: scenario?.smear ?? options.smear ?? false,
      leap: scenario ? leapOf(scenario) : null,
      seed: options.seed ?? 1,
    });
    this.runner = scenario ? new ScenarioRunner(this.ensemble, scenario, this.clock.now()) : null;
    this.last = this.sample();
    // now() is a cheap clock read corrected by the latest sample (taken in state(), once per request), so
    // the receive and transmit stamps sit as close to the socket as JavaScript allows.
    this.ntp = new NtpServer({
      now: () => this.now(),
      state: () => {
        this.sample();
        this.metrics.ntpReplies.inc();
        return this.state();
      },
    });
  }

  /** Advance the scenario and take a fresh ensemble sample. */
  sample(): EnsembleSample {
    this.runner?.due(this.clock.now());
    this.last = this.ensemble.sample();
    this.metrics.ensemble(this.last);
    return this.last;
  }

  /** The served time now: the injected clock corrected by the latest ensemble estimate. */
  now(): number {
    return this.ensemble.serve(this.clock.now() + this.last.offsetMs);
  }

  state(): ServerState {
    const s = this.last;
    return {
      leap: s.leapIndicator,
      synchronized: s.synchronized,
      referenceId: s.holdover ? "ATOM" : "GPS",
      // The reference timestamp is when the time was last set from the primary reference: the last GPS steer.
      referenceMs: s.holdover ? this.ensemble.serve(s.lastSteerMs) : s.timeMs,
      rootDispersionS: s.epsilonMs / 1000,
      precision: -20,
    };
  }

  /** Start NTP on `ntpPort`; resolves with the bound port. */
  async listen(ntpPort: number, host = "127.0.0.1"): Promise<{ ntp: number }> {
    return { ntp: await this.ntp.listen(ntpPort, host) };
  }

  async close(): Promise<void> {
    this.realtime?.stop();
    await this.ntp.close();
  }

  /** The admin API: status for anyone, fault drills for operators only. */
  adminRoutes(app: FastifyInstance): void {
    app.get("/status", { config: { auth: "public" } }, async () => ({ ...this.sample(), ntp: this.ntp.stats }));
    const operator = { config: { auth: "operator" as const } };
    app.post("/drills/gps", operator, async (req) => {
      const body = parseInput(gpsDrill, req.body, "body");
      const now = this.clock.now();
      const until = now + (body.durationSeconds ?? Number.POSITIVE_INFINITY) * 1000;
      let gps;
      try {
        gps = this.ensemble.gps(body.receiver);
      } catch (e) {
        throw new HttpError(409, "no such GPS receiver", (e as Error).message);
      }
      if (body.fault === "restore") gps.restore();
      else if (body.fault === "spoofing") gps.inject({ kind: "spoofing", offsetMs: body.offsetMs ?? 0, untilMs: until });
      else gps.inject({ kind: body.fault, untilMs: until });
      return this.sample();
    });
    app.post("/drills/inflate", operator, async (req) => {
      const body = parseInput(inflateDrill, req.body, "body");
      this.ensemble.inflate(body.epsilonMs, this.clock.now() + body.durationSeconds * 1000);
      return this.sample();
    });
  }
}

const gpsDrill = z
  .object({
    fault: z.enum(["outage", "jamming", "spoofing", "restore"]),
    durationSeconds: z.number().positive().optional(),
    offsetMs: z.number().finite().optional(),
    receiver: z.string().optional(),
  })
  .strict()
  .refine((b) => b.fault !== "spoofing" || b.offsetMs !== undefined, { message: "spoofing needs offsetMs", path: ["offsetMs"] });
const inflateDrill = z.object({ epsilonMs: z.number().positive(), durationSeconds: z.number().positive() }).strict();
