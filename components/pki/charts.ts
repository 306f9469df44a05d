/**
 * Chart pins and the custom-resource helper every PKI component uses. Versions are pinned so a
 * `pulumi up` is reproducible; bump them here, in one place.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { chartImageValues, mergeValues } from "../../model/images/charts.js";

export const CHARTS = {
  certManager: { chart: "cert-manager", version: "v1.19.1", repo: "https://charts.jetstack.io" },
  // Built against cert-manager v1.19.1 (its go.mod at this tag).
  approverPolicy: { chart: "cert-manager-approver-policy", version: "v0.22.2", repo: "https://charts.jetstack.io" },
  // Exports each TLS Secret's notAfter: the offline-signed intermediates are not cert-manager Certificates.
  x509Exporter: { chart: "x509-certificate-exporter", version: "4.2.0", repo: "https://charts.enix.io" },
  spireCrds: { chart: "spire-crds", version: "0.5.0", repo: "https://spiffe.github.io/helm-charts-hardened/" },
  spire: { chart: "spire", version: "0.27.0", repo: "https://spiffe.github.io/helm-charts-hardened/" },
  istioBase: { chart: "base", version: "1.28.0", repo: "https://istio-release.storage.googleapis.com/charts" },
  istiod: { chart: "istiod", version: "1.28.0", repo: "https://istio-release.storage.googleapis.com/charts" },
  // The CNI node agent redirects pod traffic, so injected pods need no NET_ADMIN init container (Pod Security `restricted`).
  istioCni: { chart: "cni", version: "1.28.0", repo: "https://istio-release.storage.googleapis.com/charts" },
  // The regional ingress (components/workloads/gateway.ts): Envoy injected with istiod's `gateway` template.
  istioGateway: { chart: "gateway", version: "1.28.0", repo: "https://istio-release.storage.googleapis.com/charts" },
} as const;
export type ChartName = keyof typeof CHARTS;

export const PART_OF = { "app.kubernetes.io/part-of": "meridian", "app.kubernetes.io/managed-by": "pulumi" } as const;

/**
 * A pinned chart as a helm.v3.Release (rendered under mocks, unlike helm.v4.Chart), every image it runs pinned
 * by digest through the chart's own value keys: `imageDigests` is the stack's meridian:imageDigests
 * (model/images/charts.ts, which also holds the vendored digests).
 */
export function release(
  name: string,
  which: ChartName,
  namespace: pulumi.Input<string>,
  values: Record<string, unknown>,
  opts: pulumi.CustomResourceOptions,
  imageDigests: Record<string, string>,
): k8s.helm.v3.Release {
  const { chart, version, repo } = CHARTS[which];
  const pinned = mergeValues(values, chartImageValues(chart, version, imageDigests));
  return new k8s.helm.v3.Release(
    name,
    { name: chart === "base" || chart === "cni" ? `istio-${chart}` : chart, chart, version, namespace, repositoryOpts: { repo }, values: pinned, atomic: true, cleanupOnFail: true },
    opts,
  );
}

export interface CustomResourceShape {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: pulumi.Input<string>; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

/** A custom resource; callers pass `dependsOn` the chart that installs its CRD (the CRD race). */
export function customResource(name: string, shape: CustomResourceShape, opts: pulumi.CustomResourceOptions): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(name, { ...shape, metadata: { ...shape.metadata, labels: { ...PART_OF, ...shape.metadata.labels } } }, opts);
}
