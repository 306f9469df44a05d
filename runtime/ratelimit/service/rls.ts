/**
 * The rate limit service's logic, transport-free: Envoy's RLS semantics (domain, descriptors,
 * hits_addend → overall code and per-descriptor statuses) over the store. Unlike envoyproxy/ratelimit,
 * all descriptors of one request are decided as ONE atomic decision: when any is over limit, none is
 * charged. Levels shared by several descriptors are charged once. Shadow-mode limits are evaluated and
 * reported but never reject. Global limits are taken from this region's lease (global-limits.ts) and
 * given back when another level rejects the request.
 */
import type { Clock } from "../../common/clock.js";
import type { Decision } from "../core/limit.js";
import { asLevel, matchDescriptor, type Entry, type LimitOverride, type MatchedLimit } from "../config/match.js";
import type { DomainConfig, Unit } from "../config/schema.js";
import type { RateLimitStore } from "../store/store.js";
import { GlobalAllocator } from "../global/allocator.js";
import { GlobalLimits, inProcessSource } from "./global-limits.js";

export interface RlsDescriptor {
  entries: Entry[];
  limit?: LimitOverride | undefined;
}

export interface RlsRequest {
  domain: string;
  descriptors: RlsDescriptor[];
  /** 0 or absent means 1, as in Envoy. */
  hitsAddend?: number | undefined;
}

export type Code = "OK" | "OVER_LIMIT";

export interface DescriptorStatus {
  code: Code;
  currentLimit: { requestsPerUnit: number; unit: Unit; name: string | undefined } | null;
  limitRemaining: number;
  durationUntilResetMs: number;
  /** Every level that decided this descriptor (leaf first), for the HTTP headers. */
  levels: { key: string; limit: MatchedLimit; decision: Decision }[];
}

export interface RlsResponse {
  overallCode: Code;
  statuses: DescriptorStatus[];
  retryAfterMs: number;
}

export class BadRequestError extends Error {
  override name = "BadRequestError";
}

export class RateLimitService {
  private domains = new Map<string, DomainConfig>();

  constructor(
    domains: DomainConfig[],
    private readonly store: RateLimitStore,
    private readonly clock: Clock,
    private globals?: GlobalLimits,
  ) {
    this.reload(domains);
  }

  /** Global limits need a lease source; without one configured, an in-process allocator serves this instance alone. */
  private globalLimits(): GlobalLimits {
    this.globals ??= new GlobalLimits({ client: "local", source: inProcessSource(new GlobalAllocator([])), clock: this.clock });
    return this.globals;
  }

  close(): void {
    this.globals?.close();
  }

  reload(domains: DomainConfig[]): void {
    this.domains = new Map(domains.map((d) => [d.domain, d]));
  }

  get domainNames(): string[] {
    return [...this.domains.keys()];
  }

  async shouldRateLimit(req: RlsRequest): Promise<RlsResponse> {
    if (!req.domain) throw new BadRequestError("domain must not be empty");
    if (req.descriptors.length === 0) throw new BadRequestError("descriptors must not be empty");
    req.descriptors.forEach((d, i) => {
      if (d.entries.length === 0) throw new BadRequestError(`descriptors[${i}].entries must not be empty`);
      d.entries.forEach((e, j) => {
        if (!e.key) throw new BadRequestError(`descriptors[${i}].entries[${j}].key must not be empty`);
        if (!e.value) throw new BadRequestError(`descriptors[${i}].entries[${j}].value must not be empty (key "${e.key}")`);
      });
      if (d.limit && (!Number.isInteger(d.limit.requestsPerUnit) || d.limit.requestsPerUnit <= 0))
        throw new BadRequestError(`descriptors[${i}].limit.requests_per_unit is ${d.limit.requestsPerUnit}; expected a positive integer`);
    });
    const cost = req.hitsAddend && req.hitsAddend > 0 ? req.hitsAddend : 1;
    const domain = this.domains.get(req.domain);
    // envoyproxy/ratelimit answers OK for a domain it has no config for; so do we.
    const matches = req.descriptors.map((d) => (domain ? matchDescriptor(domain, d.entries, d.limit) : { none: true, unlimited: false, levels: [] }));
    const unique = new Map<string, MatchedLimit>();
    for (const m of matches) for (const l of m.levels) unique.set(l.key, l);
    const all = [...unique.values()];
    const now = this.clock.now();
    const decisions = new Map<string, Decision>();
    let overall: Code = "OK";
    const globals = all.filter((l) => l.global);
    const locals = all.filter((l) => !l.global);
    // Global limits first: tokens taken from this region's lease are given back if anything rejects.
    const taken: MatchedLimit[] = [];
    let globalBlocked = false;
    for (const g of globals) {
      const d = await this.globalLimits().reserve(g.key, g.limit, cost);
      decisions.set(g.key, d);
      if (d.allowed) taken.push(g);
      else if (!g.shadow) globalBlocked = true;
    }
    if (locals.length) {
      // When a global limit already rejected, only peek (cost 0) so nothing is charged.
      let d = await this.store.decide(locals.map(asLevel), globalBlocked ? 0 : cost, now);
      locals.forEach((l, i) => decisions.set(l.key, d.levels[i]!));
      const enforced = locals.filter((l) => !l.shadow);
      if (!globalBlocked && !d.allowed && enforced.every((l) => decisions.get(l.key)!.allowed)) {
        // Only shadow limits rejected: charge the enforced ones as if the shadow limits were absent.
        if (enforced.length) {
          d = await this.store.decide(enforced.map(asLevel), cost, now);
          enforced.forEach((l, i) => decisions.set(l.key, d.levels[i]!));
        }
      } else if (!d.allowed) overall = "OVER_LIMIT";
    }
    if (globalBlocked) overall = "OVER_LIMIT";
    if (overall === "OVER_LIMIT") {
      for (const g of taken) this.globalLimits().refund(g.key, cost);
      // Nothing was charged: a level that would have admitted still has the cost left.
      for (const [k, dec] of decisions)
        if (dec.allowed && !(globalBlocked && !unique.get(k)!.global)) decisions.set(k, { ...dec, remaining: Math.min(dec.limit, dec.remaining + cost) });
    }
    let retryAfterMs = 0;
    const statuses = matches.map((m): DescriptorStatus => {
      const levels = m.levels.map((l) => ({ key: l.key, limit: l, decision: decisions.get(l.key)! }));
      const over = levels.some((l) => !l.limit.shadow && !l.decision.allowed);
      for (const l of levels) if (!l.limit.shadow && !l.decision.allowed) retryAfterMs = Math.max(retryAfterMs, l.decision.retryAfterMs < 0 ? Infinity : l.decision.retryAfterMs);
      const leaf = m.levels[0];
      return {
        code: over ? "OVER_LIMIT" : "OK",
        currentLimit: leaf ? { requestsPerUnit: leaf.requestsPerUnit, unit: leaf.unit, name: leaf.name } : null,
        limitRemaining: levels.length ? Math.min(...levels.map((l) => l.decision.remaining)) : 0,
        durationUntilResetMs: levels[0]?.decision.resetAfterMs ?? 0,
        levels,
      };
    });
    return { overallCode: overall, statuses, retryAfterMs };
  }
}
