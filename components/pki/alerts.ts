/**
 * PkiAlerts (`meridian:pki:PkiAlerts`): the certificate, SPIFFE and SLO rule groups of model/rotation/alerts
 * as one PrometheusRule per regional cluster, in the monitoring namespace. The expressions and thresholds
 * are the model's; this only renders them.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes";
import { NAMESPACES, type EstateSpec, type Region } from "../../model/estate.js";
import { isAlert, pkiRuleGroups } from "../../model/rotation/alerts.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { customResource, type CustomResourceShape } from "./charts.js";

export interface PkiAlertsArgs {
  spec: EstateSpec;
  region: Region;
  cluster: RegionCluster;
}

export const RULE_NAME = "meridian-pki";

export class PkiAlerts extends pulumi.ComponentResource {
  public readonly rule: k8s.apiextensions.CustomResource;

  constructor(name: string, args: PkiAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:pki:PkiAlerts", name, {}, opts);
    const { spec, region, cluster } = args;
    // The PrometheusRule CRD comes with the monitoring stack, which the namespace's owner installs.
    this.rule = customResource(`${region.id}-${RULE_NAME}`, prometheusRule(spec, region), { parent: this, provider: cluster.provider, dependsOn: [cluster.namespaces.monitoring] });
    this.registerOutputs({});
  }
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
