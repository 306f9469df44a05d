/**
 * The shipped stacks name Azure resources by IDs with the nil UUID as their subscription or tenant
 * (`/subscriptions/00000000-0000-0000-0000-000000000000/…`, AKS OIDC issuer URLs under that tenant) and EKS
 * clusters' OIDC issuers by a zero ID (`…/id/00000000000000000000000000000001`): no subscription, tenant or
 * cluster has them, so ARM would reject each resource that refers to one and a federated credential or IAM OIDC
 * provider would trust no issuer. Outside `local` the pack refuses them until the stack names the real ones, as it refuses
 * the all-zero image digests (images.ts) and documentation egress addresses (mesh-egress.ts).
 */
import type { Finding, StackRule } from "../rule.js";

const NIL_UUID = "00000000-0000-0000-0000-000000000000";
/** An EKS issuer's ID is 32 hex digits EKS assigns; the shipped ones are zeros with a distinguishing last digit. */
const ZERO_EKS_ISSUER = /^https:\/\/oidc\.eks\.[a-z0-9-]+\.amazonaws\.com\/id\/0{24,}[0-9A-F]{0,8}$/i;

/** Every setting path under `meridian:` whose string value carries the nil UUID or a zero EKS issuer, in config order. */
export function nilUuidSettings(value: unknown, path = "meridian"): string[] {
  if (typeof value === "string") return value.includes(NIL_UUID) || ZERO_EKS_ISSUER.test(value) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => nilUuidSettings(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => nilUuidSettings(v, path === "meridian" ? `meridian:${k}` : /^[A-Za-z_][\w]*$/.test(k) ? `${path}.${k}` : `${path}["${k}"]`));
  }
  return [];
}

export const nilUuidPlaceholder: StackRule = {
  kind: "stack",
  name: "meridian-nil-uuid-placeholder",
  description:
    "Outside the local environment, no stack setting names a subscription or tenant by the nil UUID 00000000-0000-0000-0000-000000000000, or an EKS cluster's OIDC issuer by a zero ID, as the shipped stacks do (ARM rejects such resource IDs; a federated credential or IAM OIDC provider would trust no issuer).",
  enforcementLevel: "mandatory",
  needsModel: true,
  check(_resources, ctx): Finding[] {
    const spec = ctx.model?.spec;
    if (spec === undefined || spec.environment === "local") return [];
    const { stack: _stack, ...config } = spec;
    const found = nilUuidSettings(config);
    if (found.length === 0) return [];
    // One finding for all of them: one task (the subscription and tenant IDs), not one problem per setting.
    return [
      {
        message:
          `${found.length} setting${found.length === 1 ? " names" : "s name"} a subscription or tenant by the nil UUID ${NIL_UUID}, which no Azure subscription or tenant has, or an EKS issuer by a zero ID: ` +
          `${found.join(", ")}. Set the real IDs (az account show --query '{subscription: id, tenant: tenantId}'; an AKS issuer from az aks show --query oidcIssuerProfile.issuerUrl; ` +
          `an EKS issuer from aws eks describe-cluster --query cluster.identity.oidc.issuer).`,
      },
    ];
  },
};
