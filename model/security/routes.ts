/**
 * Which routes of each mesh-served API may be called by whom, for Istio's per-route AuthorizationPolicies
 * (components/pki/mesh-tls.ts). Paths are the services' own (runtime/*), in Istio's match syntax (exact, or
 * a trailing `*` prefix). Three audiences:
 *   public    the ingress gateway (external clients) may call these, and only these;
 *   internal  the catalogued service callers (model/services.ts) may call every route but the admin ones;
 *   admin     only the operator identity (OPERATOR_IDENTITY) may call these: admin and drill routes.
 * Probes and /metrics never cross the mesh: Istio rewrites probes to its agent, and the agent fetches the
 * app's metrics inside the pod for the merged scrape endpoint.
 */
import type { ServiceName } from "../services.js";

export interface RouteRule {
  methods: string[];
  paths: string[];
}

export interface ServiceRoutes {
  public: RouteRule[];
  admin: string[];
}

export const SERVICE_ROUTES: Record<ServiceName, ServiceRoutes> = {
  // runtime/escrow/transport/http.ts: the buyer-facing inventory, queue, reservation and refund API.
  escrow: {
    public: [
      { methods: ["GET", "POST"], paths: ["/v1/inventory/*"] },
      { methods: ["POST", "DELETE"], paths: ["/v1/reservations/*"] },
      { methods: ["POST"], paths: ["/v1/sales/*"] },
      // runtime/escrow/transport/htlc.ts: hash time-locked contracts (atomic swaps); each route checks its caller in-process.
      { methods: ["GET", "POST"], paths: ["/v1/htlc/*"] },
    ],
    admin: [],
  },
  // runtime/ratelimit/service/{http,grpc,admin}.ts: the gateway's Envoy asks over gRPC (its descriptors built from the
  // request) and reads the domains and status, which name no caller's bucket. The HTTP check (POST /v1/ratelimit)
  // takes its buckets from the body, so it is internal only (escrow); admin is operator-only.
  ratelimit: {
    public: [
      { methods: ["POST"], paths: ["/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit"] },
      { methods: ["GET"], paths: ["/v1/ratelimit/domains", "/v1/ratelimit/status"] },
    ],
    admin: ["/v1/ratelimit/admin/*"],
  },
  // runtime/prooflog/server.ts: anyone may read and verify the log; only escrow appends (/add).
  prooflog: {
    public: [{ methods: ["GET"], paths: ["/checkpoint", "/tile/*", "/proof/*"] }],
    admin: [],
  },
  // runtime/clock/http.ts: internal only; the HLC reset protocol is the operator's.
  clock: { public: [], admin: ["/v1/time/reset"] },
  // runtime/quota/service.ts: tenant administrators come through the gateway and authenticate to the service
  // with their own JWTs (every route checks its scope in-process); the mesh admits the gateway to /v1/quota/* only.
  quota: { public: [{ methods: ["GET", "POST"], paths: ["/v1/quota/*"] }], admin: [] },
  // runtime/attest/service.ts: nothing public; the SPIRE server (its catalogued caller) gets nonces, verifies and reads
  // verdicts; revoking a node's AK is the operator's.
  attest: { public: [], admin: ["/v1/attest/revoke"] },
  // runtime/vmap/service.ts: tenants read their proven quota state (roots, keys, key ranges; batch proofs are a POST);
  // writes are the quota service's alone (an internal caller, checked in-process by its SPIFFE ID).
  map: {
    public: [
      { methods: ["GET"], paths: ["/v1/maps/*"] },
      { methods: ["POST"], paths: ["*/proofs"] },
    ],
    admin: [],
  },
  // runtime/ratelimit/global/server.ts: budgets and leases for the rate limit services (its catalogued caller); nothing
  // public, no admin routes.
  allocator: { public: [], admin: [] },
  // runtime/prooflog/monitor/service.ts: its verified checkpoint, status and equivocation evidence for anyone, and
  // gossip from anyone (a gossiped checkpoint counts only once it verifies under the log's key); no admin routes.
  monitor: {
    public: [
      { methods: ["GET"], paths: ["/v1/checkpoint", "/v1/status", "/v1/evidence"] },
      { methods: ["POST"], paths: ["/v1/gossip"] },
    ],
    admin: [],
  },
  // runtime/prooflog/witness/http.ts: add-checkpoint for the log, the monitoring read for the monitors (its catalogued
  // callers); the protocol authenticates the log by its signature. Nothing public, no admin routes.
  witness: { public: [], admin: [] },
  // runtime/certchain/service.ts: reads for the other regions' followers (its only catalogued callers); posted
  // certificates and evidence authenticate themselves by their signatures. Nothing public, no admin routes.
  certchain: { public: [], admin: [] },
};

/**
 * The grandmaster's admin API: status for any mesh identity (the simulator's and the relay's, runtime/clock/grandmaster.ts
 * and relay.ts); drills for operators, on the simulator only — the relay has none, so in cloud regions no rule names them.
 */
export const GRANDMASTER_ROUTES = {
  status: { methods: ["GET"], paths: ["/status"] },
  admin: ["/drills/*"],
} as const;
