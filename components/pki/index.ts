/**
 * The PKI area (§14.2): per regional cluster, cert-manager with ACME and the private chain, SPIRE
 * identities, Istio mTLS with per-service authorization, and expiry/SLO alerting. Renewal windows come
 * from the rotation plan (model/rotation), so regions renew in their wave's order.
 */
import { regionById } from "../../model/estate.js";
import { activeAcmeIssuer } from "../../model/rotation/issuers.js";
import { planRotation, waveOf } from "../../model/rotation/plan.js";
import type { Area, EstateContext } from "../context.js";
import { PkiAlerts } from "./alerts.js";
import { CertManager } from "./cert-manager.js";
import { MeshTls, istiodValues } from "./mesh-tls.js";
import { EastWestGateway, RemoteSecrets } from "./multi-cluster.js";
import { Spire, spireValues } from "./spire.js";
import { meshMember, multiPrimaryMesh } from "../../model/mesh/multi-primary.js";
import { assertXfccTrustSound, regionXfccTrustInputs } from "./xfcc-trust.js";

export const pkiArea: Area = {
  name: "pki",
  build(ctx: EstateContext) {
    const { spec } = ctx;
    // Only the wave order and renewBefore matter here, not wall-clock times: start at 0.
    const plan = planRotation(spec, 0);
    // Two or more regions: multi-primary on different networks, east-west gateways and remote secrets (docs/pki.md).
    const multiCluster = multiPrimaryMesh(spec);
    const eastWest = new Map<string, { gateway: EastWestGateway; istiod: MeshTls["istiod"] }>();
    for (const [id, cluster] of ctx.clusters) {
      const region = regionById(spec, id);
      // Services that read their callers from the sidecar's XFCC must be reachable through it alone: refuse the plan otherwise.
      assertXfccTrustSound(regionXfccTrustInputs(spec, region));
      const opts = { parent: ctx.parent };
      const certManager = new CertManager(`${id}-cert-manager`, { spec, region, cluster, gatewayRenewBefore: waveOf(plan, id).renewBefore }, opts);
      const spire = new Spire(`${id}-spire`, { spec, region, cluster, upstream: [certManager.release, certManager.intermediateIssuer, ...certManager.approval.policies] }, opts);
      const mesh = new MeshTls(`${id}-mesh-tls`, { spec, region, cluster, spire: spire.release }, opts);
      ctx.pki.set(id, { mesh: [mesh.base, mesh.istiod], gatewayCertificate: certManager.gatewayCertificate });
      const member = meshMember(spec, id);
      if (multiCluster && member)
        eastWest.set(id, { gateway: new EastWestGateway(`${id}-east-west`, { mesh: multiCluster, member, cluster, istio: [mesh.base, mesh.istiod] }, opts), istiod: mesh.istiod });
      new PkiAlerts(`${id}-pki-alerts`, { spec, region, cluster }, opts);
    }
    if (multiCluster) {
      // Each istiod reads every peer's API server with the token that peer issued to it.
      for (const [id, cluster] of ctx.clusters) {
        const region = regionById(spec, id);
        const member = meshMember(spec, id)!;
        const peers = multiCluster.members.filter((m) => m.region !== id && eastWest.has(m.region)).map((m) => ({ member: m, token: eastWest.get(m.region)!.gateway.readerTokens.get(id)! }));
        const rendered = {
          istiodGlobal: istiodValues(spec, region)["global"] as Record<string, unknown>,
          spireClusterName: (spireValues(spec, region)["global"] as { spire: { clusterName: unknown } }).spire.clusterName,
        };
        new RemoteSecrets(`${id}-remote-secrets`, { mesh: multiCluster, member, cluster, peers, rendered, istiod: eastWest.get(id)!.istiod }, { parent: ctx.parent });
      }
    }
    return {
      trustDomain: spec.pki.trustDomain,
      acmeIssuer: activeAcmeIssuer(spec),
      mtls: spec.pki.mtls,
      rotationWaves: plan.waves.map((w) => ({ wave: w.name, regions: w.regions, renewBefore: w.renewBefore })),
    };
  },
};
