// The per-route AuthorizationPolicies the PKI area renders, against the routes each runtime service registers when
// it actually runs (its app's route table, and the gRPC methods the rate limiter serves), and the grandmaster's admin
// API likewise: every route is reachable through the mesh by some identity, an operator-only route admits the
// operator and nobody else, the gateway reaches no operator-only route, and every path a policy names exists. A route
// added without its policy fails here.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { meshPolicies } from "../../../components/pki/mesh-tls.js";
import { certchainServiceConfig, ledgerRegion, mapServiceConfig, monitorServiceConfig } from "../../../model/workloads/config.js";
import { escrowRegionConfig } from "../../../model/workloads/escrow-region.js";
import { allocatorServiceConfig } from "../../../model/workloads/ratelimit-config.js";
import { certService } from "../../../runtime/certchain/index.js";
import { NAMESPACES, buildEstateSpec } from "../../../model/estate.js";
import { SERVICE_ROUTES } from "../../../model/security/routes.js";
import {
  GATEWAY_IDENTITY,
  OPERATOR_IDENTITY,
  RUNTIME_SERVICES,
  SPIRE_SERVER_IDENTITY,
  allowedCallerIds,
  callerSpiffeIds,
  istioPrincipal,
  podSelector,
  runtimeService,
  spiffeId,
  type ServiceName,
} from "../../../model/services.js";
import { GRANDMASTER } from "../../../model/time/hierarchy.js";
import { grandmasterService } from "../../../runtime/clock/grandmaster-service.js";
import { grandmasterRelayService } from "../../../runtime/clock/relay-service.js";
import { clockService } from "../../../runtime/clock/service.js";
import { systemClock } from "../../../runtime/common/clock.js";
import type { RouteEntry } from "../../../runtime/common/route-table.js";
import { parseEscrowConfig, startEscrowServer } from "../../../runtime/escrow/index.js";
import { startService } from "../../../runtime/kit/index.js";
import { ALG_COSIGNATURE_V1, generateKey } from "../../../runtime/prooflog/index.js";
import { startLogServer, witnessService } from "../../../runtime/prooflog/services.js";
import { quotaService } from "../../../runtime/quota/service.js";
import { attestService } from "../../../runtime/attest/index.js";
import { loadRlsService } from "../../../runtime/ratelimit/service/proto.js";
import { ratelimitService } from "../../../runtime/ratelimit/service/service.js";
import { allocatorService } from "../../../runtime/ratelimit/global/server.js";
import { mapService } from "../../../runtime/vmap/service.js";
import { monitorService } from "../../../runtime/prooflog/monitor/service.js";
import { loadStack } from "../../../stacks/load.js";
import { authorized, istioMatch, type AuthzPolicy } from "../../model/security/authz-eval.js";
import { issuerKeys } from "../../runtime/escrow/fixture.js";
import { dropSchema, ensureQuotaDb, issuer, PG_URL, startAuditLog, TREE, uniqueSchema } from "../../runtime/quota/fixture.js";

const spec = buildEstateSpec("prod", loadStack("prod"));
const td = spec.pki.trustDomain;
const policies = meshPolicies(spec).filter((p) => p.kind === "AuthorizationPolicy") as unknown as AuthzPolicy[];
const principal = (w: { namespace: string; serviceAccount: string }) => istioPrincipal(spiffeId(td, w));
/** The kit's probes and /metrics: Istio rewrites probes to its agent, and the agent scrapes /metrics inside the pod. */
const NEVER_MESHED = new Set(["/healthz", "/readyz", "/metrics"]);

interface Served {
  method: string;
  path: string;
  port: number;
  auth?: unknown;
}

/** A request path that fastify's pattern matches: each `:param` and a trailing `*` filled in. */
const concrete = (url: string) => url.replace(/:[^/]+/g, "x").replace(/\*$/, "x");

