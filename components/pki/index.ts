/**
 * The PKI area (§14.2): per regional cluster, cert-manager with ACME and the private chain, SPIRE
 * identities, Istio mTLS with per-service authorization, and expiry/SLO alerting. Renewal windows come
 * from the rotation plan (model/rotation), so regions renew in their wave's order.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes";
import { regionById } from "../../model/estate.js";
import { activeAcmeIssuer } from "../../model/rotation/issuers.js";
import { planRotation, waveOf } from "../../model/rotation/plan.js";
import type { Area, EstateContext } from "../context.js";
import { PkiAlerts } from "./alerts.js";
import { CertManager } from "./cert-manager.js";
import { MeshTls } from "./mesh-tls.js";
import { Spire } from "./spire.js";

export const pkiArea: Area = {
  name: "pki",
  build(ctx: EstateContext) {
    const { spec } = ctx;
    // Only the wave order and renewBefore matter here, not wall-clock times: start at 0.
    const plan = planRotation(spec, 0);
    const inventory: Record<string, pulumi.Output<string[]>> = {};
    for (const [id, cluster] of ctx.clusters) {
      const region = regionById(spec, id);
      const opts = { parent: ctx.parent };
      const certManager = new CertManager(`${id}-cert-manager`, { spec, region, cluster, gatewayRenewBefore: waveOf(plan, id).renewBefore }, opts);
      const spire = new Spire(`${id}-spire`, { spec, region, cluster, upstream: [certManager.release, certManager.intermediateIssuer] }, opts);
      const mesh = new MeshTls(`${id}-mesh-tls`, { spec, region, cluster, spire: spire.release }, opts);
      const alerts = new PkiAlerts(`${id}-pki-alerts`, { spec, region, cluster }, opts);
      inventory[id] = customResourceInventory([...certManager.customResources, ...spire.customResources, ...mesh.customResources, alerts.rule]);
    }
    return {
      trustDomain: spec.pki.trustDomain,
      acmeIssuer: activeAcmeIssuer(spec),
      mtls: spec.pki.mtls,
      customResources: inventory,
      rotationWaves: plan.waves.map((w) => ({ wave: w.name, regions: w.regions, renewBefore: w.renewBefore })),
    };
  },
};

/** `Kind namespace/name` of every PKI custom resource in a region: the plan's inventory of what gets applied. */
function customResourceInventory(resources: k8s.apiextensions.CustomResource[]): pulumi.Output<string[]> {
  return pulumi.all(
    resources.map((r) => pulumi.all([r.kind, r.metadata]).apply(([kind, m]) => `${kind} ${m.namespace ? `${m.namespace}/` : ""}${m.name}`)),
  );
}
