import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { compiled } from "./fixtures.js";
import { GlobalAllocator } from "../../../../runtime/ratelimit/global/allocator.js";
import { GlobalLimits, inProcessSource } from "../../../../runtime/ratelimit/service/global-limits.js";
import { RateLimitService } from "../../../../runtime/ratelimit/service/rls.js";
import { MemoryStore } from "../../../../runtime/ratelimit/store/memory.js";

const YAML = `
domain: edge
descriptors:
  - key: api
    value: checkout
    rate_limit: { unit: second, requests_per_unit: 10, global: true }
    descriptors:
      - key: user
        rate_limit: { unit: minute, requests_per_unit: 2 }
    hierarchical: true
`;

describe("global limits in the rate limit service", () => {
  it("shares one limit across regions through leases, and refunds when another level rejects", async () => {
    const clock = new ManualClock(0);
    const allocator = new GlobalAllocator([]);
    const region = (client: string) =>
      new RateLimitService(compiled(YAML), new MemoryStore(), clock, { globals: new GlobalLimits({ client, source: inProcessSource(allocator), clock, refreshMs: 250, leaseMs: 5000 }) });
    const [eu, us] = [region("eu"), region("us")];
    const call = (svc: RateLimitService, user: string) => svc.shouldRateLimit({ domain: "edge", descriptors: [{ entries: [{ key: "api", value: "checkout" }, { key: "user", value: user }] }] });
    try {
      // eu leases first and gets the whole 10/s; the first lease starts with one token.
      expect((await call(eu, "a")).overallCode).toBe("OK");
      expect(allocator.snapshot("d=edge|api=checkout#fw1000", 0)).toMatchObject([{ client: "eu", has: 10 }]);
      // us asks while eu holds everything: nothing is free, so us admits nothing.
      expect((await call(us, "b")).overallCode).toBe("OVER_LIMIT");
      clock.advance(1000);
      // user a's per-minute limit (2) rejects the third request; its global token is given back.
      expect((await call(eu, "a")).overallCode).toBe("OK");
      const third = await call(eu, "a");
      expect(third.overallCode).toBe("OVER_LIMIT");
      expect(third.statuses[0]!.policies.map((p) => [p.name, p.remaining])).toEqual([
        ["edge.api_checkout.user", 0],
        ["edge.api_checkout", 0],
      ]);
      let admitted = 0;
      for (let i = 0; i < 20; i++) if ((await call(eu, `u${i}`)).overallCode === "OK") admitted++;
      // After 1 s the bucket held one refresh worth (2.5): a's second request took 1, and the refund of the
      // rejected third left 1.5 — one more request fits. Without the refund none would.
      expect(admitted).toBe(1);
    } finally {
      eu.close();
      us.close();
    }
  });
});
