/**
 * The region clock service (`meridian time serve`), defined with the service kit: a ClockNode (HLC,
 * TrueTime, skew state machine) on the given clock, measured against the region's grandmaster over NTP
 * when one is named, with the HLC header hooks and GET /v1/time, /v1/time/skew. Ready while the
 * strong-consistency path is open: a frozen or recovering clock takes the pod out of the Service.
 *
 * Config (the ConfigMap's clock.json, model/workloads clockRegionConfig): region, maxOffsetMs, the
 * skew thresholds and the reference: the region's `grandmaster` (host:port, one NTP exchange per poll),
 * the node's `chrony` command port (host:port; ClockBound-style status from chrony's tracking, which
 * covers every source chrony votes among), or the node time `agent` serving that tracking to pods (as
 * deployed, agent.ts); flags of the same names override it.
 *
 * HLC lifecycle (CockroachDB's): with `dataDir` the HLC's wall-time upper bound is persisted there ahead
 * of use (every `upperBoundIntervalMs`, and before any timestamp beyond it); start-up waits until the
 * clock passes the last bound, or max offset without one, before anything is served — so timestamps after
 * a restart (kill -9 included) are above every timestamp before it. `forwardJumpCheck` turns on
 * CockroachDB's forward-jump monitor: a ticker reads the clock every quarter of the tolerated jump, and a
 * jump takes the node out of service (not ready, strong path refused) until it is restarted.
 *
 * Clock domain gateway (runtime/clock/gateway.ts): POST /v1/time/translate maps physical and legacy
 * timestamps into HLC with their uncertainty (refusing them beyond max offset or ±`maxUncertaintyMs`) and
 * renders HLC for legacy clients; every request may carry `x-meridian-time` instead of an HLC. The HLC reset
 * protocol (runtime/clock/epoch.ts): POST /v1/time/reset (operator) steps an HLC that leads physical time
 * by at least `resetMinLeadMs` back to it and begins a new epoch, persisted with the upper bound in
 * `dataDir`; every response names the epoch, and older-epoch timestamps and tokens are answered `hlc reset`.
 */
import { z } from "zod";
import { defineService } from "../kit/index.js";
import { clockRoutes, DEFAULT_MAX_UNCERTAINTY_MS, hlcParts, resetRoute } from "./http.js";
import { DirectoryLockedError, lockDirectory, type DirectoryLock } from "../common/dir-lock.js";
import { hlcRequireEpochFromEnv } from "./env.js";
import { DATA_DIR_LOCK } from "./epoch.js";
import { TimeMetrics } from "./metrics.js";
import { ClockNode } from "./node.js";
import { hostPort, referenceSync } from "./reference.js";
import { microsFromMs } from "./timestamp.js";
import { FileUpperBound, startupWait, waitPast, type PersistedBound } from "./upper-bound.js";

export const clockConfigSchema = z
  .object({
    region: z.string().regex(/^[a-z][a-z0-9-]*$/, "expected a region id (lower-case slug)"),
    maxOffsetMs: z.number().positive().max(60_000),
    degradeFraction: z.number().gt(0).lt(1).optional(),
    freezeFraction: z.number().gt(0).max(1).optional(),
    recoveryHoldSeconds: z.number().nonnegative().optional(),
    driftPpm: z.number().nonnegative().max(1000).optional(),
    /** The region's leap-second policy: accepted so the rendered ConfigMap validates; chrony applies it, not this service. */
    leapSmear: z.boolean().optional(),
    grandmaster: hostPort.optional(),
    /** chronyd's command port (`chronyc -h HOST -p PORT`): measure with chrony's tracking instead of one NTP exchange. */
    chrony: hostPort.optional(),
    /** The node time agent (GET /v1/tracking, agent.ts): chrony's tracking as deployed pods read it. */
    agent: hostPort.optional(),
    syncIntervalMs: z.number().int().min(100).max(3_600_000).default(16_000),
    /** Directory for the HLC's persisted wall-time upper bound (a volume that outlives the process). */
    dataDir: z.string().min(1).optional(),
    /** How far ahead the upper bound is persisted, and so the longest start-up wait with a state file. */
    upperBoundIntervalMs: z.number().int().min(10).max(60_000).default(500),
    /** CockroachDB's forward-jump monitor (`server.clock.forward_jump_check_enabled`). */
    forwardJumpCheck: z.boolean().default(false),
    /** Forward jumps at least this large are fatal while checking; default maxOffsetMs / 2. */
    toleratedForwardJumpMs: z.number().positive().max(60_000).optional(),
    /** TrueTime ε beyond this makes the node not ready and refuses strong operations; default maxOffsetMs × freezeFraction. */
    maxEpsilonMs: z.number().positive().max(3_600_000).optional(),
    /** Clock domain gateway: the widest ± uncertainty a physical or legacy timestamp may carry to be mapped into HLC. */
    maxUncertaintyMs: z.number().positive().max(86_400_000).default(DEFAULT_MAX_UNCERTAINTY_MS),
    /** HLC reset protocol: the smallest lead over physical time a reset may undo; default maxOffsetMs. */
    resetMinLeadMs: z.number().positive().max(86_400_000).optional(),
    /** Refuse HLC timestamps that name no epoch (default: MERIDIAN_HLC_REQUIRE_EPOCH, else accept them). */
    requireEpoch: z.boolean().optional(),
  })
  .strict()
  .refine((c) => (c.degradeFraction ?? 0.5) < (c.freezeFraction ?? 0.8), { message: "degradeFraction must be below freezeFraction", path: ["degradeFraction"] })
  .refine((c) => c.grandmaster === undefined || c.chrony === undefined, { message: "set grandmaster or chrony, not both: chrony already follows the grandmaster", path: ["chrony"] })
  .refine((c) => c.agent === undefined || (c.grandmaster === undefined && c.chrony === undefined), { message: "set agent alone: the agent reads the node's chrony", path: ["agent"] });

