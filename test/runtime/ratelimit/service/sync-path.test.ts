// Over the memory store the service decides in the caller's turn (decideChecksSync: checks stepped in
// place, no promise). Its answers must be the pure cores': the same service over a store that is nothing
// but decideChecks over a Map (and awaited) must give the same response — every descriptor's code,
// remaining, reset and RateLimit policies, the overall code and Retry-After — and leave the same state
// in every counter, for random request sequences over every algorithm, shadow and quota mode, per-
// descriptor and per-request hits_addend, hierarchies and several checks under either charging policy.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { step } from "../../../../runtime/ratelimit/core/algorithms.js";
import type { Decision, State } from "../../../../runtime/ratelimit/core/limit.js";
import { decideChecks, validateCheck, type ChargePolicy, type Check, type CheckResult, type CounterLevel } from "../../../../runtime/ratelimit/core/request.js";
import { planRequest } from "../../../../runtime/ratelimit/service/plan.js";
import { RateLimitService } from "../../../../runtime/ratelimit/service/rls.js";
import type { RlsDescriptor, RlsRequest } from "../../../../runtime/ratelimit/service/types.js";
import { MemoryStore } from "../../../../runtime/ratelimit/store/memory.js";
import type { RateLimitStore } from "../../../../runtime/ratelimit/store/port.js";
import { compiled } from "./fixtures.js";

const YAML = `
domain: prop
descriptors:
  - key: fw
    rate_limit: { unit: second, requests_per_unit: 3 }
  - key: gcra
    rate_limit: { unit: second, requests_per_unit: 2, algorithm: gcra }
  - key: tb
    rate_limit: { unit: second, requests_per_unit: 3, algorithm: token-bucket, debt: 1 }
  - key: log
    rate_limit: { unit: second, requests_per_unit: 2, algorithm: sliding-log }
  - key: sw
    rate_limit: { unit: second, requests_per_unit: 3, algorithm: sliding-window }
  - key: shadow
    shadow_mode: true
    rate_limit: { unit: second, requests_per_unit: 1, algorithm: gcra }
  - key: quota
    quota_mode: true
    rate_limit: { unit: second, requests_per_unit: 2 }
  - key: zero
    rate_limit: { unit: second, requests_per_unit: 0 }
  - key: tenant
    hierarchical: true
    rate_limit: { unit: second, requests_per_unit: 5, algorithm: token-bucket }
    descriptors:
      - key: app
        shadow_mode: true
        rate_limit: { unit: second, requests_per_unit: 3 }
        descriptors:
          - key: user
            rate_limit: { unit: second, requests_per_unit: 2, algorithm: gcra }
`;

/** The pure cores behind the store port: decideChecks over a Map of states, answered through a promise. */
class PureStore implements RateLimitStore {
  private readonly states = new Map<string, { state: State; expiresAt: number }>();
  private read(key: string, now: number): State | undefined {
    const e = this.states.get(key);
    return e && e.expiresAt > now ? e.state : undefined;
  }
  decide(checks: readonly Check[], policy: ChargePolicy, now: number): Promise<CheckResult[]> {
    for (const c of checks) validateCheck(c);
    const { results, writes } = decideChecks(checks, policy, (k) => this.read(k, now), now);
    for (const w of writes) this.states.set(w.key, { state: w.state, expiresAt: now + Math.max(1, w.ttlMs) });
    return Promise.resolve(results);
  }
  peek(level: CounterLevel, now: number): Promise<Decision> {
    return Promise.resolve(step(level.limit, this.read(level.key, now), 0, now).decision);
  }
  reset(level: CounterLevel): Promise<boolean> {
    return Promise.resolve(this.states.delete(level.key));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const entries = (...kv: [string, string][]) => kv.map(([key, value]) => ({ key, value }));
const value = fc.constantFrom("x", "y");
const descriptorArb: fc.Arbitrary<RlsDescriptor> = fc.record({
  entries: fc.oneof(
    fc.tuple(fc.constantFrom("fw", "gcra", "tb", "log", "sw", "shadow", "quota", "zero", "tenant"), value).map(([k, v]) => entries([k, v])),
    fc.tuple(value, value).map(([t, a]) => entries(["tenant", t], ["app", a])),
    fc.tuple(value, value, value).map(([t, a, u]) => entries(["tenant", t], ["app", a], ["user", u])),
  ),
  hitsAddend: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
});
const requestArb = fc.record({
  descriptors: fc.array(descriptorArb, { minLength: 1, maxLength: 3 }),
  hitsAddend: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
  dt: fc.integer({ min: -50, max: 400 }),
});

describe("the service's synchronous path over the memory store", () => {
  it("answers and stores exactly what the pure cores do (property)", async () => {
    const domains = compiled(YAML, "prop.yaml");
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<ChargePolicy>("independent", "atomic"), fc.array(requestArb, { minLength: 1, maxLength: 30 }), async (chargePolicy, reqs) => {
        const clock = new ManualClock(1_000_000);
        const memory = new MemoryStore(1_000_000);
        const pure = new PureStore();
        const fast = new RateLimitService(domains, memory, clock, { chargePolicy });
        const slow = new RateLimitService(domains, pure, clock, { chargePolicy });
        const counters = new Map<string, CounterLevel>();
        for (const r of reqs) {
          clock.set(Math.max(0, clock.now() + r.dt));
          const req: RlsRequest = { domain: "prop", descriptors: r.descriptors, hitsAddend: r.hitsAddend };
          const got = fast.decide(req);
          expect(got).not.toBeInstanceOf(Promise);
          expect(got).toEqual(await slow.shouldRateLimit(req));
          for (const p of planRequest(req, domains.get("prop"))) if (p.kind === "limited") for (const c of p.checkLevels) counters.set(c.key, c);
          // The stored state: every counter seen so far answers a cost-0 peek alike.
          for (const c of counters.values()) expect(await memory.peek(c, clock.now())).toEqual(await pure.peek(c, clock.now()));
        }
      }),
      { numRuns: 400 },
    );
  });

  it("reuses a repeated descriptor's plan, and plans afresh after a reload", () => {
    const domains = compiled(YAML, "prop.yaml");
    const svc = new RateLimitService(domains, new MemoryStore(), new ManualClock(0));
    const req: RlsRequest = { domain: "prop", descriptors: [{ entries: entries(["fw", "x"]) }] };
    const first = svc.decide(req);
    expect(first).not.toBeInstanceOf(Promise);
    expect((svc.decide(req) as Exclude<typeof first, Promise<unknown>>).statuses[0]!.limitRemaining).toBe(1);
    // A reload with another limit for the same descriptor answers from the new config (the same counter, 3
    // hits, now under 9), not from a cached plan.
    svc.reload(compiled(YAML.replace("requests_per_unit: 3 }\n  - key: gcra", "requests_per_unit: 9 }\n  - key: gcra"), "prop.yaml"));
    expect((svc.decide(req) as Exclude<typeof first, Promise<unknown>>).statuses[0]!.limitRemaining).toBe(6);
  });
});
