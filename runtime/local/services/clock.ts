/**
 * The region's clock service in the local estate: a ClockNode (HLC, TrueTime, skew state machine) over
 * the region's own skewed clock, kept measured against the estate's grandmaster over NTP. Its health
 * signal is the strong-consistency path: a frozen or recovering clock marks the region degraded.
 */
import { ClockNode } from "../../clock/node.js";
import { clockRoutes, installHlc } from "../../clock/http.js";
import { NtpSync } from "../../clock/sync.js";
import { format } from "../../clock/timestamp.js";
import type { RegionService } from "../region-service.js";

export const clockService: RegionService = {
  name: "clock",
  async start(app, ctx) {
    const t = ctx.spec.time;
    const node = new ClockNode({
      clock: ctx.clock,
      maxOffsetMs: t.maxOffsetMs,
      skew: { degradeFraction: t.skew.degradeFraction, freezeFraction: t.skew.freezeFraction, recoveryHoldMs: t.skew.recoveryHoldSeconds * 1000 },
    });
    installHlc(app, node);
    clockRoutes(app, node);
    // Poll often: the local estate's drills want to see a skew within a second, not NTP's usual 16 s.
    const sync = ctx.grandmaster ? new NtpSync(node, { host: ctx.grandmaster.host, port: ctx.grandmaster.port, clock: ctx.clock, intervalMs: 500, timeoutMs: 400 }) : null;
    sync?.start();
    return {
      healthy: () => node.skew.allowsStrong(),
      state: () => {
        const s = node.status();
        return { hlc: format(s.hlc), offsetMs: s.skew.offsetMs, epsilonMs: s.epsilonMs, skew: s.skew.state, strong: s.skew.allowsStrong };
      },
      stop: async () => sync?.stop(),
    };
  },
};
