/**
 * Certificate lifetimes: cert-manager Certificates have a duration within bounds and a renewBefore that
 * leaves room for failed renewals without constant churn (as a share of the duration). CA certificates
 * (`spec.isCA`) are held to their own, longer bounds.
 */
import { durationSeconds } from "../../model/config/vocabulary.js";
import { isUnknown, num, prop, type ResourceRule } from "../rule.js";

const hours = (s: number) => `${+(s / 3600).toFixed(2)}h`;

export const certificateBounds: ResourceRule = {
  kind: "resource",
  name: "meridian-certificate-bounds",
  description: "cert-manager Certificates keep duration and renewBefore within bounds.",
  enforcementLevel: "mandatory",
  check(r, config) {
    if (r.type !== "kubernetes:cert-manager.io/v1:Certificate") return [];
    const isCA = prop(r.props, "spec.isCA") === true;
    const c = isCA ? { ...config.certificate, ...config.certificate.ca } : config.certificate;
    const out: string[] = [];
    const durationText = prop(r.props, "spec.duration");
    // A lifetime computed from another resource cannot be judged in preview; `pulumi up` checks it.
    if (isUnknown(durationText) || isUnknown(prop(r.props, "spec.renewBefore")) || isUnknown(prop(r.props, "spec.renewBeforePercentage"))) return [];
    // cert-manager's defaults: 90 days, renewing at 2/3 of the lifetime.
    const duration = typeof durationText === "string" ? durationSeconds(durationText) : 2160 * 3600;
    if (duration < c.minDurationHours * 3600 || duration > c.maxDurationHours * 3600) {
      out.push(`spec.duration ${hours(duration)} is outside ${c.minDurationHours}h-${c.maxDurationHours}h`);
    }
    const renewText = prop(r.props, "spec.renewBefore");
    const pct = num(r.props, "spec.renewBeforePercentage");
    const renew = typeof renewText === "string" ? durationSeconds(renewText) : pct !== undefined ? (duration * pct) / 100 : duration / 3;
    if (renew >= duration) out.push(`spec.renewBefore ${hours(renew)} is not shorter than spec.duration ${hours(duration)}`);
    else {
      const ratio = renew / duration;
      if (ratio < c.minRenewBeforeRatio || ratio > c.maxRenewBeforeRatio) {
        out.push(`spec.renewBefore ${hours(renew)} is ${(ratio * 100).toFixed(1)}% of the duration; expected ${c.minRenewBeforeRatio * 100}-${c.maxRenewBeforeRatio * 100}%`);
      }
    }
    return out;
  },
};
