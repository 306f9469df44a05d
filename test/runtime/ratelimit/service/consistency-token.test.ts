// The rate limiter's HTTP API takes and returns consistency tokens like every Meridian service (issue #16): with an
// HLC node (maxOffsetMs, as deployed) a decision — a write: it spends the caller's budget — answers
// x-meridian-consistency, the node's HLC with its epoch; a request carrying a token is answered at or after it;
// an unknown epoch is 409 and a token further ahead than max offset 409, neither applied.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "../../../../runtime/clock/index.js";
import { startService, type RunningService } from "../../../../runtime/kit/index.js";
import { ratelimitService } from "../../../../runtime/ratelimit/service/service.js";

const running: RunningService[] = [];
afterAll(async () => {
  for (const s of running.reverse()) await s.close();
});

const rules = () => {
  const file = join(mkdtempSync(join(tmpdir(), "mrl-token-")), "api.yaml");
  writeFileSync(file, "domain: api\ndescriptors:\n  - key: api_key\n    rate_limit: { unit: second, requests_per_unit: 10 }\n");
  return file;
};

describe("ratelimit's consistency tokens", () => {
  it("a decision returns a token; a later request with it reads at or after it; foreign epochs and far-ahead tokens are 409", async () => {
    const s = await startService(ratelimitService, { rules: rules(), watch: false, grpc: { port: 0 }, maxOffsetMs: 250, server: { port: 0 } }, { processMetrics: false });
    running.push(s);
    const check = (headers: Record<string, string> = {}) =>
      fetch(`${s.url}/v1/ratelimit`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ domain: "api", descriptors: [{ entries: [{ key: "api_key", value: "k1" }] }] }),
      });
    const first = await check();
    expect(first.status).toBe(200);
    const token = first.headers.get("x-meridian-consistency");
    expect(token).toMatch(/^\d+\.\d+$/); // epoch 0, the plain form
    const second = await check({ "x-meridian-consistency": token! });
    expect(second.status).toBe(200);
    // Answered at or after the token: the response's HLC is not below it.
    const answered = parse(second.headers.get("x-meridian-hlc")!);
    const t = parse(token!);
    expect(answered.wall > t.wall || (answered.wall === t.wall && answered.logical > t.logical)).toBe(true);
    const foreign = await check({ "x-meridian-consistency": `${token!}@7` });
    expect(foreign.status).toBe(409);
    expect(await foreign.json()).toMatchObject({ error: "unknown hlc epoch" });
    const ahead = await check({ "x-meridian-consistency": `${(Date.now() + 60_000) * 1000}.0` });
    expect(ahead.status).toBe(409);
    expect(await ahead.json()).toMatchObject({ error: "untrustworthy HLC timestamp" });
  });
});
