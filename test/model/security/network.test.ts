import { describe, expect, it } from "vitest";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { GATEWAY, NAMESPACES, type NamespaceRole } from "../../../model/estate.js";
import { ENVOY_STATS_PORT, POSTGRES_PORT, regionNetworkPolicies, redisPort, type RegionNetworkInputs } from "../../../model/security/network.js";
import { MERGED_METRICS } from "../../../model/security/istio-injection.js";
import { namespaceSecurityLabels } from "../../../model/security/posture.js";
import { GATEWAY_POD_SELECTOR, RUNTIME_SERVICES, podSelector, runtimeService, type ServiceName } from "../../../model/services.js";
import { GRANDMASTER, TIME_AGENT } from "../../../model/time/hierarchy.js";
import { HEALTH_AGGREGATOR, HEALTH_POD_SELECTOR, HEALTH_PROBED_SERVICES, REPLICATION_MONITOR, REPLICATION_MONITOR_POD_SELECTOR } from "../../../model/workloads/gateway.js";
import { allowed, type Endpoint } from "./netpol-eval.js";
import { EAST_WEST_GATEWAY } from "../../../model/mesh/multi-primary.js";

const inputs: RegionNetworkInputs = {
  cloud: "aws",
  stores: { escrow: { redis: false, postgres: true }, ratelimit: { redis: true, postgres: false }, prooflog: { redis: false, postgres: true }, clock: { redis: false, postgres: false } },
  grandmaster: true,
};
const policies = regionNetworkPolicies(inputs);

const nsLabels = (role: NamespaceRole) => ({ "kubernetes.io/metadata.name": NAMESPACES[role], ...namespaceSecurityLabels(role) });
const pod = (role: NamespaceRole, labels: Record<string, string>): Endpoint => ({ namespace: NAMESPACES[role], namespaceLabels: nsLabels(role), labels });
const svc = (name: ServiceName) => pod("runtime", { ...podSelector(runtimeService(name)), "app.kubernetes.io/part-of": "meridian" });
const gateway = pod("gateway", GATEWAY_POD_SELECTOR);
const prometheus = pod("monitoring", { "app.kubernetes.io/name": "prometheus" });
const dns: Endpoint = { namespace: "kube-system", namespaceLabels: { "kubernetes.io/metadata.name": "kube-system" }, labels: { "k8s-app": "kube-dns" } };
const istiod = pod("istio", { app: "istiod" });
const internet: Endpoint = { ip: "203.0.113.7" };

