// What the internet can ask the rate limiter, from the model: the regional gateway's public routes
// (model/workloads/gateway.ts API_ROUTES) and the mesh's public audience (model/security/routes.ts) must not
// admit a rate-limit check from outside. A check (`POST /v1/ratelimit`) names its buckets in the body (domain,
// user, tenant, API key) and charges them: forwarded from the internet, anyone could exhaust another's limit or
// probe any bucket. The gateway's own Envoy asks over gRPC `ShouldRateLimit` with descriptors it builds from the
// request; what stays public is `GET /v1/ratelimit/{domains,status}`, which name no caller's bucket.
import { describe, expect, it } from "vitest";
import { SERVICE_ROUTES } from "../../../model/security/routes.js";
import { API_ROUTES } from "../../../model/workloads/gateway.js";
import { ManualClock } from "../../../runtime/common/clock.js";
import { buildHttp } from "../../../runtime/ratelimit/service/http.js";
import { RateLimitService } from "../../../runtime/ratelimit/service/rls.js";
import { MemoryStore } from "../../../runtime/ratelimit/store/memory.js";
import { domains } from "../../runtime/ratelimit/service/fixtures.js";

const RLS_GRPC = "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit";
const WRITES = ["POST", "PUT", "PATCH", "DELETE"];
const READS = ["GET", "HEAD"];

/** The service a request from the internet reaches through the gateway, if any (first matching route, as Envoy). */
function forwarded(method: string, path: string): string | undefined {
  const r = API_ROUTES.find((x) => path.startsWith(x.prefix));
  if (!r) return undefined;
  return r.methods === "any" || READS.includes(method) ? r.service : undefined;
}

/** Whether a public-audience rule (the gateway's identity) admits the call at the ratelimit service. */
function meshAdmits(method: string, path: string): boolean {
  return SERVICE_ROUTES.ratelimit.public.some((rule) => rule.methods.includes(method) && rule.paths.some((p) => (p.endsWith("*") ? path.startsWith(p.slice(0, -1)) : path === p)));
}

describe("the rate limiter from the internet (gateway routes and the mesh's public audience)", () => {
  it("no gateway route forwards a check, or any write, to the rate limiter", () => {
    for (const m of WRITES) for (const p of ["/v1/ratelimit", "/v1/ratelimit/", "/v1/ratelimit/outcomes", "/v1/ratelimit/admin/reset"]) expect(forwarded(m, p), `${m} ${p}`).toBeUndefined();
    // The reads stay routed.
    expect(forwarded("GET", "/v1/ratelimit/status")).toBe("ratelimit");
    expect(forwarded("GET", "/v1/ratelimit/domains")).toBe("ratelimit");
  });

  it("the public audience admits the gateway's RLS call and the two reads, never a check over HTTP", () => {
    for (const m of WRITES) for (const p of ["/v1/ratelimit", "/v1/ratelimit/outcomes"]) expect(meshAdmits(m, p), `${m} ${p}`).toBe(false);
    const http = SERVICE_ROUTES.ratelimit.public.filter((r) => !r.paths.includes(RLS_GRPC));
    expect(http.flatMap((r) => r.methods)).toEqual(["GET"]);
    expect(http.flatMap((r) => r.paths).sort()).toEqual(["/v1/ratelimit/domains", "/v1/ratelimit/status"]);
    // The gateway's own Envoy asks over gRPC, with descriptors it builds from the request.
    expect(meshAdmits("POST", RLS_GRPC)).toBe(true);
  });

  it("what stays public names no caller's bucket: domains and status after a check on one", async () => {
    const app = buildHttp(new RateLimitService(domains(), new MemoryStore(), new ManualClock(1_700_000_000_000)));
    const check = await app.inject({
      method: "POST",
      url: "/v1/ratelimit",
      payload: {
        domain: "edge",
        descriptors: [
          {
            entries: [
              { key: "tenant", value: "victim-tenant" },
              { key: "user", value: "victim-key-42" },
            ],
          },
        ],
      },
    });
    expect(check.statusCode).toBe(200);
    for (const url of ["/v1/ratelimit/domains", "/v1/ratelimit/status"]) {
      const r = await app.inject({ method: "GET", url });
      expect(r.statusCode, url).toBe(200);
      expect(r.body, url).not.toMatch(/victim/);
    }
    await app.close();
  });
});
