/**
 * The region's clock as the local estate shows it: the region's simulated time and its offset from the
 * machine clock (the skew a drill injects).
 */
import type { RegionService } from "../region-service.js";

export const clockService: RegionService = {
  name: "clock",
  async start(app, ctx) {
    app.get("/now", async () => ({ region: ctx.region.id, nowMs: ctx.clock.now(), offsetMs: ctx.clock.now() - Date.now() }));
    return {
      healthy: () => true,
      state: () => ({ nowMs: ctx.clock.now(), offsetMs: ctx.clock.now() - Date.now() }),
      stop: async () => {},
    };
  },
};
