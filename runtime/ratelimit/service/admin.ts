/**
 * The admin API, for operators only (the kit's `operator` rule: a configured SPIFFE ID over mTLS, or a
 * JWT with the operator scope — never a header a client can set). A counter is named the way a client
 * names it, by domain and descriptor entries, and resolved through the running config:
 *   POST /v1/ratelimit/admin/inspect   {domain, entries}            each level: limit, remaining, reset, blocks
 *   POST /v1/ratelimit/admin/reset     {domain, entries}            forget the counters' state (and local cache)
 *   POST /v1/ratelimit/admin/block     {domain, entries, seconds}   OVER_LIMIT on every replica until then
 *   POST /v1/ratelimit/admin/unblock   {domain, entries}
 *   GET  /v1/ratelimit/admin/blocks                                 every live block
 * A descriptor no rule limits answers 404 naming it; an unreachable store 503.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { HttpError, parseInput } from "../../kit/index.js";
import type { Clock } from "../../common/clock.js";
import { planRequest, type DescriptorPlan } from "./plan.js";
import type { BlockList } from "./blocks.js";
import type { RateLimitService } from "./rls.js";

const target = z
  .object({
    domain: z.string().min(1),
    entries: z
      .array(z.object({ key: z.string().min(1), value: z.string() }).strict())
      .min(1)
      .max(64),
  })
  .strict();
const blockBody = target
  .extend({
    seconds: z
      .number()
      .positive()
      .max(366 * 86_400),
  })
  .strict();
const operator = { config: { auth: "operator" as const } };

export function installAdminRoutes(app: FastifyInstance, service: RateLimitService, blocks: BlockList, clock: Clock): void {
  const limited = (t: z.output<typeof target>): Extract<DescriptorPlan, { kind: "limited" }> => {
    const [plan] = planRequest({ domain: t.domain, descriptors: [{ entries: t.entries }] }, service.domain(t.domain));
    const what = `${t.domain}: ${t.entries.map((e) => `${e.key}=${e.value}`).join(", ")}`;
    if (!plan || plan.kind === "none") throw new HttpError(404, "no limit", `no rule limits ${what}`);
    if (plan.kind === "unlimited") throw new HttpError(404, "no limit", `${what} is unlimited`);
    return plan;
  };
  const storeCall = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw new HttpError(503, "store unavailable", (err as Error).message);
    }
  };

  app.post("/v1/ratelimit/admin/inspect", operator, async (req) => {
    const t = parseInput(target, req.body, "body");
    const plan = limited(t);
    const now = clock.now();
    const levels = [];
    for (const lv of plan.levels) {
      const d = lv.counter ? await storeCall(() => service.store.peek(lv.counter!, now)) : null;
      levels.push({
        id: lv.id,
        policy: lv.rule.name || lv.rule.fullKey,
        limit: { requests_per_unit: lv.rule.requestsPerUnit, unit: lv.rule.unit, unit_multiplier: lv.rule.unitMultiplier, algorithm: lv.counter?.limit.algorithm ?? null },
        shadow: lv.rule.shadow,
        remaining: d ? d.remaining : 0,
        reset_ms: d ? d.resetAfterMs : null,
        blocked_until: blocks.isBlocked(lv.id, now) ? new Date(blocks.untilOf(lv.id)!).toISOString() : null,
        over_limit_cached: service.localCache?.isOver(lv.id, now, 1) ?? false,
      });
    }
    return { domain: t.domain, stats_key: plan.statsKey, levels };
  });

  app.post("/v1/ratelimit/admin/reset", operator, async (req) => {
    const plan = limited(parseInput(target, req.body, "body"));
    const reset: string[] = [];
    for (const lv of plan.levels) {
      service.localCache?.delete(lv.id);
      if (lv.counter && (await storeCall(() => service.store.reset(lv.counter!)))) reset.push(lv.id);
    }
    req.log.info({ operator: req.identity, counters: plan.levels.map((l) => l.id) }, "counters reset");
    return { reset };
  });

  app.post("/v1/ratelimit/admin/block", operator, async (req) => {
    const b = parseInput(blockBody, req.body, "body");
    const plan = limited(b);
    const until = clock.now() + b.seconds * 1000;
    const id = plan.levels[0]!.id;
    await storeCall(() => blocks.block(id, until));
    req.log.warn({ operator: req.identity, counter: id, until }, "counter blocked");
    return { blocked: id, until: new Date(until).toISOString() };
  });

  app.post("/v1/ratelimit/admin/unblock", operator, async (req) => {
    const plan = limited(parseInput(target, req.body, "body"));
    const id = plan.levels[0]!.id;
    const had = await storeCall(() => blocks.unblock(id));
    if (!had) throw new HttpError(404, "not blocked", `${id} is not blocked`);
    req.log.info({ operator: req.identity, counter: id }, "counter unblocked");
    return { unblocked: id };
  });

  app.get("/v1/ratelimit/admin/blocks", operator, () => ({ blocks: blocks.list().map((b) => ({ id: b.id, until: new Date(b.untilMs).toISOString() })) }));
}
