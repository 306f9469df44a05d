/**
 * The rate limit service's logic, transport-free: envoyproxy/ratelimit's answers (per-descriptor
 * statuses, `replaces`, `unlimited`, shadow and quota mode, per-descriptor hits_addend, overrides on any
 * descriptor of a known domain, a global shadow mode, response dynamic metadata) over exact shared
 * counters. Each descriptor's counter is named by its own entries; its levels (hierarchical rules) are
 * one atomic check; `chargePolicy` says whether an OVER_LIMIT request keeps the charges of the
 * descriptors that passed (`independent`, envoyproxy/ratelimit's default) or charges nothing (`atomic`).
 *
 * Some levels are decided without the store: a limit of 0 (always over), a counter the local cache
 * knows is exhausted or an operator blocked, and `global` limits (from this region's lease, given back
 * when the request's charge is not kept).
 */
import type { Clock } from "../../common/clock.js";
import type { CompiledDomain } from "../config/compile.js";
import type { Decision } from "../core/limit.js";
import type { ChargePolicy, Check, CheckResult } from "../core/request.js";
import { syncDecisions, type RateLimitStore, type SyncDecisions } from "../store/port.js";
import type { BlockList } from "./blocks.js";
import type { GlobalLimitSource } from "./global-budgets.js";
import { OverLimitCache } from "./local-cache.js";
import { hitsOf, PlanCache, type DescriptorPlan, type LimitedPlan, type PlannedLevel } from "./plan.js";
import { countOutcome, NO_STATS, type StatsSink } from "./stats.js";
import { checkRequest, MAX_UINT32, type DescriptorStatus, type PolicyState, type RlsRequest, type RlsResponse } from "./types.js";

export interface RlsOptions {
  chargePolicy?: ChargePolicy;
  /** Most descriptors per request (default 256). */
  maxDescriptors?: number;
  /** near_limit threshold as a fraction of the limit (default 0.8). */
  nearLimitRatio?: number;
  /** Answer OK whatever the limits say, counting what would have been rejected (envoyproxy/ratelimit SHADOW_MODE). */
  globalShadowMode?: boolean;
  /** Fill `dynamicMetadata` (envoyproxy/ratelimit RESPONSE_DYNAMIC_METADATA). */
  responseDynamicMetadata?: boolean;
  stats?: StatsSink;
  /** The over-limit cache; null disables it. */
  localCache?: OverLimitCache | null;
  globals?: GlobalLimitSource;
  /** Operator blocks (shared through the store, mirrored here). */
  blocks?: BlockList;
  /** Burn-rate shedding (shedding.ts): a shed request is OVER_LIMIT before any counter is charged. */
  shedder?: { shouldShed(req: RlsRequest, now: number): boolean };
  /** AIMD throttling (aimd-throttle.ts): a throttled request is OVER_LIMIT before any counter is charged. */
  aimd?: { shouldShed(req: RlsRequest, now: number): boolean };
}

interface Work {
  plan: LimitedPlan;
  index: number;
  hits: number;
  decisions: (Decision | undefined)[];
  storeLevels: number[];
  /** Levels answered by the local over-limit cache (null: none). */
  cached: Set<number> | null;
  preRejected: boolean;
  globalsTaken: PlannedLevel[];
  /** Index of this descriptor's check in the store call, or −1. */
  storeIndex: number;
  allowed: boolean;
  charged: boolean;
}

const enforced = (lv: PlannedLevel) => !lv.rule.shadow;

/** requestAllowed over the work's descriptors (quota-mode rule), for whichever answer `ok` reads. */
function allowedOverall(work: readonly Work[], ok: (w: Work) => boolean): boolean {
  let quota = 0;
  let quotaRejected = 0;
  for (const w of work) {
    const pass = ok(w);
    if (w.plan.rule.quota) {
      quota++;
      if (!pass) quotaRejected++;
    } else if (!pass) return false;
  }
  return quota === 0 || quotaRejected < quota;
}
const notPreRejected = (w: Work) => !w.preRejected;
const isAllowed = (w: Work) => w.allowed;

export class RateLimitService {
  private domains = new Map<string, CompiledDomain>();
  readonly localCache: OverLimitCache | null;
  readonly policy: ChargePolicy;
  private readonly stats: StatsSink;
  /**
   * The store's synchronous call when it has one (memory): requests are then decided in the caller's turn,
   * its answers read before the store is called again (they may be its reused records).
   */
  private readonly syncStore: SyncDecisions | null;
  private readonly plans = new PlanCache();

