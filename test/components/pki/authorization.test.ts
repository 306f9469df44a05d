// Per-route mesh authorization, evaluated: the prod spec's Istio policies (no plan needed) run through an
// AuthorizationPolicy evaluator with the identities that exist — gateway, services, operator, strangers.
import { describe, expect, it } from "vitest";
import { meshPolicies } from "../../../components/pki/mesh-tls.js";
import { buildEstateSpec, NAMESPACES } from "../../../model/estate.js";
import { GRANDMASTER_ROUTES, SERVICE_ROUTES } from "../../../model/security/routes.js";
import {
  GATEWAY_IDENTITY,
  OPERATOR_IDENTITY,
  RUNTIME_SERVICES,
  istioPrincipal,
  podSelector,
  regionIdentity,
  runtimeService,
  spiffeId,
  type ServiceName,
  type WorkloadIdentity,
} from "../../../model/services.js";
import { GRANDMASTER } from "../../../model/time/hierarchy.js";
import { loadStack } from "../../../stacks/load.js";
import { HEALTH_IDENTITY, REPLICATION_MONITOR, REPLICATION_MONITOR_POD_SELECTOR, REPLICATION_MONITOR_PROBE } from "../../../model/workloads/gateway.js";
import { authorized, type AuthzPolicy, type Request } from "../../model/security/authz-eval.js";

const spec = buildEstateSpec("prod", loadStack("prod"));
const td = spec.pki.trustDomain;
const policies = meshPolicies(spec).filter((p) => p.kind === "AuthorizationPolicy") as unknown as AuthzPolicy[];
const who = (id: WorkloadIdentity) => istioPrincipal(spiffeId(td, id));
const gateway = who(GATEWAY_IDENTITY);
const operator = who(OPERATOR_IDENTITY);
// A service as its pods in one region run (the rate limiter has its own identity there).
const svc = (name: ServiceName) => who(regionIdentity(runtimeService(name), spec.regions[0]!.id));

function call(to: ServiceName, principal: string | null, method: string, path: string, port = 8080): boolean {
  const s = runtimeService(to);
  const req: Request = { namespace: s.namespace, labels: podSelector(s), principal, port, method, path };
  return authorized(policies, req);
}

