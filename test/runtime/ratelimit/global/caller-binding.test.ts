// The allocator's `client` is a body field: with `callers`, it must name one of the verified caller's own clients,
// never another caller's. Two regional limiters with their own SPIFFE IDs (behind the allocator's Istio sidecar,
// which writes the peer into x-forwarded-client-cert): the second names the first's client and tries to release
// its lease and hand back its per-window budget; the first's shares are untouched. Without `callers` (nothing is
// verified, as `meridian local` runs) the body's client is taken as said.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { startService } from "../../../../runtime/kit/index.js";
import { allocatorService } from "../../../../runtime/ratelimit/global/server.js";

const SELF = "spiffe://meridian.internal/ns/meridian/sa/ratelimit-allocator";
const EU = "spiffe://meridian.internal/ns/meridian-eu/sa/ratelimit";
const US = "spiffe://meridian.internal/ns/meridian-us/sa/ratelimit";
const xfcc = (peer: string) => ({ "x-forwarded-client-cert": `By=${SELF};Hash=00;Subject="";URI=${peer}` });

const clock = new ManualClock(1_700_000_000_000);
const resources = [{ id: "checkout", capacity: 200, lease_ms: 60_000, refresh_ms: 1000 }];
const start = (extra: Record<string, unknown>, server: Record<string, unknown> = {}) =>
  startService(allocatorService, { resources, ...extra, server: { port: 0, ...server } }, { clock, processMetrics: false });
let guarded: Awaited<ReturnType<typeof start>>;
let open: Awaited<ReturnType<typeof start>>;

beforeAll(async () => {
  guarded = await start({ callers: [EU, US] }, { identity: { xfcc: "istio-sidecar", spiffeId: SELF } });
  open = await start({});
});
afterAll(async () => {
  await guarded?.close();
  await open?.close();
});

const capacity = (s: typeof guarded, as: string | undefined, client: string, wants: number) =>
  s.app.inject({ method: "POST", url: "/v1/allocator/capacity", headers: as ? xfcc(as) : {}, payload: { resource: "checkout", client, wants } });
const budget = (s: typeof guarded, as: string | undefined, body: Record<string, unknown>) =>
  s.app.inject({
    method: "POST",
    url: "/v1/allocator/budget",
    headers: as ? xfcc(as) : {},
    payload: { resource: "global", limit: 100, periodMs: 60_000, window: 1_699_999_980_000, used: 0, ...body },
  });

describe("the allocator binds `client` to the verified caller", () => {
  it("a caller naming another's client neither releases its lease nor reads it", async () => {
    expect((await capacity(guarded, EU, "eu", 50)).json().has).toBe(50);
    // US asks as "eu" for nothing: were the body trusted, EU's lease would be released (has 0).
    expect((await capacity(guarded, US, "eu", 0)).json().has).toBe(0);
    const leases = await guarded.parts.store.snapshot("checkout", clock.now());
    expect(leases.find((l) => l.has === 50)?.client).toBe(`${EU}#eu`);
    expect((await capacity(guarded, EU, "eu", 50)).json().has).toBe(50);
  });

  it("a caller naming another's client cannot hand back its per-window budget", async () => {
    expect((await budget(guarded, EU, { client: "eu", wants: 10, need: 10 })).json().has).toBe(10);
    // US reports as "eu", keeping nothing: were the body trusted, EU's 10 would be returned to the pool.
    expect((await budget(guarded, US, { client: "eu", wants: 0, keep: 0 })).json().has).toBe(0);
    expect((await budget(guarded, EU, { client: "eu", wants: 0 })).json().has).toBe(10);
  });

  it("without callers nothing is verified: the body's client is taken as said", async () => {
    expect((await capacity(open, undefined, "eu", 50)).json().has).toBe(50);
    expect((await open.parts.store.snapshot("checkout", clock.now())).map((l) => l.client)).toEqual(["eu"]);
  });
});