  constructor(
    domains: Map<string, CompiledDomain>,
    readonly store: RateLimitStore,
    private readonly clock: Clock,
    private readonly o: RlsOptions = {},
  ) {
    this.reload(domains);
    this.localCache = o.localCache === undefined ? new OverLimitCache() : o.localCache;
    this.policy = o.chargePolicy ?? "independent";
    this.stats = o.stats ?? NO_STATS;
    this.syncStore = syncDecisions(store);
  }

  reload(domains: Map<string, CompiledDomain>): void {
    this.domains = domains;
    this.plans.clear();
  }

  get domainNames(): string[] {
    return [...this.domains.keys()];
  }

  domain(name: string): CompiledDomain | undefined {
    return this.domains.get(name);
  }

  close(): void {
    this.o.globals?.close();
  }

  /** decide(req), always as a promise. */
  async shouldRateLimit(req: RlsRequest): Promise<RlsResponse> {
    return this.decide(req);
  }

  /**
   * Decide one request. The answer comes in this turn when the store decides synchronously (memory) and
   * no global lease is involved — no promise, no await; a promise only when the service must wait for a
   * remote store or a lease. Throws (or rejects) BadRequestError for a malformed request.
   */
  decide(req: RlsRequest): RlsResponse | Promise<RlsResponse> {
    checkRequest(req, this.o.maxDescriptors ?? 256);
    const plans = this.plans.plan(req, this.domains.get(req.domain));
    const now = this.clock.now();
    if (this.o.shedder?.shouldShed(req, now) || this.o.aimd?.shouldShed(req, now))
      return {
        overallCode: "OVER_LIMIT",
        statuses: req.descriptors.map(() => ({ code: "OVER_LIMIT" as const, currentLimit: null, limitRemaining: 0, durationUntilResetMs: null, policies: [] })),
        retryAfterMs: 1000,
        dynamicMetadata: null,
      };
    const work: Work[] = [];
    for (let index = 0; index < plans.length; index++) {
      const plan = plans[index]!;
      if (plan.kind !== "limited") continue;
      const hits = hitsOf(req, index);
      const w: Work = { plan, index, hits, decisions: [], storeLevels: [], cached: null, preRejected: false, globalsTaken: [], storeIndex: -1, allowed: true, charged: false };
      for (let j = 0; j < plan.levels.length; j++) {
        const lv = plan.levels[j]!;
        if (this.o.blocks?.isBlocked(lv.id, now)) w.decisions[j] = overUntil(lv, this.o.blocks.untilOf(lv.id)!, now);
        else if (lv.counter === null) w.decisions[j] = zeroDecision(lv, now);
        else if (this.localCache?.isOver(lv.id, now, hits)) {
          w.decisions[j] = cachedDecision(lv, this.localCache, now);
          (w.cached ??= new Set()).add(j);
        } else w.storeLevels.push(j);
        const d = w.decisions[j];
        if (d && !d.allowed && enforced(lv)) w.preRejected = true;
      }
      work.push(w);
    }
    if (this.o.globals && work.some((w) => !w.preRejected && w.storeLevels.some((j) => w.plan.levels[j]!.rule.global)))
      return this.takeGlobals(work).then(() => this.decideStored(req, plans, work, now));
    return this.decideStored(req, plans, work, now);
  }

  /** The store's part: the checks of the levels nothing cheaper decided, in this turn when the store can. */
  private decideStored(req: RlsRequest, plans: DescriptorPlan[], work: Work[], now: number): RlsResponse | Promise<RlsResponse> {
    // Under the atomic policy, a request that is already OVER_LIMIT only peeks at the store.
    const doomed = this.policy === "atomic" && !allowedOverall(work, notPreRejected);
    const toStore: Work[] = [];
    const checks: Check[] = [];
    for (const w of work) {
      if (w.preRejected || w.storeLevels.length === 0) continue;
      w.storeIndex = toStore.length;
      toStore.push(w);
      const levels = w.storeLevels.length === w.plan.levels.length ? w.plan.checkLevels : w.storeLevels.map((j) => w.plan.levels[j]!.counter!);
      checks.push({ levels, cost: doomed ? 0 : w.hits, quota: w.plan.rule.quota });
    }
    if (checks.length === 0) return this.conclude(req, plans, work, toStore, [], doomed, now);
    if (this.syncStore) return this.conclude(req, plans, work, toStore, this.syncStore.decideChecksShared(checks, this.policy, now), doomed, now);
    return this.store.decide(checks, this.policy, now).then((results) => this.conclude(req, plans, work, toStore, results, doomed, now));
  }

