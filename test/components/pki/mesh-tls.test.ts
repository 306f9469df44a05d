import { beforeAll, describe, expect, it } from "vitest";
import { byName, evaluateStack, ofType, type Plan, sharedPlan } from "../../harness.js";
import { RUNTIME_SERVICES, allowedCallerIds, podSelector, serviceHost } from "../../../model/services.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { ledgerRegion } from "../../../model/workloads/config.js";
import { healthAggregatorConfig } from "../../../model/workloads/gateway.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";

interface Rule {
  from: { source: { principals: string[] } }[];
  to: { operation: { ports: string[]; methods?: string[]; paths?: string[] } }[];
}

const spec = buildEstateSpec("prod", parseEstateConfig(readStackConfigMap("prod"), "prod"));
/** The rate limiters are admitted by each region's own identity. */
const prodRegions = spec.regions.map((r) => r.id);

describe("meridian:pki:MeshTls", () => {
  let prod: Plan;
  beforeAll(async () => {
    prod = await sharedPlan("prod");
  }, 60_000);

  it("prod: STRICT mTLS mesh-wide (PeerAuthentication `default` in the root namespace) on every cluster", () => {
    const pas = ofType(prod, "kubernetes:security.istio.io/v1:PeerAuthentication").filter((pa) => (pa.inputs["metadata"] as { namespace: string }).namespace === "istio-system");
    expect(pas).toHaveLength(6);
    for (const pa of pas) {
      expect(pa.inputs["metadata"]).toMatchObject({ name: "default", namespace: "istio-system" });
      expect(pa.inputs["spec"]).toEqual({ mtls: { mode: "STRICT" } });
    }
  });

  it("istiod runs with the environment's trust domain and takes workload certificates from SPIRE", () => {
    const values = byName(prod, "kubernetes:helm.sh/v3:Release", "gcp-asne1-istiod").inputs["values"] as Record<string, Record<string, unknown>>;
    expect(values["meshConfig"]).toMatchObject({ trustDomain: "prod.meridian.internal" });
    expect(values["global"]).toMatchObject({ multiCluster: { clusterName: "gcp-asne1" } });
    expect(String((values["sidecarInjectorWebhook"] as { templates: { spire: string } }).templates.spire)).toContain("csi.spiffe.io");
  });

  it("every runtime service gets an ISTIO_MUTUAL DestinationRule", () => {
    for (const s of RUNTIME_SERVICES) {
      const dr = byName(prod, "kubernetes:networking.istio.io/v1:DestinationRule", `aws-euw1-meridian-destinationrule-${s.name}`);
      expect(dr.inputs["spec"]).toEqual({ host: serviceHost(s), trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } });
    }
  });

  it("denies by default and allows each service exactly its catalogued callers (plus the operator on admin routes), on its own ports", () => {
    const deny = byName(prod, "kubernetes:security.istio.io/v1:AuthorizationPolicy", "aws-euw1-meridian-authorizationpolicy-default-deny");
    expect(deny.inputs["spec"]).toEqual({});
    const operator = "prod.meridian.internal/ns/meridian/sa/meridian-operator";
    // The gateway's health aggregator: GET/HEAD on each probed service's readiness path, nothing else.
    const health = "prod.meridian.internal/ns/meridian-gateway/sa/meridian-health";
    for (const s of RUNTIME_SERVICES) {
      const ap = byName(prod, "kubernetes:security.istio.io/v1:AuthorizationPolicy", `aws-euw1-meridian-authorizationpolicy-${s.name}-callers`);
      const spec = ap.inputs["spec"] as { selector: unknown; action: string; rules: Rule[] };
      expect(spec.action).toBe("ALLOW");
      expect(spec.selector).toEqual({ matchLabels: podSelector(s) });
      const principals = [...new Set(spec.rules.flatMap((r) => r.from[0]!.source.principals))].filter((p) => p !== operator && p !== health).sort();
      expect(principals).toEqual(allowedCallerIds("prod.meridian.internal", s.name, prodRegions).map((id) => id.replace("spiffe://", "")));
      for (const r of spec.rules) for (const t of r.to) expect(t.operation.ports).toEqual(s.ports.map((p) => String(p.port)));
    }
    // Concretely: only escrow, quota, the attestation verifier, the map, the monitors and the gateway may reach the proof log; the gateway may not reach the clock.
    const principalsOf = (name: string) =>
      (byName(prod, "kubernetes:security.istio.io/v1:AuthorizationPolicy", `aws-euw1-meridian-authorizationpolicy-${name}-callers`).inputs["spec"] as { rules: Rule[] }).rules.flatMap(
        (r) => r.from[0]!.source.principals,
      );
    expect(principalsOf("prooflog").sort()).toEqual([
      "prod.meridian.internal/ns/meridian-gateway/sa/meridian-gateway",
      health,
      "prod.meridian.internal/ns/meridian/sa/attest",
      "prod.meridian.internal/ns/meridian/sa/certchain",
      "prod.meridian.internal/ns/meridian/sa/escrow",
      "prod.meridian.internal/ns/meridian/sa/map",
      "prod.meridian.internal/ns/meridian/sa/prooflog-monitor",
      "prod.meridian.internal/ns/meridian/sa/quota",
    ]);
    // The verifier answers the SPIRE server's own SVID (not an agent's) on every route but revocation, and operators on that.
    expect(principalsOf("attest").sort()).toEqual([operator, "prod.meridian.internal/spire/server"]);
    // The health aggregator's rule: each probed service's readiness path (the path its signal's probe asks), and only that.
    const probed = Object.fromEntries(
      healthAggregatorConfig(spec, ledgerRegion(spec))
        .signals.flatMap((s) => s.probes)
        .map((p) => [p.name, new URL(p.url).pathname]),
    );
    for (const s of RUNTIME_SERVICES) {
      const rules = (byName(prod, "kubernetes:security.istio.io/v1:AuthorizationPolicy", `aws-euw1-meridian-authorizationpolicy-${s.name}-callers`).inputs["spec"] as { rules: Rule[] }).rules;
      const mine = rules.filter((r) => r.from[0]!.source.principals.includes(health));
      if (probed[s.name]) expect(mine.map((r) => r.to.map((t) => [t.operation.methods, t.operation.paths]))).toEqual([[[["GET", "HEAD"], [probed[s.name]]]]]);
      else expect(mine).toEqual([]);
    }
    expect(principalsOf("clock")).not.toContain("prod.meridian.internal/ns/meridian-gateway/sa/meridian-gateway");
    expect(principalsOf("ratelimit")).toContain(operator);
    // The grandmaster's namespace denies by default too; its drills answer the operator only (authorization.test.ts evaluates it).
    expect(byName(prod, "kubernetes:security.istio.io/v1:AuthorizationPolicy", "aws-euw1-meridian-time-authorizationpolicy-default-deny").inputs["spec"]).toEqual({});
    byName(prod, "kubernetes:security.istio.io/v1:AuthorizationPolicy", "aws-euw1-meridian-time-authorizationpolicy-grandmaster-admin");
  });

  it("istiod injects with the CNI agent and RuntimeDefault seccomp, only where namespaces ask for it", () => {
    const values = byName(prod, "kubernetes:helm.sh/v3:Release", "aws-euw1-istiod").inputs["values"] as Record<string, Record<string, unknown>>;
    expect(values["cni"]).toEqual({ enabled: true });
    expect(values["global"]).toMatchObject({ proxy: { privileged: false, seccompProfile: { type: "RuntimeDefault" } } });
    expect(values["sidecarInjectorWebhook"]).toMatchObject({ enableNamespacesByDefault: false });
    const cni = byName(prod, "kubernetes:helm.sh/v3:Release", "gcp-asne1-istio-cni");
    expect(cni.inputs).toMatchObject({ chart: "cni", version: "1.28.0", namespace: "istio-system", values: { global: { platform: "gke" } } });
    // Outside GKE only the install-cni image, pinned by digest (model/images/charts.ts; the shipped placeholder here).
    expect(byName(prod, "kubernetes:helm.sh/v3:Release", "aws-euw1-istio-cni").inputs["values"]).toEqual({ image: `docker.io/istio/install-cni@sha256:${"0".repeat(64)}` });
  });

  it("a PERMISSIVE setting (a migration step) reaches the mesh-wide PeerAuthentication", async () => {
    const { readStackConfigMap } = await import("../../../stacks/load.js");
    const pki = readStackConfigMap("dev")["meridian:pki"] as Record<string, unknown>;
    // The PKI area is the one that renders PeerAuthentications.
    const dev = await evaluateStack("dev", { areas: ["pki"], configOverrides: { "meridian:pki": { ...pki, mtls: "PERMISSIVE" } } });
    const all = ofType(dev, "kubernetes:security.istio.io/v1:PeerAuthentication");
    const mesh = all.filter((pa) => (pa.inputs["metadata"] as { name: string }).name === "default");
    expect(mesh.length).toBeGreaterThan(0);
    for (const pa of mesh) expect(pa.inputs["spec"]).toEqual({ mtls: { mode: "PERMISSIVE" } });
    // The services that read their callers from the sidecar's XFCC stay STRICT (components/pki/xfcc-trust.ts).
    const strict = all.filter((pa) => pa !== undefined && !mesh.includes(pa));
    expect(new Set(strict.map((pa) => (pa.inputs["metadata"] as { name: string }).name))).toEqual(
      new Set([
        "ratelimit-strict",
        "clock-strict",
        "prooflog-strict",
        "quota-strict",
        "escrow-strict",
        "attest-strict",
        "map-strict",
        "allocator-strict",
        "monitor-strict",
        "witness-strict",
        "certchain-strict",
        "grandmaster-strict",
      ]),
    );
    for (const pa of strict) expect((pa.inputs["spec"] as { mtls: unknown }).mtls).toEqual({ mode: "STRICT" });
  }, 30_000);
});