describe("region network policies", () => {
  it("validate against the Kubernetes NetworkPolicy schema", () => {
    for (const p of policies) expect(() => new NetworkPolicy(p as never).validate(), p.metadata.name).not.toThrow();
    const broken = { ...policies[0]!, spec: { ...policies[0]!.spec, policyTypes: ["Sideways"] } };
    expect(() => new NetworkPolicy(broken as never).validate()).toThrow();
  });

  it("every namespace has a default-deny of both directions", () => {
    for (const ns of Object.values(NAMESPACES)) {
      const deny = policies.find((p) => p.metadata.namespace === ns && p.metadata.name === "default-deny");
      expect(deny?.spec, ns).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [], egress: [] });
    }
  });

  it("the gateway reaches exactly the services that list it as a caller, on their ports", () => {
    for (const s of RUNTIME_SERVICES) {
      const listed = s.callers.some((c) => "identity" in c && c.identity.namespace === NAMESPACES.gateway);
      for (const p of s.ports) expect(allowed(policies, gateway, svc(s.name), p.port), `${s.name}:${p.port}`).toBe(listed);
    }
    expect(allowed(policies, gateway, svc("escrow"), 9999)).toBe(false);
    expect(allowed(policies, internet, gateway, GATEWAY.targetPort)).toBe(true);
    expect(allowed(policies, internet, svc("escrow"), 8080)).toBe(false);
  });

  it("the gateway reaches the health aggregator, which reaches each probed service's HTTP port and nothing else", () => {
    const health = pod("gateway", HEALTH_POD_SELECTOR);
    expect(allowed(policies, gateway, health, HEALTH_AGGREGATOR.port)).toBe(true);
    expect(allowed(policies, internet, health, HEALTH_AGGREGATOR.port)).toBe(false);
    expect(allowed(policies, svc("escrow"), health, HEALTH_AGGREGATOR.port)).toBe(false);
    for (const s of RUNTIME_SERVICES) {
      const probed = HEALTH_PROBED_SERVICES.includes(s.name);
      expect(allowed(policies, health, svc(s.name), s.ports[0]!.port), s.name).toBe(probed);
      for (const p of s.ports.slice(1)) expect(allowed(policies, health, svc(s.name), p.port), `${s.name}:${p.port}`).toBe(false);
    }
    // The aggregator is not a way around the gateway: nothing it probes may call it, and it calls no store.
    expect(allowed(policies, health, { ip: "10.0.3.4" }, POSTGRES_PORT)).toBe(false);
  });

  it("the health aggregator reaches the replication monitor's port, which reaches Postgres by port and nothing else", () => {
    const health = pod("gateway", HEALTH_POD_SELECTOR);
    // The pod labels the Deployment renders (components/replication/monitor.ts).
    const monitor = pod("runtime", { ...REPLICATION_MONITOR_POD_SELECTOR, "app.kubernetes.io/part-of": "meridian", "app.kubernetes.io/component": "replication-monitor" });
    expect(NAMESPACES.runtime).toBe(REPLICATION_MONITOR.namespace);
    expect(allowed(policies, health, monitor, REPLICATION_MONITOR.port)).toBe(true);
    expect(allowed(policies, health, monitor, 9999)).toBe(false);
    for (const from of [gateway, internet, svc("escrow")]) expect(allowed(policies, from, monitor, REPLICATION_MONITOR.port)).toBe(false);
    expect(allowed(policies, prometheus, monitor, MERGED_METRICS.port)).toBe(true);
    expect(allowed(policies, monitor, { ip: "10.0.3.4" }, POSTGRES_PORT)).toBe(true);
    expect(allowed(policies, monitor, { ip: "10.0.3.4" }, redisPort("aws"))).toBe(false);
    expect(allowed(policies, monitor, svc("escrow"), 8080)).toBe(false);
    expect(allowed(policies, monitor, dns, 53)).toBe(true);
    expect(allowed(policies, monitor, istiod, 15012)).toBe(true);
  });

  it("services reach the services they call and their own stores only", () => {
    expect(allowed(policies, svc("escrow"), svc("clock"), 8080)).toBe(true);
    expect(allowed(policies, svc("escrow"), svc("ratelimit"), 8081)).toBe(true);
    expect(allowed(policies, svc("clock"), svc("escrow"), 8080)).toBe(false);
    expect(allowed(policies, svc("escrow"), { ip: "10.0.3.4" }, POSTGRES_PORT)).toBe(true);
    expect(allowed(policies, svc("ratelimit"), { ip: "10.0.3.4" }, POSTGRES_PORT)).toBe(false);
    expect(allowed(policies, svc("ratelimit"), { ip: "10.0.3.5" }, redisPort("aws"))).toBe(true);
    expect(allowed(policies, svc("escrow"), { ip: "10.0.3.5" }, redisPort("aws"))).toBe(false);
    expect(allowed(policies, svc("escrow"), internet, 443)).toBe(false);
  });

  it("every pod resolves names through kube-dns only, and meshed pods reach istiod", () => {
    for (const from of [svc("escrow"), gateway, pod("time", { app: GRANDMASTER.name }), pod("certManager", {}), pod("spire", {}), prometheus]) {
      expect(allowed(policies, from, dns, 53, "UDP")).toBe(true);
      expect(allowed(policies, from, { ip: "9.9.9.9" }, 53, "UDP")).toBe(false);
    }
    expect(allowed(policies, svc("escrow"), istiod, 15012)).toBe(true);
    expect(allowed(policies, pod("certManager", {}), { ip: "1.1.1.1" }, 53, "UDP")).toBe(true);
  });

  it("Prometheus scrapes meshed pods on the sidecar ports, not the app port", () => {
    expect(allowed(policies, prometheus, svc("escrow"), MERGED_METRICS.port)).toBe(true);
    expect(allowed(policies, prometheus, gateway, ENVOY_STATS_PORT)).toBe(true);
    expect(allowed(policies, prometheus, svc("escrow"), 8080)).toBe(false);
    expect(allowed(policies, svc("escrow"), prometheus, 9090)).toBe(false);
  });

  it("the grandmaster serves NTP to node addresses; its admin API only to meshed pods; services reach the node time agent", () => {
    const gm = pod("time", { app: GRANDMASTER.name });
    expect(allowed(policies, { ip: "10.1.2.3" }, gm, GRANDMASTER.containerPort, "UDP")).toBe(true);
    expect(allowed(policies, { ip: "10.1.2.3" }, gm, GRANDMASTER.adminPort)).toBe(false);
    expect(allowed(policies, svc("escrow"), gm, GRANDMASTER.adminPort)).toBe(false); // NTP only, not the admin API
    // The runtime services no longer ask the grandmaster: their clocks are measured by their node's chrony, through
    // the node time agent on the node's address (TCP, its port); nothing in their egress opens UDP.
    const node = { ip: "10.1.2.3" };
    for (const s of RUNTIME_SERVICES) {
      expect(allowed(policies, svc(s.name), node, TIME_AGENT.port), s.name).toBe(true);
      expect(allowed(policies, svc(s.name), gm, GRANDMASTER.containerPort, "UDP"), s.name).toBe(false);
    }
    expect(allowed(policies, gateway, node, TIME_AGENT.port)).toBe(false);
    expect(regionNetworkPolicies({ ...inputs, grandmaster: false }).some((p) => p.metadata.name === "allow-grandmaster")).toBe(false);
  });

  it("a relay grandmaster (cloud regions) may poll its references over NTP; the simulator reaches nothing", () => {
    const gm = pod("time", { app: GRANDMASTER.name });
    const reference = { ip: "194.58.200.20" };
    expect(allowed(regionNetworkPolicies({ ...inputs, grandmasterRelay: true }), gm, reference, 123, "UDP")).toBe(true);
    expect(allowed(regionNetworkPolicies({ ...inputs, grandmasterRelay: true }), gm, reference, 443)).toBe(false);
    expect(allowed(policies, gm, reference, 123, "UDP")).toBe(false);
  });

  it("Azure's Redis is reached on its TLS port", () => {
    const azure = regionNetworkPolicies({ ...inputs, cloud: "azure" });
    expect(allowed(azure, svc("ratelimit"), { ip: "10.0.3.5" }, 6380)).toBe(true);
    expect(allowed(azure, svc("ratelimit"), { ip: "10.0.3.5" }, 6379)).toBe(false);
  });
});