  private conclude(req: RlsRequest, plans: DescriptorPlan[], work: Work[], toStore: Work[], results: readonly CheckResult[], doomed: boolean, now: number): RlsResponse {
    for (let i = 0; i < toStore.length; i++) {
      const w = toStore[i]!;
      const levels = results[i]!.levels;
      for (let k = 0; k < w.storeLevels.length; k++) w.decisions[w.storeLevels[k]!] = levels[k];
    }
    for (const w of work) {
      let allowed = true;
      for (let j = 0; j < w.plan.levels.length; j++) if (w.decisions[j]?.allowed === false && enforced(w.plan.levels[j]!)) allowed = false;
      w.allowed = allowed;
      w.charged = allowed && !doomed && (w.storeIndex === -1 ? true : results[w.storeIndex]!.charged);
    }
    if (this.policy === "atomic" && !allowedOverall(work, isAllowed)) for (const w of work) w.charged = false;
    if (this.o.globals) for (const w of work) if (!w.charged) for (const lv of w.globalsTaken) this.o.globals.refund(lv.id, w.hits);
    this.learnOverLimit(work, now);
    return this.respond(req, plans, work, now);
  }

  /** Global limits: take this request's hits from the region's lease (after cheaper rejections). */
  private async takeGlobals(work: Work[]): Promise<void> {
    // Without a lease source a global limit is an ordinary shared counter (exact across every replica
    // that shares the store).
    if (!this.o.globals) return;
    for (const w of work) {
      if (w.preRejected) continue;
      const keep: number[] = [];
      for (const j of w.storeLevels) {
        const lv = w.plan.levels[j]!;
        if (!lv.rule.global) {
          keep.push(j);
          continue;
        }
        const d = await this.o.globals.reserve(lv.id, lv.counter!.limit, w.hits);
        w.decisions[j] = d;
        if (d.allowed) w.globalsTaken.push(lv);
        else if (enforced(lv)) w.preRejected = true;
      }
      w.storeLevels = keep;
    }
  }

  /**
   * Remember counters that can admit nothing for a while, so the next requests skip the store. Under
   * `independent` a fixed window that rejected has counted the hits and is over for the rest of its
   * window (probes included); a merely full one must still see further hits, to count them. Other
   * algorithms (and `atomic`) never go over: a full counter rejects hits until its retry time.
   */
  private learnOverLimit(work: Work[], now: number): void {
    if (!this.localCache) return;
    for (const w of work)
      for (const j of w.storeLevels) {
        const d = w.decisions[j];
        const lv = w.plan.levels[j]!;
        if (!d || d.remaining > 0 || lv.rule.global || w.hits === 0) continue;
        const windowEnd = lv.windowMs - ((d.decidedAt ?? now) % lv.windowMs);
        if (lv.counter!.limit.algorithm === "fixed-window") {
          if (this.policy === "independent") {
            if (!d.allowed) this.localCache!.add(lv.id, now + windowEnd, true);
          } else this.localCache!.add(lv.id, now + (d.allowed ? d.resetAfterMs : d.retryAfterMs));
        } else if (!d.allowed && w.hits === 1 && d.retryAfterMs > 0) this.localCache!.add(lv.id, now + d.retryAfterMs);
      }
  }