/** What is wrong between one service's served routes and the mesh policies; empty when they agree. */
export function routeProblems(name: ServiceName, served: Served[]): string[] {
  const s = runtimeService(name);
  // The rate limiters by each region's own identity.
  const regionIds = spec.regions.map((r) => r.id);
  const callers = [...new Set(s.callers.filter((c) => "service" in c || "spire" in c).flatMap((c) => callerSpiffeIds(td, c, regionIds).map(istioPrincipal)))];
  const gateway = principal(GATEWAY_IDENTITY);
  const operator = principal(OPERATOR_IDENTITY);
  const allows = (who: string, r: Served) => authorized(policies, { namespace: s.namespace, labels: podSelector(s), principal: who, port: r.port, method: r.method, path: concrete(r.path) });
  const problems: string[] = [];
  for (const r of served) {
    const route = `${name} ${r.method} ${r.path}`;
    const reach = { gateway: allows(gateway, r), services: callers.some((c) => allows(c, r)), operator: allows(operator, r) };
    if (!reach.gateway && !reach.services && !reach.operator) problems.push(`${route}: no AuthorizationPolicy rule lets any identity call it (model/security/routes.ts)`);
    if (r.auth === "operator" && (!reach.operator || reach.gateway || reach.services)) problems.push(`${route}: operator-only in the service, but the mesh admits ${JSON.stringify(reach)}`);
  }
  // Every path a policy names is a route the service serves (with that method, for the gateway's rules).
  for (const rule of SERVICE_ROUTES[name].public) {
    for (const method of rule.methods)
      for (const p of rule.paths) if (!served.some((r) => r.method === method && istioMatch(p, concrete(r.path)))) problems.push(`${name}: public rule ${method} ${p} matches no route`);
  }
  for (const p of SERVICE_ROUTES[name].admin) if (!served.some((r) => istioMatch(p, concrete(r.path)))) problems.push(`${name}: admin rule ${p} matches no route`);
  return problems;
}

const HTTP = 8080;
const fromTable = (routes: readonly RouteEntry[], port = HTTP): Served[] =>
  routes.filter((r) => r.method !== "HEAD" && !NEVER_MESHED.has(r.url)).map((r) => ({ method: r.method, path: r.url, port, ...(r.auth !== undefined ? { auth: r.auth } : {}) }));

/** The grandmaster's admin API (time namespace): /status for the trust domain, drills (the simulator's) for the operator, nothing else. */
export function grandmasterRouteProblems(served: Served[], against: AuthzPolicy[] = policies): string[] {
  const allows = (who: string | null, r: Served) =>
    authorized(against, { namespace: NAMESPACES.time, labels: { app: GRANDMASTER.name }, principal: who, port: GRANDMASTER.adminPort, method: r.method, path: concrete(r.path) });
  const operator = principal(OPERATOR_IDENTITY);
  const service = principal(runtimeService("clock"));
  const problems: string[] = [];
  for (const r of served) {
    const route = `grandmaster ${r.method} ${r.path}`;
    if (!allows(operator, r) && !allows(service, r)) problems.push(`${route}: no AuthorizationPolicy rule lets any identity call it`);
    if (r.auth === "operator" && allows(service, r)) problems.push(`${route}: operator-only in the service, but the mesh admits other identities`);
  }
  // Every path the grandmaster's policy names is served.
  const named = against.filter((p) => p.metadata.namespace === NAMESPACES.time).flatMap((p) => (p.spec.rules ?? []).flatMap((rule) => (rule.to ?? []).flatMap((t) => t.operation.paths ?? [])));
  for (const p of named) if (!served.some((r) => istioMatch(p, concrete(r.path)))) problems.push(`grandmaster: rule ${p} matches no route`);
  return problems;
}

const served = new Map<ServiceName, Served[]>();
let grandmasterRoutes: Served[] = [];
let relayRoutes: Served[] = [];
/** local's policies (where the simulator runs), in prod's trust domain so the same principals apply. */
const localSpec = buildEstateSpec("local", loadStack("local"));
const localPolicies = meshPolicies({ ...localSpec, pki: { ...localSpec.pki, trustDomain: td } }).filter((p) => p.kind === "AuthorizationPolicy") as unknown as AuthzPolicy[];
const closers: (() => Promise<unknown>)[] = [];
const dir = mkdtempSync(join(tmpdir(), "meridian-route-coverage-"));