export const clockService = defineService({
  name: "clock",
  config: clockConfigSchema,
  async start({ config, clock, metrics, log }) {
    const store = config.dataDir === undefined ? null : new FileUpperBound(config.dataDir);
    // One process per dataDir: a second service, or `meridian time reset`, would overwrite its epoch and bound.
    let lock: DirectoryLock | null;
    try {
      lock = store === null ? null : lockDirectory(store.dir, DATA_DIR_LOCK, "another clock service");
    } catch (e) {
      if (e instanceof DirectoryLockedError) throw new Error(`refusing to start: ${e.message}`, { cause: e });
      throw e;
    }
    try {
      const state: PersistedBound = store?.read() ?? { kind: "none" };
      const startedAt = clock.now();
      const wait = startupWait(state, microsFromMs(startedAt), config.maxOffsetMs, config.upperBoundIntervalMs, store?.path ?? "(no dataDir)");
      let jumped = false;
      const timeMetrics = new TimeMetrics(metrics);
      const node = new ClockNode({
        clock,
        maxOffsetMs: config.maxOffsetMs,
        requireEpoch: config.requireEpoch ?? hlcRequireEpochFromEnv(),
        driftPpm: config.driftPpm,
        metrics: timeMetrics,
        // ε past the freeze threshold: the offset could be as large as the skew monitor freezes on.
        maxEpsilonMs: config.maxEpsilonMs ?? config.maxOffsetMs * (config.freezeFraction ?? 0.8),
        hlc: {
          forwardJumpCheck: config.forwardJumpCheck,
          monotonic: () => performance.now(),
          toleratedForwardJumpMs: config.toleratedForwardJumpMs,
          // CockroachDB exits here; a service keeps answering (health, metrics) but leaves the Service.
          onFatal: (e) => {
            if (!jumped) log.error({ err: e }, "forward clock jump: out of service until restarted");
            jumped = true;
            node.failStrong(`forward clock jump of ${(e.jumpMicros / 1000).toFixed(0)} ms (tolerance ${e.toleratedMicros / 1000} ms): restart once the clock is right`);
          },
          upperBound: store === null ? undefined : { store, leadMs: config.upperBoundIntervalMs },
        },
        skew: {
          degradeFraction: config.degradeFraction,
          freezeFraction: config.freezeFraction,
          recoveryHoldMs: config.recoveryHoldSeconds === undefined ? undefined : config.recoveryHoldSeconds * 1000,
        },
      });
      // The epoch the last run ended in (written with the bound): clients are told it from the first response.
      node.setEpoch(state.kind === "bound" && state.epoch ? state.epoch : node.epoch);
      // Nothing is served before the clock has passed every timestamp a previous run may have issued.
      await waitPast(clock, wait.untilMicros);
      const waitedMs = clock.now() - startedAt;
      timeMetrics.startupWaited(waitedMs);
      node.hlc.refreshUpperBound();
      const sync = referenceSync(node, config, clock, (err) => log.warn({ err }, "time reference unreachable"));
      const timers: NodeJS.Timeout[] = [];
      const every = (ms: number, fn: () => void) => timers.push(setInterval(fn, ms).unref());
      return {
        node,
        startup: { ...wait, waitedMs },
        routes: (app) => {
          clockRoutes(app, node, { maxUncertaintyMs: config.maxUncertaintyMs });
          resetRoute(app, node, {
            store,
            clock,
            minLeadMs: config.resetMinLeadMs ?? config.maxOffsetMs,
            referenced: config.grandmaster !== undefined || config.chrony !== undefined || config.agent !== undefined,
            onReset: (r) => log.warn({ epoch: r.epoch, reason: r.reason, steppedBackMs: (r.fromWallMicros - r.toWallMicros) / 1000 }, "HLC reset: new epoch"),
          });
        },
        ...hlcParts(node, { maxUncertaintyMs: config.maxUncertaintyMs }),
        // Not ready while strong operations would be refused: frozen skew, ε beyond its bound, a clock jump.
        ready: { clock: () => node.strongRefusal() ?? true },
        started: () => {
          log.info({ waitedMs: Math.round(waitedMs), reason: wait.reason, upperBound: store?.path ?? null }, "HLC start-up wait over");
          const refresh = () => {
            try {
              node.hlc.refreshUpperBound();
            } catch (e) {
              // now() persists before issuing beyond the bound, so a failed refresh only moves the write there.
              log.error({ err: e }, "persisting the HLC upper bound failed");
            }
          };
          if (store !== null) every(Math.max(5, config.upperBoundIntervalMs / 2), refresh);
          if (config.forwardJumpCheck) every(Math.max(5, node.hlc.toleratedForwardJumpMicros / 4000), () => node.hlc.tick());
          sync?.start();
        },
        close: async () => {
          sync?.stop();
          for (const t of timers) clearInterval(t);
          lock?.release();
        },
      };
    } catch (e) {
      lock?.release();
      throw e;
    }
  },
});
