/**
 * Grandmaster scenarios: a YAML/JSON script of faults injected into the simulated ensemble at offsets
 * from the start, so a drill replays the same way every time.
 *
 *   smear: false
 *   leap: { at: "2026-12-31T24:00:00Z", kind: insert }
 *   events:
 *     - { atSeconds: 30, gps: outage, durationSeconds: 600 }
 *     - { atSeconds: 60, gps: spoofing, offsetMs: 2, durationSeconds: 120 }
 *     - { atSeconds: 90, inflateMs: 5, durationSeconds: 60 }
 *     - { atSeconds: 700, gps: restore }
 *
 * Parsing names every problem (path and expectation); applying is pure: `due(nowMs)` fires each event
 * exactly once, in order, when its time has come.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { Ensemble } from "./sources/ensemble.js";
import type { LeapSecond } from "./sources/leap.js";

const seconds = z.number().finite().nonnegative();
const gpsEvent = z
  .object({
    atSeconds: seconds,
    gps: z.enum(["outage", "jamming", "spoofing", "restore"]),
    durationSeconds: seconds.optional(),
    offsetMs: z.number().finite().optional(),
    receiver: z.string().optional(),
  })
  .strict()
  .refine((e) => e.gps !== "spoofing" || e.offsetMs !== undefined, { message: "a spoofing event needs offsetMs", path: ["offsetMs"] });
const inflateEvent = z.object({ atSeconds: seconds, inflateMs: z.number().finite().positive(), durationSeconds: seconds }).strict();

export const scenarioSchema = z
  .object({
    smear: z.boolean().optional(),
    leap: z
      .object({
        at: z.iso.datetime({ offset: true }).or(z.string().regex(/T24:00:00Z$/, "expected an ISO date-time such as 2026-12-31T24:00:00Z")),
        kind: z.enum(["insert", "delete"]),
      })
      .strict()
      .optional(),
    events: z.array(z.union([gpsEvent, inflateEvent])).default([]),
  })
  .strict();

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioEvent = Scenario["events"][number];

export class ScenarioError extends Error {
  override name = "ScenarioError";
}

/** Parse scenario text (YAML or JSON); `source` names the file in errors. */
export function parseScenario(text: string, source: string): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ScenarioError(`${source}: not valid YAML: ${(e as Error).message}`);
  }
  const result = scenarioSchema.safeParse(raw ?? {});
  if (!result.success) {
    const detail = result.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`).join("\n");
    throw new ScenarioError(`${source}: invalid scenario\n${detail}`);
  }
  return result.data;
}

/** "2026-12-31T24:00:00Z" (the leap-second convention) is midnight starting the next day. */
export function leapOf(scenario: Scenario): LeapSecond | null {
  const leap = scenario.leap;
  if (leap === undefined) return null;
  const text = leap.at.replace(/T24:00:00Z$/, "T00:00:00Z");
  const ms = Date.parse(text) + (leap.at.endsWith("T24:00:00Z") ? 86_400_000 : 0);
  return { atMs: ms, kind: leap.kind };
}

export class ScenarioRunner {
  private next = 0;
  private readonly events: ScenarioEvent[];

  constructor(
    private readonly ensemble: Ensemble,
    scenario: Scenario,
    private readonly startMs: number,
  ) {
    this.events = [...scenario.events].sort((a, b) => a.atSeconds - b.atSeconds);
  }

  /** Apply every event due by `nowMs` (true time); returns the ones applied. */
  due(nowMs: number): ScenarioEvent[] {
    const fired: ScenarioEvent[] = [];
    while (this.next < this.events.length && this.startMs + this.events[this.next]!.atSeconds * 1000 <= nowMs) {
      const e = this.events[this.next++]!;
      const at = this.startMs + e.atSeconds * 1000;
      const until = at + (e.durationSeconds ?? Number.POSITIVE_INFINITY) * 1000;
      if ("inflateMs" in e) this.ensemble.inflate(e.inflateMs, until);
      else {
        const gps = this.ensemble.gps(e.receiver);
        if (e.gps === "restore") gps.restore();
        else if (e.gps === "spoofing") gps.inject({ kind: "spoofing", offsetMs: e.offsetMs!, untilMs: until });
        else gps.inject({ kind: e.gps, untilMs: until });
      }
      fired.push(e);
    }
    return fired;
  }

  get pending(): number {
    return this.events.length - this.next;
  }
}
