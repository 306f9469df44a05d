/**
 * Mesh mTLS: every Istio PeerAuthentication is STRICT (no PERMISSIVE or DISABLE, mesh-wide or per port),
 * and wherever the mesh is installed a mesh-wide STRICT policy exists in the root namespace.
 */
import { prop, type Finding, type ResourceLike, type ResourceRule, type StackRule } from "../rule.js";

const PEER_AUTHENTICATION = /^kubernetes:security\.istio\.io\/v1(beta1)?:PeerAuthentication$/;
const ISTIO_ROOT_NAMESPACE = "istio-system";

export const peerAuthenticationStrict: ResourceRule = {
  kind: "resource",
  name: "meridian-mtls-strict",
  description: "Istio PeerAuthentication policies require STRICT mTLS.",
  enforcementLevel: "mandatory",
  check(r) {
    if (!PEER_AUTHENTICATION.test(r.type)) return [];
    const out: string[] = [];
    const mode = prop(r.props, "spec.mtls.mode");
    if (mode !== "STRICT") out.push(`spec.mtls.mode is ${mode === undefined ? "unset (inherits, PERMISSIVE by default)" : String(mode)}; expected STRICT`);
    const ports = prop(r.props, "spec.portLevelMtls");
    if (ports && typeof ports === "object") {
      for (const [port, cfg] of Object.entries(ports)) {
        const m = prop(cfg, "mode");
        if (m !== "STRICT") out.push(`spec.portLevelMtls.${port}.mode is ${String(m)}; expected STRICT`);
      }
    }
    return out;
  },
};

function meshInstalled(resources: ResourceLike[]): boolean {
  return resources.some(
    (r) =>
      r.type.includes("istio.io/") ||
      (r.type.startsWith("kubernetes:helm.sh/") &&
        /^(istiod|istio-base|base)$/.test(String(prop(r.props, "chart") ?? "")) &&
        String(prop(r.props, "repositoryOpts.repo") ?? prop(r.props, "chart")).includes("istio")),
  );
}

export const meshWideStrictPresent: StackRule = {
  kind: "stack",
  name: "meridian-mtls-mesh-wide",
  description: "Where Istio is installed, a mesh-wide STRICT PeerAuthentication exists in the root namespace.",
  enforcementLevel: "mandatory",
  check(resources): Finding[] {
    if (!meshInstalled(resources)) return [];
    const meshWide = resources.filter(
      (r) =>
        PEER_AUTHENTICATION.test(r.type) &&
        prop(r.props, "metadata.namespace") === ISTIO_ROOT_NAMESPACE &&
        prop(r.props, "spec.selector") === undefined &&
        prop(r.props, "spec.mtls.mode") === "STRICT",
    );
    return meshWide.length ? [] : [{ message: `Istio is installed but no PeerAuthentication in ${ISTIO_ROOT_NAMESPACE} sets spec.mtls.mode STRICT mesh-wide (without a selector)` }];
  },
};
