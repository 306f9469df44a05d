/**
 * The security area: per regional cluster, the NetworkPolicies that confine every Meridian namespace
 * (model/security/network.ts) and the operator identity's ServiceAccount. Namespace labels (injection, Pod Security) are the cluster's own
 * (components/cluster); mesh authorization is the PKI area's (components/pki/mesh-tls.ts).
 */
import * as k8s from "@pulumi/kubernetes";
import { OPERATOR_IDENTITY, OPERATOR_POD_SELECTOR, spiffeId } from "../../model/services.js";
import { regionNetworkInputs } from "../../model/security/network.js";
import type { Area } from "../context.js";
import { NetworkPolicies } from "./network-policies.js";

export const securityArea: Area = {
  name: "security",
  build(ctx) {
    const counts: Record<string, number> = {};
    for (const [id, cluster] of ctx.clusters) {
      const np = new NetworkPolicies(`${id}-network-policies`, { cluster, inputs: regionNetworkInputs(ctx.spec, id, cluster.region.cloud) }, { parent: ctx.parent });
      counts[id] = np.policies.length;
      // The operator identity's service account (model/services.ts): RBAC on creating pods with it decides who is an operator.
      new k8s.core.v1.ServiceAccount(
        `${id}-${OPERATOR_IDENTITY.serviceAccount}`,
        {
          metadata: {
            name: OPERATOR_IDENTITY.serviceAccount,
            namespace: OPERATOR_IDENTITY.namespace,
            labels: { "app.kubernetes.io/part-of": "meridian", ...OPERATOR_POD_SELECTOR },
            annotations: { "meridian.dev/spiffe-id": spiffeId(ctx.spec.pki.trustDomain, OPERATOR_IDENTITY) },
          },
          automountServiceAccountToken: false,
        },
        { parent: np, provider: cluster.provider, dependsOn: [cluster.namespaces.runtime] },
      );
    }
    return { networkPolicies: counts };
  },
};