  private respond(req: RlsRequest, plans: DescriptorPlan[], work: Work[], now: number): RlsResponse {
    const byIndex = new Array<Work | undefined>(plans.length);
    for (const w of work) byIndex[w.index] = w;
    let retryAfterMs = 0;
    const statuses = plans.map((plan, i): DescriptorStatus => {
      if (plan.kind === "none") return { code: "OK", currentLimit: null, limitRemaining: 0, durationUntilResetMs: null, policies: [] };
      if (plan.kind === "unlimited") return { code: "OK", currentLimit: null, limitRemaining: MAX_UINT32, durationUntilResetMs: null, policies: [] };
      const w = byIndex[i]!;
      let first = -1;
      let remaining = Infinity;
      const policies: PolicyState[] = [];
      for (let j = 0; j < plan.levels.length; j++) {
        const lv = plan.levels[j]!;
        // A level is undecided when a cheaper one already rejected the check (limit 0, local cache).
        const d = w.decisions[j];
        if (!d) continue;
        if (first === -1) first = j;
        remaining = Math.min(remaining, d.remaining);
        const name = lv.rule.name || (req.descriptors[i]!.limit ? `${req.domain}.override` : lv.rule.fullKey);
        policies.push({ name, quota: lv.rule.requestsPerUnit, windowMs: lv.windowMs, remaining: Math.max(0, Math.floor(d.remaining)), resetMs: resetOf(lv, d, now) });
        if (!d.allowed && enforced(lv)) retryAfterMs = retryAfterMs === -1 || d.retryAfterMs < 0 ? -1 : Math.max(retryAfterMs, d.retryAfterMs);
        this.count(req.domain, j === 0 ? plan.statsKey : lv.rule.fullKey, lv, d, w.hits, w.cached?.has(j) ?? false);
      }
      const rule = plan.rule;
      return {
        code: w.allowed ? "OK" : "OVER_LIMIT",
        currentLimit: { requestsPerUnit: rule.requestsPerUnit, unit: rule.unit, name: rule.name },
        limitRemaining: Math.max(0, Math.min(MAX_UINT32, Math.floor(remaining))),
        durationUntilResetMs: resetOf(plan.levels[first]!, w.decisions[first]!, now),
        policies,
      };
    });
    let overall = allowedOverall(work, isAllowed) ? "OK" : "OVER_LIMIT";
    if (overall === "OVER_LIMIT" && this.o.globalShadowMode) {
      overall = "OK";
      this.stats.add(req.domain, "", "shadow_mode", 1);
    }
    return {
      overallCode: overall as "OK" | "OVER_LIMIT",
      statuses,
      retryAfterMs: overall === "OK" ? 0 : retryAfterMs,
      dynamicMetadata: this.o.responseDynamicMetadata ? dynamicMetadata(req, plans, work) : null,
    };
  }

  private count(domain: string, key: string, lv: PlannedLevel, d: Decision, hits: number, fromCache: boolean): void {
    const L = d.limit;
    const before = d.allowed ? L - d.remaining - hits : L - d.remaining;
    const counts = countOutcome({ limit: L, hits, before, after: before + hits, over: !d.allowed, shadow: lv.rule.shadow, fromLocalCache: fromCache }, this.o.nearLimitRatio ?? 0.8);
    for (const stat in counts) this.stats.add(domain, key, stat as keyof typeof counts, counts[stat as keyof typeof counts]!);
  }
}

function zeroDecision(lv: PlannedLevel, now: number): Decision {
  const reset = lv.windowMs - (now % lv.windowMs);
  return { allowed: false, limit: 0, remaining: 0, retryAfterMs: -1, resetAfterMs: reset };
}

function cachedDecision(lv: PlannedLevel, cache: OverLimitCache, now: number): Decision {
  return overUntil(lv, cache.untilOf(lv.id) ?? now, now);
}

function overUntil(lv: PlannedLevel, until: number, now: number): Decision {
  const limit = lv.counter?.limit.limit ?? 0;
  return { allowed: false, limit, remaining: 0, retryAfterMs: Math.max(0, until - now), resetAfterMs: Math.max(0, until - now) };
}

/** envoyproxy/ratelimit reports the time to the end of the current window; other algorithms their own reset. */
function resetOf(lv: PlannedLevel, d: Decision, now: number): number {
  if (!lv.counter || lv.counter.limit.algorithm === "fixed-window") {
    const at = d.decidedAt ?? now;
    return lv.windowMs - (at % lv.windowMs);
  }
  return Math.max(0, d.resetAfterMs);
}

function dynamicMetadata(req: RlsRequest, plans: DescriptorPlan[], work: Work[]): Record<string, unknown> {
  const passed: Record<string, unknown> = {};
  const merge = (dest: Record<string, unknown>, src: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(src)) {
      const cur = dest[k];
      if (cur === undefined) dest[k] = v;
      else if (cur && typeof cur === "object" && !Array.isArray(cur) && v && typeof v === "object" && !Array.isArray(v)) merge(cur as Record<string, unknown>, v as Record<string, unknown>);
    }
  };
  const byIndex = new Map(work.map((w) => [w.index, w]));
  plans.forEach((p, i) => {
    if (p.kind === "limited" && byIndex.get(i)!.allowed && p.rule.metadata) merge(passed, structuredClone(p.rule.metadata));
  });
  const out: Record<string, unknown> = {
    domain: req.domain,
    descriptors: req.descriptors.map((d) => ({
      entries: d.entries.map((e) => `${e.key}=${e.value}`),
      ...(d.limit ? { limit: `requests_per_unit:${d.limit.requestsPerUnit} unit:${d.limit.unit.toUpperCase()}` } : {}),
      ...(d.hitsAddend !== undefined ? { hitsAddend: d.hitsAddend } : {}),
    })),
  };
  if (req.hitsAddend) out.hitsAddend = req.hitsAddend;
  if (Object.keys(passed).length) out.metadata = passed;
  return out;
}
