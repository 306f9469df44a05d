// The attestation verifier as the prod plan deploys it under the mocked providers, in every region: the Deployment
// (the runtime image by digest, one pod, Recreate, restricted pod security, probes on the kit's health paths, the
// registry's PostgreSQL reached with credentials from the operator's Secret), its ConfigMap as the service's own
// schema reads it, its Service, PodMonitor and SPIFFE ID, and who can reach it: the NetworkPolicies (evaluated, not
// string-matched) admit the SPIRE server's pods and operators, and nothing else.
import { beforeAll, describe, expect, it } from "vitest";
import { buildEstateSpec, NAMESPACES } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";
import { namespaceSecurityLabels } from "../../../model/security/posture.js";
import type { NetworkPolicyShape } from "../../../model/security/network.js";
import { GATEWAY_POD_SELECTOR, OPERATOR_POD_SELECTOR, SPIRE_SERVER_IDENTITY } from "../../../model/services.js";
import { attestService } from "../../../runtime/attest/index.js";
import { serverConfigSchema } from "../../../runtime/kit/index.js";
import { ofType, under, type Plan, type RecordedResource } from "../../harness.js";
import { allowed, type Endpoint } from "../../model/security/netpol-eval.js";
import { prodPlan } from "./plan.js";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}
interface Container {
  image: string;
  args: string[];
  env: EnvVar[];
  readinessProbe: { httpGet: { path: string; port: number } };
  livenessProbe: { httpGet: { path: string; port: number } };
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Deployment {
  spec: {
    replicas: number;
    strategy: { type: string };
    template: {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      spec: {
        serviceAccountName: string;
        securityContext: Record<string, unknown>;
        containers: Container[];
        volumes: { name: string; secret?: { secretName: string }; configMap?: { name: string } }[];
      };
    };
  };
}

const pod = (role: keyof typeof NAMESPACES, labels: Record<string, string>): Endpoint => ({
  namespace: NAMESPACES[role],
  namespaceLabels: { "kubernetes.io/metadata.name": NAMESPACES[role], ...namespaceSecurityLabels(role) },
  labels,
});

describe("the attestation verifier in the prod plan", () => {
  let plan: Plan;
  let regions: string[];
  const inRegion = (id: string) => under(plan, "meridian:workloads:RuntimeServices", `${id}-runtime`);
  const one = (rs: RecordedResource[], type: string, name: string) => {
    const r = rs.find((x) => x.type === type && x.name === name);
    if (!r) throw new Error(`no ${type} ${name}`);
    return r;
  };
  beforeAll(async () => {
    plan = await prodPlan();
    regions = plan.outputs["regions"] as string[];
  }, 120_000);

  it("runs one verifier pod per region from the runtime image by digest, restricted, probed on the kit's health paths", () => {
    expect(regions.length).toBeGreaterThan(1);
    const image = buildEstateSpec("prod", loadStack("prod")).runtime.image;
    expect(image).toMatch(/@sha256:[0-9a-f]{64}$/);
    for (const id of regions) {
      const rs = inRegion(id);
      const d = one(rs, "kubernetes:apps/v1:Deployment", `${id}-attest-deployment`).inputs as unknown as Deployment;
      // One pod, never two at once: nonces live in its memory and its registry holds a PostgreSQL advisory lock.
      expect(d.spec.replicas).toBe(1);
      expect(d.spec.strategy.type).toBe("Recreate");
      expect(rs.some((r) => r.type.includes("HorizontalPodAutoscaler") && r.name === `${id}-attest-hpa`)).toBe(false);
      const t = d.spec.template.spec;
      const c = t.containers[0]!;
      expect(c.image).toBe(image);
      expect(c.args.slice(0, 4)).toEqual(["attest", "serve", "--config", "/etc/meridian/attest/attest.json"]);
      expect(c.args[c.args.indexOf("--postgres") + 1]).toBe("$(MERIDIAN_POSTGRES_URL)");
      expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: 8080 });
      expect(c.livenessProbe.httpGet.port).toBe(8080);
      expect(["/readyz", "/healthz"]).toContain(c.livenessProbe.httpGet.path);
      expect(t.serviceAccountName).toBe("attest");
      expect(t.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
      // The database login comes from the operator's Secret, its address from the endpoints ConfigMap; never in args.
      const env = Object.fromEntries(c.env.map((e) => [e.name, e]));
      expect(env["PGUSER"]!.valueFrom!.secretKeyRef).toEqual({ name: "meridian-postgres", key: "username" });
      expect(env["PGPASSWORD"]!.valueFrom!.secretKeyRef).toEqual({ name: "meridian-postgres", key: "password" });
      expect(env["PGHOST"]!.valueFrom!.configMapKeyRef).toEqual({ name: "meridian-endpoints", key: "postgres-host" });
      expect(c.args.join(" ")).not.toMatch(/password|@/i);
      // The signer key is the operator's Secret, mounted read-only where the config points.
      const signer = t.volumes.find((v) => v.secret?.secretName === "meridian-attest-signer")!;
      expect(c.volumeMounts).toContainEqual({ name: signer.name, mountPath: "/etc/meridian/attest/signer", readOnly: true });
      expect(t.volumes).toContainEqual({ name: "config", configMap: { name: "attest-config" } });
      const svc = one(rs, "kubernetes:core/v1:Service", `${id}-attest-service`).inputs as { spec: { type: string; ports: { port: number }[] } };
      expect(svc.spec).toMatchObject({ type: "ClusterIP", ports: [{ port: 8080 }] });
      one(rs, "kubernetes:monitoring.coreos.com/v1:PodMonitor", `${id}-attest-podmonitor`);
      one(rs, "kubernetes:policy/v1:PodDisruptionBudget", `${id}-attest-pdb`);
    }
  });

  it("renders a config the service's own schema accepts once --postgres is merged in, with a registry schema per region", () => {
    const schemas = new Set<string>();
    for (const id of regions) {
      const cm = one(inRegion(id), "kubernetes:core/v1:ConfigMap", `${id}-attest-config`).inputs as { data: Record<string, string> };
      const { server, ...keys } = JSON.parse(cm.data["attest.json"]!) as Record<string, unknown> & { store: { schema: string } };
      const srv = serverConfigSchema.parse(server);
      // Revocation is an operator route: the kit takes the operator from the sidecar's XFCC.
      expect(srv.identity).toMatchObject({ xfcc: "istio-sidecar", spiffeId: "spiffe://prod.meridian.internal/ns/meridian/sa/attest" });
      const cfg = attestService.config.parse({ ...keys, store: { ...keys.store, postgres: "postgresql://db:5432/meridian?sslmode=require" } });
      expect(cfg.key).toBe("/etc/meridian/attest/signer/signer.key");
      expect(cfg.log).toBe("http://prooflog.meridian.svc.cluster.local:8080");
      expect(cfg.spire).toEqual({ trustDomain: "prod.meridian.internal", maxResultAgeSeconds: 600 });
      schemas.add(keys.store.schema);
    }
    expect(schemas.size).toBe(regions.length);
    // The check can fail: a config the schema does not know is refused.
    expect(() => attestService.config.parse({ key: "k", nodes: {}, stray: true })).toThrow();
  });

  it("gives the verifier its SPIFFE ID, and lets only the SPIRE server and operators reach it", () => {
    const policies = ofType(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    for (const id of regions) {
      const spiffe = plan.resources.find((r) => r.type.endsWith("ClusterSPIFFEID") && r.name === `${id}-spiffeid-attest`);
      expect((spiffe!.inputs as { spec: { workloadSelectorTemplates: string[] } }).spec.workloadSelectorTemplates).toEqual(["k8s:sa:attest"]);
      const mine = policies.filter((p) => p.name.startsWith(`${id}-`)).map((p) => p.inputs as unknown as NetworkPolicyShape);
      const attest = pod("runtime", { "app.kubernetes.io/name": "attest" });
      expect(allowed(mine, pod("spire", SPIRE_SERVER_IDENTITY.selector), attest, 8080), `${id}: SPIRE server → attest`).toBe(true);
      expect(allowed(mine, pod("runtime", OPERATOR_POD_SELECTOR), attest, 8080), `${id}: operator → attest`).toBe(true);
      // SPIRE's agents (same namespace, other pods), the gateway and the other services: refused.
      expect(allowed(mine, pod("spire", { "app.kubernetes.io/name": "agent" }), attest, 8080), `${id}: SPIRE agent → attest`).toBe(false);
      expect(allowed(mine, pod("gateway", GATEWAY_POD_SELECTOR), attest, 8080), `${id}: gateway → attest`).toBe(false);
      expect(allowed(mine, pod("runtime", { "app.kubernetes.io/name": "escrow" }), attest, 8080), `${id}: escrow → attest`).toBe(false);
      // The verifier appends to the proof log and reaches its registry's PostgreSQL.
      expect(allowed(mine, attest, pod("runtime", { "app.kubernetes.io/name": "prooflog" }), 8080), `${id}: attest → prooflog`).toBe(true);
      expect(allowed(mine, attest, { ip: "10.20.30.40" }, 5432), `${id}: attest → PostgreSQL`).toBe(true);
    }
  });
});
