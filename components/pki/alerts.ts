/**
 * PkiAlerts (`meridian:pki:PkiAlerts`): the certificate, private-CA, SPIFFE and SLO rule groups of
 * model/rotation/alerts as one PrometheusRule per regional cluster, in the monitoring namespace, and
 * x509-certificate-exporter watching cert-manager's namespace, the only source of expiry data for the
 * offline-signed intermediates and the root. The expressions and thresholds are the model's; this renders them.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes";
import { NAMESPACES, type EstateSpec, type Region } from "../../model/estate.js";
import { isAlert, pkiRuleGroups } from "../../model/rotation/alerts.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { customResource, release, type CustomResourceShape } from "./charts.js";

export interface PkiAlertsArgs {
  spec: EstateSpec;
  region: Region;
  cluster: RegionCluster;
}

const RULE_NAME = "meridian-pki";

export class PkiAlerts extends pulumi.ComponentResource {
  public readonly rule: k8s.apiextensions.CustomResource;
  public readonly exporter: k8s.helm.v3.Release;

  constructor(name: string, args: PkiAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:pki:PkiAlerts", name, {}, opts);
    const { spec, region, cluster } = args;
    // The PrometheusRule CRD comes with the monitoring stack, which the namespace's owner installs.
    this.exporter = release(
      `${region.id}-x509-certificate-exporter`,
      "x509Exporter",
      cluster.namespaces.monitoring.metadata.name,
      x509ExporterValues(),
      { parent: this, provider: cluster.provider },
      spec.imageDigests,
    );
    this.rule = customResource(`${region.id}-${RULE_NAME}`, prometheusRule(spec, region), { parent: this, provider: cluster.provider, dependsOn: [cluster.namespaces.monitoring] });
    this.registerOutputs({});
  }
}

/** Only cert-manager's namespace, both the chain (tls.crt) and the trust anchor (ca.crt); our rules, not the chart's. */
function x509ExporterValues(): Record<string, unknown> {
  return {
    secretsExporter: {
      includeNamespaces: [NAMESPACES.certManager],
      secretTypes: [
        { type: "kubernetes.io/tls", key: "tls.crt" },
        { type: "kubernetes.io/tls", key: "ca.crt" },
      ],
    },
    prometheusServiceMonitor: { create: true },
    prometheusRules: { create: false },
  };
}

export function prometheusRule(spec: EstateSpec, region: Region): CustomResourceShape {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: RULE_NAME, namespace: NAMESPACES.monitoring, labels: { role: "alert-rules", "meridian.dev/region": region.id } },
    spec: {
      groups: pkiRuleGroups(spec).map((g) => ({
        name: g.name,
        rules: g.rules.map((r) =>
          isAlert(r)
            ? {
                alert: r.alert,
                expr: r.expr,
                for: r.for,
                labels: { severity: r.severity, area: "pki" },
                annotations: { summary: r.summary, runbook: `meridian runbook cert-expiry --stack ${spec.stack}` },
              }
            : { record: r.record, expr: r.expr },
        ),
      })),
    },
  };
}