describe("per-route AuthorizationPolicies (prod)", () => {
  it("the gateway reaches public routes only", () => {
    expect(call("escrow", gateway, "POST", "/v1/inventory/sku-1/reservations")).toBe(true);
    expect(call("escrow", gateway, "DELETE", "/v1/reservations/r1")).toBe(true);
    expect(call("escrow", gateway, "PUT", "/v1/inventory/sku-1")).toBe(false);
    expect(call("escrow", gateway, "GET", "/metrics")).toBe(false);
    expect(call("prooflog", gateway, "GET", "/checkpoint")).toBe(true);
    expect(call("prooflog", gateway, "POST", "/add")).toBe(false);
    expect(call("ratelimit", gateway, "POST", "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit", 8081)).toBe(true);
    expect(call("ratelimit", gateway, "POST", "/v1/ratelimit/admin/reset")).toBe(false);
    // A check over HTTP names its buckets in the body: never from the gateway (its Envoy asks over gRPC); the reads stay.
    for (const m of ["POST", "PUT", "DELETE"]) for (const port of [8080, 8081]) expect(call("ratelimit", gateway, m, "/v1/ratelimit", port), `${m} ${port}`).toBe(false);
    expect(call("ratelimit", gateway, "POST", "/v1/ratelimit/outcomes")).toBe(false);
    expect(call("ratelimit", gateway, "GET", "/v1/ratelimit/status")).toBe(true);
    expect(call("ratelimit", gateway, "GET", "/v1/ratelimit/domains")).toBe(true);
    expect(call("clock", gateway, "GET", "/v1/time")).toBe(false);
  });

  it("across regions: a peer region's escrow is the same SPIFFE ID and admitted alike; the east-west gateway and other trust domains are no callers", () => {
    // Every region renders the same policies (no region in any principal), so what one cluster admits, all do.
    const principals = policies.flatMap((p) =>
      ((p.spec as { rules?: { from?: { source: { principals?: string[] } }[] }[] }).rules ?? []).flatMap((r) => (r.from ?? []).flatMap((f) => f.source.principals ?? [])),
    );
    expect(principals.length).toBeGreaterThan(0);
    for (const pr of principals) expect(pr.startsWith(`${td}/`), pr).toBe(true);
    expect(call("escrow", svc("escrow"), "GET", "/v1/inventory/sku-1")).toBe(true);
    expect(call("prooflog", svc("escrow"), "POST", "/add")).toBe(true);
    // AUTO_PASSTHROUGH keeps the caller's identity: were the gateway to terminate, its own would be refused.
    const eastWest = who({ namespace: NAMESPACES.istio, serviceAccount: "istio-eastwestgateway" });
    for (const s of RUNTIME_SERVICES) expect(call(s.name, eastWest, "GET", "/"), s.name).toBe(false);
    expect(call("prooflog", istioPrincipal(spiffeId("elsewhere.example", runtimeService("escrow"))), "POST", "/add")).toBe(false);
  });

  it("services call each other's non-admin routes as the catalogue allows", () => {
    expect(call("prooflog", svc("escrow"), "POST", "/add")).toBe(true);
    expect(call("clock", svc("ratelimit"), "GET", "/v1/time")).toBe(true);
    expect(call("escrow", svc("clock"), "GET", "/v1/inventory/sku-1")).toBe(false);
    expect(call("ratelimit", svc("escrow"), "POST", "/v1/ratelimit")).toBe(true);
    expect(call("ratelimit", svc("escrow"), "POST", "/v1/ratelimit/admin/block")).toBe(false);
    expect(call("ratelimit", svc("ratelimit"), "GET", "/v1/ratelimit/admin/blocks")).toBe(false);
  });

  it("admin and drill routes answer the operator identity only (drills: local's simulator; a cloud relay has none); nothing answers an unauthenticated peer", () => {
    for (const s of RUNTIME_SERVICES) {
      for (const path of SERVICE_ROUTES[s.name].admin.map((p) => p.replace(/\*$/, "x"))) {
        expect(call(s.name, operator, "POST", path), `${s.name} ${path}`).toBe(true);
        for (const other of [gateway, ...RUNTIME_SERVICES.map((x) => who(x)), `${td}/ns/default/sa/default`, null]) expect(call(s.name, other, "POST", path), `${s.name} ${path} ${other}`).toBe(false);
      }
      for (const port of s.ports) expect(call(s.name, null, "GET", "/", port.port), s.name).toBe(false);
    }
    const gm = (principal: string | null, method: string, path: string) =>
      authorized(policies, { namespace: NAMESPACES.time, labels: { app: GRANDMASTER.name }, principal, port: GRANDMASTER.adminPort, method, path });
    expect(spec.time.grandmaster.enabled).toBe(true);
    expect(GRANDMASTER_ROUTES.admin.length).toBeGreaterThan(0);
    // prod's grandmaster is the relay, which has no drills: no identity reaches them, the operator included.
    for (const p of [operator, gateway, svc("clock"), `${td}/ns/meridian-time/sa/default`, null]) expect(gm(p, "POST", "/drills/gps"), String(p)).toBe(false);
    // local's simulator: its drills for the operator only.
    const local = buildEstateSpec("local", loadStack("local"));
    const localPolicies = meshPolicies({ ...local, pki: { ...local.pki, trustDomain: td } }).filter((p) => p.kind === "AuthorizationPolicy") as unknown as AuthzPolicy[];
    const sim = (principal: string | null, path: string) =>
      authorized(localPolicies, { namespace: NAMESPACES.time, labels: { app: GRANDMASTER.name }, principal, port: GRANDMASTER.adminPort, method: "POST", path });
    expect(sim(operator, "/drills/gps")).toBe(true);
    expect(sim(operator, "/drills/inflate")).toBe(true);
    for (const p of [gateway, svc("clock"), `${td}/ns/meridian-time/sa/default`, null]) expect(sim(p, "/drills/gps"), String(p)).toBe(false);
    expect(gm(svc("clock"), "GET", "/status")).toBe(true);
    expect(gm(null, "GET", "/status")).toBe(false);
    expect(gm("evil.example/ns/x/sa/y", "GET", "/status")).toBe(false);
  });

  it("the replication monitor's lag verdict answers the health aggregator's GET/HEAD /readyz only", () => {
    const ask = (principal: string | null, method: string, path: string, port: number = REPLICATION_MONITOR.port) =>
      authorized(policies, { namespace: REPLICATION_MONITOR.namespace, labels: { ...REPLICATION_MONITOR_POD_SELECTOR, "app.kubernetes.io/part-of": "meridian" }, principal, port, method, path });
    const health = who(HEALTH_IDENTITY);
    expect(new URL(REPLICATION_MONITOR_PROBE.url).pathname).toBe("/readyz");
    expect(ask(health, "GET", "/readyz")).toBe(true);
    expect(ask(health, "HEAD", "/readyz")).toBe(true);
    expect(ask(health, "POST", "/readyz")).toBe(false);
    expect(ask(health, "GET", "/v1/replication")).toBe(false);
    expect(ask(health, "GET", "/readyz", 9999)).toBe(false);
    for (const p of [gateway, operator, svc("escrow"), `${td}/ns/meridian/sa/default`, null]) expect(ask(p, "GET", "/readyz"), String(p)).toBe(false);
  });

  it("gateway public routes exist exactly for the services that list the gateway as a caller", () => {
    for (const s of RUNTIME_SERVICES) {
      const listed = s.callers.some((c) => "identity" in c && c.identity.namespace === GATEWAY_IDENTITY.namespace);
      expect(SERVICE_ROUTES[s.name].public.length > 0, s.name).toBe(listed);
    }
  });
});