describe("region network policies in a multi-cluster mesh", () => {
  const multi = regionNetworkPolicies({ ...inputs, multiCluster: true });
  const eastWest = pod("istio", { ...EAST_WEST_GATEWAY.selector, app: EAST_WEST_GATEWAY.release });
  const peerSidecar: Endpoint = { ip: "198.51.100.20" };

  it("the east-west gateway takes 15443 (and its health port) from anywhere; a single cluster has none of it", () => {
    expect(allowed(multi, peerSidecar, eastWest, EAST_WEST_GATEWAY.port)).toBe(true);
    expect(allowed(multi, peerSidecar, eastWest, EAST_WEST_GATEWAY.statusPort)).toBe(true);
    expect(allowed(multi, peerSidecar, eastWest, 15012)).toBe(false);
    expect(allowed(policies, peerSidecar, eastWest, EAST_WEST_GATEWAY.port)).toBe(false);
    for (const p of multi) expect(() => new NetworkPolicy(p as never).validate(), p.metadata.name).not.toThrow();
  });

  it("it forwards to exactly the services another service calls (a caller may be in another region), and reaches istiod", () => {
    for (const s of RUNTIME_SERVICES) {
      const calledByServices = s.callers.some((c) => "service" in c);
      for (const p of s.ports) {
        expect(allowed(multi, eastWest, svc(s.name), p.port), `${s.name}:${p.port}`).toBe(calledByServices);
        expect(allowed(policies, eastWest, svc(s.name), p.port), `single cluster ${s.name}:${p.port}`).toBe(false);
      }
    }
    expect(allowed(multi, eastWest, istiod, 15012)).toBe(true);
    expect(allowed(multi, eastWest, pod("gateway", GATEWAY_POD_SELECTOR), GATEWAY.targetPort)).toBe(false);
  });

  it("services that call services reach the peers' east-west gateways on 15443; the ingress gateway does not", () => {
    const elsewhere: Endpoint = { ip: "203.0.113.40" };
    for (const s of RUNTIME_SERVICES) {
      const callsServices = RUNTIME_SERVICES.some((t) => t.callers.some((c) => "service" in c && c.service === s.name));
      expect(allowed(multi, svc(s.name), elsewhere, EAST_WEST_GATEWAY.port), s.name).toBe(callsServices);
      expect(allowed(policies, svc(s.name), elsewhere, EAST_WEST_GATEWAY.port), `single cluster ${s.name}`).toBe(false);
    }
    expect(allowed(multi, gateway, elsewhere, EAST_WEST_GATEWAY.port)).toBe(false);
  });
});
