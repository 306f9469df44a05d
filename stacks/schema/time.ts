/**
 * Time fabric: clock sources per cloud, PTP, the simulated grandmaster, and the HLC max offset that the
 * runtime enforces. The time issue (§12) owns the details.
 */
import { z } from "zod";
import { positive } from "./common.js";

export const timeSchema = z
  .object({
    /** CockroachDB "max offset": remote HLC timestamps further ahead are rejected. */
    maxOffsetMs: positive.default(500),
    ptp: z.boolean().default(false),
    grandmaster: z
      .object({ enabled: z.boolean().default(true), source: z.enum(["gps", "rubidium", "cesium"]).default("gps") })
      .strict()
      .prefault({}),
    leapSmear: z.boolean().default(false),
  })
  .strict();

export type TimeConfig = z.output<typeof timeSchema>;