beforeAll(async () => {
  const region = spec.regions[0]!.id;
  // escrow as deployed (the region's rendered config), trusting a test issuer's key instead of the stack's.
  const rendered = escrowRegionConfig(spec, region) as unknown as { identity: Record<string, unknown> };
  const escrow = await startEscrowServer({
    config: parseEscrowConfig({ ...rendered, identity: { ...rendered.identity, jwksUri: undefined, jwks: { keys: [(await issuerKeys()).publicJwk] } } }),
    port: 0,
  });
  closers.push(() => escrow.close());
  served.set("escrow", fromTable(escrow.app.routeTable()));

  const origin = "meridian.test/route-coverage";
  const prooflog = await startLogServer({ origin, signerKey: generateKey(origin).signerKey, dataDir: join(dir, "log"), port: 0, checkpointIntervalMs: 3_600_000, notice: () => undefined });
  closers.push(() => prooflog.app.close());
  served.set("prooflog", fromTable(prooflog.app.routeTable()));

  // With the catalogue's callers configured (the in-process defence `meridian local --mtls` runs).
  const rules = join(dir, "rules.yaml");
  writeFileSync(rules, "domain: api\ndescriptors:\n  - key: api_key\n    rate_limit: { unit: second, requests_per_unit: 10 }\n");
  const ratelimit = await startService(
    ratelimitService,
    {
      rules,
      watch: false,
      grpc: { port: 0 },
      callers: allowedCallerIds(
        td,
        "ratelimit",
        spec.regions.map((r) => r.id),
      ),
      server: { host: "127.0.0.1", port: 0 },
    },
    { processMetrics: false },
  );
  closers.push(() => ratelimit.close());
  const grpcPort = runtimeService("ratelimit").ports.find((p) => p.appProtocol === "grpc")!.port;
  const rls = Object.values(loadRlsService().service).map((m) => ({ method: "POST", path: m.path, port: grpcPort }));
  served.set("ratelimit", [...fromTable(ratelimit.app.routeTable()), ...rls]);

  const clock = await startService(clockService, { region, maxOffsetMs: spec.time.maxOffsetMs, grandmaster: "127.0.0.1:9", server: { host: "127.0.0.1", port: 0 } }, { processMetrics: false });
  closers.push(() => clock.close());
  served.set("clock", fromTable(clock.app.routeTable()));

  const grandmaster = await startService(grandmasterService, { ntp: { host: "127.0.0.1", port: 0 }, server: { host: "127.0.0.1", port: 0 } }, { processMetrics: false });
  closers.push(() => grandmaster.close());
  grandmasterRoutes = fromTable(grandmaster.app.routeTable(), GRANDMASTER.adminPort);
  // What prod's grandmaster Deployment runs: the relay (its one reference unreachable; the routes are the same).
  const relay = await startService(
    grandmasterRelayService,
    { references: [{ name: "none", server: "127.0.0.1:9" }], ntp: { port: 0 }, pollMs: 3_600_000, server: { host: "127.0.0.1", port: 0 } },
    { processMetrics: false },
  );
  closers.push(() => relay.close());
  relayRoutes = fromTable(relay.app.routeTable(), GRANDMASTER.adminPort);

  await ensureQuotaDb();
  const schema = uniqueSchema("route_coverage");
  const log = await startAuditLog();
  const quota = await startService(
    quotaService,
    { ...TREE, postgres: PG_URL, schema, log: log.url, server: { host: "127.0.0.1", port: 0, auth: (await issuer()).auth } },
    { clock: systemClock, processMetrics: false },
  );
  closers.push(
    () => quota.close(),
    () => log.close(),
    () => dropSchema(schema),
  );
  served.set("quota", fromTable(quota.app.routeTable()));

  // The verifier as deployed answers SPIRE (spire.trustDomain) and enrols nodes (endorsement), so every route is registered.
  const attest = await startService(
    attestService,
    { key: generateKey("attest").signerKey, nodes: {}, spire: { trustDomain: td }, endorsement: { roots: "unused" }, server: { host: "127.0.0.1", port: 0 } },
    { processMetrics: false },
  );
  closers.push(() => attest.close());
  served.set("attest", fromTable(attest.app.routeTable()));

  // The map as deployed (its rendered maps and writers), recording into a test log, in memory (no --postgres for its store's schema).
  const map = await startService(mapService, { ...mapServiceConfig(spec), store: undefined, log: log.url, server: { host: "127.0.0.1", port: 0 } }, { processMetrics: false });
  closers.unshift(() => map.close());
  served.set("map", fromTable(map.app.routeTable()));

  // The global allocator as deployed (its rendered callers), its budgets in memory here.
  const allocator = await startService(allocatorService, { ...allocatorServiceConfig(spec), server: { host: "127.0.0.1", port: 0 } }, { processMetrics: false });
  closers.unshift(() => allocator.close());
  served.set("allocator", fromTable(allocator.app.routeTable()));

  // The region's monitor as deployed (its rendered policy and peers), following the test log (whose key is not the
  // stack's, so its rounds fail: only its routes matter here).
  const groupFile = join(dir, "group.json");
  writeFileSync(groupFile, JSON.stringify(spec.runtime.prooflog.witnessThreshold!.group));
  const monitor = await startService(
    monitorService,
    { ...monitorServiceConfig(spec, region, groupFile)!, log: prooflog.url, intervalMs: 3_600_000, server: { host: "127.0.0.1", port: 0 } },
    { processMetrics: false },
  );
  closers.unshift(() => monitor.close());
  served.set("monitor", fromTable(monitor.app.routeTable()));

  // A witness as deployed cosigns the stack's log (its threshold share only adds a signature line, not routes).
  const witness = await startService(
    witnessService,
    { key: generateKey("witness-route-coverage", ALG_COSIGNATURE_V1).signerKey, logs: [spec.runtime.prooflog.verifierKey!], data: ":memory:", server: { host: "127.0.0.1", port: 0 } },
    { processMetrics: false },
  );
  closers.unshift(() => witness.close());
  served.set("witness", fromTable(witness.app.routeTable()));

  // A region's certificate chain as deployed (a follower of the ledger region's; its rounds fail here: only routes matter).
  const follower = spec.regions.find((r) => r.id !== ledgerRegion(spec))!.id;
  const certchain = await startService(
    certService,
    {
      ...certchainServiceConfig(spec, follower, groupFile, groupFile)!,
      data: join(dir, "certchain"),
      follow: { url: "http://127.0.0.1:9", intervalMs: 3_600_000 },
      server: { host: "127.0.0.1", port: 0 },
    },
    { processMetrics: false },
  );
  closers.unshift(() => certchain.close());
  served.set("certchain", fromTable(certchain.app.routeTable()));
}, 60_000);

