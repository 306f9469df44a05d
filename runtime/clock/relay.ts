/**
 * The grandmaster as a relay that votes (§12.2.1 ensemble voting, §12.2.2 multi-source validation): rather
 * than serve its own clock, it polls independent NTP references — the cloud's PHC-backed time service, NTS
 * servers, GPS appliances — and serves only the time a majority of them agree on. Each reference's reply is
 * an interval around our clock, [offset − bound, offset + bound]; Marzullo's algorithm (sources/marzullo.ts,
 * the ensemble's own) finds the smallest interval shared by the most references. References that miss it are
 * falsetickers and have no say. With more than half of the *configured* references in it (an unreachable one
 * counts against agreement), the relay serves its clock + the interval's midpoint with ε = half its width +
 * drift since the poll, at stratum best-truechimer + 1; otherwise it answers leap 3 / stratum 16, so no client
 * follows it. Invariant: with a majority of truechimers, the served offset is within twice the widest
 * truechimer bound of the truth (the winning interval lies inside some truechimer's interval).
 *
 * Leap seconds: each reference's leap indicator travels with its reading, and the relay announces an insertion
 * (LI 1) or deletion (LI 2) only when more than half of the truechimers announce it — chrony's rule for its
 * selectable sources — so one reference cannot schedule a leap second the others do not know of. An
 * unsynchronised reference (LI 3 or stratum 0/16) is refused by the client (ntp/client.ts) and counts as
 * unreachable: it has no say in the time or the leap.
 *
 * The relay polls plain NTP (port 123, unauthenticated): NTS (RFC 8915) is chrony's job on the nodes, whose
 * direct associations with the same servers are authenticated. A relay reference forged on the path is one
 * falseticker for the vote to outvote, and chrony on the nodes never follows the relay against its
 * authenticated upstreams (it is one source among them).
 */
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { Clock } from "../common/clock.js";
import { TimeMetrics } from "./metrics.js";
import { ntpQuery } from "./ntp/client.js";
import { NtpServer } from "./ntp/server.js";
import type { ServerState } from "./ntp/packet.js";
import { marzullo } from "./sources/marzullo.js";

/** A reference's answer (its leap indicator: 0 none, 1 insert, 2 delete), or why it gave none. */
export type ReferenceReading = { name: string; offsetMs: number; errorBoundMs: number; stratum: number; leap?: 0 | 1 | 2 } | { name: string; error: string };

export interface RelayVote {
  synchronized: boolean;
  /** Reference time − our clock (ms): what the relay adds to its clock. */
  offsetMs: number;
  epsilonMs: number;
  stratum: number;
  /** The leap indicator served: 1 or 2 when more than half of the truechimers announce it, else 0. */
  leap: 0 | 1 | 2;
  truechimers: string[];
  falsetickers: string[];
  unreachable: { name: string; error: string }[];
  /** Our clock when the readings were taken. */
  atMs: number;
}

/** The vote over one round of readings (pure). */
export function vote(readings: readonly ReferenceReading[], atMs: number): RelayVote {
  const answered = readings.filter((r): r is Extract<ReferenceReading, { offsetMs: number }> => "offsetMs" in r);
  const unreachable = readings.filter((r): r is Extract<ReferenceReading, { error: string }> => "error" in r);
  const agreement = marzullo(answered.map((r) => [r.offsetMs - r.errorBoundMs, r.offsetMs + r.errorBoundMs] as const));
  const none = { synchronized: false, offsetMs: 0, epsilonMs: Number.POSITIVE_INFINITY, stratum: 16, leap: 0 as const, truechimers: [], unreachable, atMs };
  if (agreement === null) return { ...none, falsetickers: [] };
  const falsetickers = agreement.falsetickers.map((i) => answered[i]!.name);
  const chimers = answered.filter((_, i) => !agreement.falsetickers.includes(i));
  if (agreement.count * 2 <= readings.length) return { ...none, falsetickers };
  return {
    synchronized: true,
    offsetMs: (agreement.low + agreement.high) / 2,
    epsilonMs: (agreement.high - agreement.low) / 2,
    stratum: Math.min(15, Math.min(...chimers.map((r) => r.stratum)) + 1),
    leap: majorityLeap(chimers.map((r) => r.leap ?? 0)),
    truechimers: chimers.map((r) => r.name),
    falsetickers,
    unreachable,
    atMs,
  };
}

