/**
 * Validators for every custom resource kind the PKI area creates: the real CRD schemas shipped by
 * @kubernetes-models/{cert-manager,istio,prometheus-operator}, and for kinds no package ships (SPIRE's
 * ClusterSPIFFEID, approver-policy's CertificateRequestPolicy) the CRDs vendored from their charts
 * (crd-schemas.ts). `clusterSpiffeIdSchema` (zod) is only a typed view for tests that read the fields.
 *
 * Istio: the package ships PeerAuthentication, DestinationRule, Gateway and VirtualService only as v1beta1
 * (AuthorizationPolicy also as v1). Istio serves v1 and v1beta1 of these CRDs from one identical schema, so v1 objects are validated
 * with the v1beta1 schema after checking that their apiVersion is the served v1.
 */
import { z } from "zod";
import { Certificate } from "@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate";
import { ClusterIssuer } from "@kubernetes-models/cert-manager/cert-manager.io/v1/ClusterIssuer";
import { AuthorizationPolicy } from "@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy";
import { PeerAuthentication } from "@kubernetes-models/istio/security.istio.io/v1beta1/PeerAuthentication";
import { DestinationRule } from "@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule";
import { Gateway } from "@kubernetes-models/istio/networking.istio.io/v1beta1/Gateway";
import { VirtualService } from "@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService";
import { EnvoyFilter } from "@kubernetes-models/istio/networking.istio.io/v1alpha3/EnvoyFilter";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { crdProblems } from "./crd-schemas.js";

interface Validatable {
  validate(): void;
}
type Ctor = new (data: never) => Validatable;

const labelSelector = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z.array(z.object({ key: z.string(), operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]), values: z.array(z.string()).optional() }).strict()).optional(),
  })
  .strict();
const goDuration = z.string().regex(/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);

export const clusterSpiffeIdSchema = z
  .object({
    apiVersion: z.literal("spire.spiffe.io/v1alpha1"),
    kind: z.literal("ClusterSPIFFEID"),
    metadata: z.object({ name: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/), labels: z.record(z.string(), z.string()).optional() }).strict(),
    spec: z
      .object({
        spiffeIDTemplate: z.string().min(1),
        namespaceSelector: labelSelector.optional(),
        podSelector: labelSelector.optional(),
        workloadSelectorTemplates: z.array(z.string()).optional(),
        dnsNameTemplates: z.array(z.string()).optional(),
        federatesWith: z.array(z.string()).optional(),
        ttl: goDuration.optional(),
        jwtTtl: goDuration.optional(),
        admin: z.boolean().optional(),
        downstream: z.boolean().optional(),
        className: z.string().optional(),
        fallback: z.boolean().optional(),
        hint: z.string().optional(),
        autoPopulateDNSNames: z.boolean().optional(),
      })
      .strict(),
  })
  .strict();

const models: Record<string, { model: Ctor; servedAs?: string }> = {
  "cert-manager.io/v1/Certificate": { model: Certificate as unknown as Ctor },
  "cert-manager.io/v1/ClusterIssuer": { model: ClusterIssuer as unknown as Ctor },
  "security.istio.io/v1/AuthorizationPolicy": { model: AuthorizationPolicy as unknown as Ctor },
  "security.istio.io/v1/PeerAuthentication": { model: PeerAuthentication as unknown as Ctor, servedAs: "security.istio.io/v1beta1" },
  "networking.istio.io/v1/DestinationRule": { model: DestinationRule as unknown as Ctor, servedAs: "networking.istio.io/v1beta1" },
  "networking.istio.io/v1/Gateway": { model: Gateway as unknown as Ctor, servedAs: "networking.istio.io/v1beta1" },
  "networking.istio.io/v1/VirtualService": { model: VirtualService as unknown as Ctor, servedAs: "networking.istio.io/v1beta1" },
  "monitoring.coreos.com/v1/PrometheusRule": { model: PrometheusRule as unknown as Ctor },
  // The patch values are opaque to the CRD (Envoy's protos judge them: test/envoy-proto.ts).
  "networking.istio.io/v1alpha3/EnvoyFilter": { model: EnvoyFilter as unknown as Ctor },
};

/** Validate one custom resource against its CRD schema; throws naming the resource and the violations. */
export function validateCustomResource(resource: { apiVersion: string; kind: string; [k: string]: unknown }): void {
  const key = `${resource.apiVersion}/${resource.kind}`;
  const vendored = crdProblems(resource);
  if (vendored !== undefined) {
    if (vendored.length > 0) throw new Error(`${key}: ${vendored.join("; ")}`);
    return;
  }
  const entry = models[key];
  if (!entry) throw new Error(`no CRD schema known for ${key}`);
  const data = entry.servedAs ? { ...resource, apiVersion: entry.servedAs } : resource;
  new entry.model(data as never).validate();
}

export const KNOWN_KINDS = [...Object.keys(models), "spire.spiffe.io/v1alpha1/ClusterSPIFFEID", "policy.cert-manager.io/v1alpha1/CertificateRequestPolicy"];
/** The kinds the PKI area creates (the ingress's VirtualService and rate-limit EnvoyFilter are the workloads area's; the PKI area's Gateway is the cross-network one). */
export const PKI_KINDS = KNOWN_KINDS.filter((k) => !["networking.istio.io/v1/VirtualService", "networking.istio.io/v1alpha3/EnvoyFilter"].includes(k));