afterAll(async () => {
  for (const close of closers) await close().catch(() => undefined);
});

describe("per-route AuthorizationPolicies against the routes the services register (prod)", () => {
  it("reads a route table from every catalogued service", () => {
    expect([...served.keys()].sort()).toEqual(RUNTIME_SERVICES.map((s) => s.name).sort());
    for (const [name, routes] of served) expect(routes.length, name).toBeGreaterThan(0);
    expect(served.get("ratelimit")!.map((r) => r.path)).toEqual(
      expect.arrayContaining(["/v1/ratelimit", "/v1/ratelimit/admin/blocks", "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit"]),
    );
  });

  it("every served route has a policy, operator routes admit the operator only, and every policy path is served", () => {
    const problems = [...served].flatMap(([name, routes]) => routeProblems(name, routes));
    expect(problems).toEqual([]);
  });

  it("local's simulator: /status for the trust domain, drills for the operator only, every rule served", () => {
    expect(grandmasterRoutes.map((r) => r.path)).toEqual(expect.arrayContaining(["/status", "/drills/gps"]));
    expect(grandmasterRouteProblems(grandmasterRoutes, localPolicies)).toEqual([]);
    expect(grandmasterRouteProblems([...grandmasterRoutes, { method: "POST", path: "/admin/leap", port: GRANDMASTER.adminPort, auth: "operator" }], localPolicies)).toEqual([
      expect.stringContaining("grandmaster POST /admin/leap: no AuthorizationPolicy rule"),
    ]);
  });

  it("a cloud region's relay (prod): only its real routes are allowed — /status; the simulator's drills are no one's", () => {
    expect(relayRoutes.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /status"]);
    expect(grandmasterRouteProblems(relayRoutes)).toEqual([]);
    const at = (path: string, method = "POST") => ({ namespace: NAMESPACES.time, labels: { app: GRANDMASTER.name }, port: GRANDMASTER.adminPort, method, path });
    for (const who of [principal(OPERATOR_IDENTITY), principal(runtimeService("clock")), null]) {
      expect(authorized(policies, { ...at("/drills/gps"), principal: who }), `${who} /drills/gps`).toBe(false);
      expect(authorized(policies, { ...at("/drills/inflate"), principal: who }), `${who} /drills/inflate`).toBe(false);
    }
    expect(authorized(policies, { ...at("/status", "GET"), principal: principal(runtimeService("clock")) })).toBe(true);
    // The simulator's drills would be unreachable behind prod's policy.
    expect(grandmasterRouteProblems(grandmasterRoutes)).toEqual(expect.arrayContaining([expect.stringContaining("grandmaster POST /drills/gps: no AuthorizationPolicy rule")]));
  });

  it("the attestation verifier: the SPIRE server gets nonces, verifies and reads verdicts; only operators revoke; the gateway nothing", () => {
    const attest = runtimeService("attest");
    const spire = istioPrincipal(`spiffe://${td}${SPIRE_SERVER_IDENTITY.path}`);
    const at = (who: string | null, method: string, path: string) => authorized(policies, { namespace: attest.namespace, labels: podSelector(attest), principal: who, port: HTTP, method, path });
    for (const [method, path] of [
      ["POST", "/v1/attest/nonce"],
      ["POST", "/v1/attest/verify"],
      ["GET", "/v1/attest/spire/node-1"],
      ["GET", "/v1/attest/results/node-1"],
    ] as const) {
      expect(at(spire, method, path), `SPIRE server ${path}`).toBe(true);
      expect(at(principal(GATEWAY_IDENTITY), method, path), `gateway ${path}`).toBe(false);
      expect(at(principal(runtimeService("escrow")), method, path), `escrow ${path}`).toBe(false);
      expect(at(null, method, path), `plaintext ${path}`).toBe(false);
    }
    expect(at(spire, "POST", "/v1/attest/revoke")).toBe(false);
    expect(at(principal(OPERATOR_IDENTITY), "POST", "/v1/attest/revoke")).toBe(true);
    // A SPIRE agent's SVID is not the server's: agents never ask the verifier themselves.
    expect(at(istioPrincipal(`spiffe://${td}/spire/agent/k8s_psat/aws-use1/node-uid`), "POST", "/v1/attest/verify")).toBe(false);
  });

  it("a route added without its policy fails: unreachable, or an operator route outside the admin paths", () => {
    const quota = served.get("quota")!;
    expect(routeProblems("quota", [...quota, { method: "GET", path: "/v2/quota/:tenant", port: HTTP }])).toEqual([expect.stringContaining("quota GET /v2/quota/:tenant: no AuthorizationPolicy rule")]);
    const ratelimit = served.get("ratelimit")!;
    expect(routeProblems("ratelimit", [...ratelimit, { method: "POST", path: "/v1/ratelimit/debug/flush", port: HTTP, auth: "operator" }])).toEqual([
      expect.stringContaining("ratelimit POST /v1/ratelimit/debug/flush: operator-only in the service"),
    ]);
    // A policy for a route that is gone is reported too.
    expect(
      routeProblems(
        "prooflog",
        served.get("prooflog")!.filter((r) => r.path !== "/checkpoint"),
      ),
    ).toEqual(["prooflog: public rule GET /checkpoint matches no route"]);
  });
});