/** A leap second announced by more than half of the truechimers (chrony's vote over its selectable sources). */
function majorityLeap(leaps: readonly (0 | 1 | 2)[]): 0 | 1 | 2 {
  for (const leap of [1, 2] as const) if (leaps.filter((l) => l === leap).length * 2 > leaps.length) return leap;
  return 0;
}

export interface RelayReference {
  name: string;
  host: string;
  port: number;
}

export interface RelayOptions {
  references: RelayReference[];
  clock: Clock;
  /** Between polls of every reference (default 16 s, chrony's minpoll 4). */
  pollMs?: number;
  timeoutMs?: number;
  /** Our oscillator's worst drift between polls (ppm), added to ε as the vote ages. */
  driftPpm?: number;
  registry?: Registry;
}

export class GrandmasterRelay {
  readonly metrics: TimeMetrics;
  readonly ntp: NtpServer;
  private last: RelayVote;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(private readonly o: RelayOptions) {
    if (o.references.length === 0) throw new RangeError("a relay needs at least one reference");
    this.metrics = new TimeMetrics(o.registry);
    this.last = vote(
      o.references.map((r) => ({ name: r.name, error: "not polled yet" })),
      o.clock.now(),
    );
    this.ntp = new NtpServer({ now: () => this.now(), state: () => (this.metrics.ntpReplies.inc(), this.state()) });
  }

  get current(): RelayVote {
    return this.last;
  }

  /** Ask every reference once (in parallel) and vote. */
  async poll(): Promise<RelayVote> {
    const atMs = this.o.clock.now();
    const readings = await Promise.all(
      this.o.references.map(async (r): Promise<ReferenceReading> => {
        try {
          const m = await ntpQuery(r.host, r.port, { clock: this.o.clock, timeoutMs: this.o.timeoutMs ?? 1000 });
          // ntpQuery refuses leap 3, so a reading's leap is 0, 1 or 2.
          return { name: r.name, offsetMs: m.offsetMs, errorBoundMs: m.errorBoundMs, stratum: m.stratum, leap: m.leap as 0 | 1 | 2 };
        } catch (e) {
          return { name: r.name, error: (e as Error).message };
        }
      }),
    );
    this.last = vote(readings, atMs);
    this.metrics.ensemble({ epsilonMs: this.epsilonMs(), falsetickers: this.last.falsetickers, holdover: false, synchronized: this.last.synchronized });
    return this.last;
  }

  /** Poll every `pollMs`; while no majority agrees, every second at most (so a relay started before its references catches up). */
  start(): void {
    const pollMs = this.o.pollMs ?? 16_000;
    const next = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.poll().then(next), this.last.synchronized ? pollMs : Math.min(pollMs, 1000));
      this.timer.unref();
    };
    this.stopped = false;
    next();
  }

  /** The served time: our clock corrected by the vote. */
  now(): number {
    return this.o.clock.now() + this.last.offsetMs;
  }

  private epsilonMs(): number {
    return this.last.epsilonMs + ((this.o.driftPpm ?? 200) * Math.max(0, this.o.clock.now() - this.last.atMs)) / 1e6;
  }

  state(): ServerState {
    const v = this.last;
    return {
      leap: v.leap,
      synchronized: v.synchronized,
      // Not a primary reference: the time of a vote among relayed servers.
      referenceId: "VOTE",
      referenceMs: v.atMs + v.offsetMs,
      rootDispersionS: v.synchronized ? this.epsilonMs() / 1000 : 16,
      precision: -20,
      stratum: v.stratum,
    };
  }

  async listen(port: number, host = "127.0.0.1"): Promise<number> {
    return this.ntp.listen(port, host);
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ntp.close();
  }

  /** GET /status: the last vote, each reference's part in it, and NTP counters. */
  adminRoutes(app: FastifyInstance): void {
    app.get("/status", { config: { auth: "public" } }, async () => ({ mode: "relay", ...this.last, epsilonMs: this.last.synchronized ? this.epsilonMs() : null, ntp: this.ntp.stats }));
  }
}
