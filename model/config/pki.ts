/**
 * PKI: ACME issuance through cert-manager (DNS-01 solver settings per DNS provider), the private CA chain,
 * the SPIFFE trust domain and SVID lifetime, mesh mTLS, staged rotation, expiry alerting and SLOs (§14.2).
 * Invariants kept here so no later stage meets them broken: renewBefore < duration even for the
 * last-staggered wave, a rotation's gate fits inside the stagger between waves, and waves end at 100%.
 */
import { z } from "zod";
import { duration, durationSeconds, fraction, slug } from "./vocabulary.js";

const dns01Schema = z
  .object({
    /** Route 53 is global; the solver still needs a region for its STS/API calls. */
    route53: z
      .object({
        region: z.string().default("us-east-1"),
        hostedZoneID: z
          .string()
          .regex(/^Z[A-Z0-9]+$/)
          .optional(),
      })
      .strict()
      .prefault({}),
    /** The GCP project that owns the Cloud DNS zone (required when the zone is served by Cloud DNS). */
    clouddns: z
      .object({ project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "expected a GCP project id") })
      .strict()
      .optional(),
    /** The Azure DNS zone behind Traffic Manager (required when the zone is served by trafficmanager). */
    azuredns: z
      .object({
        subscriptionID: z.uuid(),
        tenantID: z.uuid(),
        clientID: z.uuid(),
        resourceGroupName: z.string().min(1),
        environment: z.enum(["AzurePublicCloud", "AzureChinaCloud", "AzureGermanCloud", "AzureUSGovernmentCloud"]).default("AzurePublicCloud"),
      })
      .strict()
      .optional(),
  })
  .strict()
  .prefault({});

export const pkiSchema = z
  .object({
    acme: z
      .object({
        email: z.email(),
        environment: z.enum(["staging", "production"]).default("staging"),
        dns01: dns01Schema,
      })
      .strict(),
    certificate: z
      .object({
        duration: duration.default("2160h"),
        renewBefore: duration.default("720h"),
      })
      .strict()
      .prefault({}),
    /** Private chain for internal TLS: an offline root (secret config) signs one intermediate per region. */
    privateCa: z
      .object({ intermediateDuration: duration.default("8760h"), intermediateRenewBefore: duration.default("720h") })
      .strict()
      .prefault({}),
    trustDomain: z.string().regex(/^[a-z0-9._-]+$/, "expected a SPIFFE trust domain such as prod.meridian.internal"),
    svidTtl: duration.default("1h"),
    mtls: z.enum(["STRICT", "PERMISSIVE"]).default("STRICT"),
    rotation: z
      .object({
        canary: slug.optional(),
        waves: z.array(fraction).min(1).default([0.25, 1]),
        /** Verification gate after each wave: how long its checks must hold before the next wave starts. */
        gateMinutes: z.number().int().positive().default(30),
        /** Time to roll a wave's new certificates out (issue + propagate) before its gate starts. */
        applyMinutes: z.number().int().positive().default(10),
        /** Renewal-window offset between consecutive waves: wave k renews this much later than wave k-1. */
        staggerHours: z.number().int().positive().default(24),
      })
      .strict()
      .prefault({}),
    expiryAlerts: z
      .object({ warningDays: z.number().int().positive().default(21), criticalDays: z.number().int().positive().default(7) })
      .strict()
      .prefault({}),
    slo: z
      .object({
        /** Share of time every Certificate must be Ready (issued, valid, renewing) over the window. */
        certificateReady: z.number().gt(0).lt(1).default(0.999),
        /** Share of mesh mTLS handshakes that must succeed over the window. */
        handshakeSuccess: z.number().gt(0).lt(1).default(0.9995),
        windowDays: z.number().int().min(1).max(90).default(30),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((pki, ctx) => {
    const lifetime = durationSeconds(pki.certificate.duration);
    const renewBefore = durationSeconds(pki.certificate.renewBefore);
    // The canary renews earliest: it gets the widest window, renewBefore + (waves) × stagger.
    const widest = renewBefore + pki.rotation.waves.length * pki.rotation.staggerHours * 3600;
    if (widest >= lifetime) {
      ctx.addIssue({
        code: "custom",
        path: ["certificate", "renewBefore"],
        input: pki.certificate.renewBefore,
        message: `renewBefore plus ${pki.rotation.waves.length} staggers of ${pki.rotation.staggerHours}h must stay below duration ${pki.certificate.duration}`,
      });
    }
    if (durationSeconds(pki.privateCa.intermediateRenewBefore) >= durationSeconds(pki.privateCa.intermediateDuration)) {
      ctx.addIssue({ code: "custom", path: ["privateCa", "intermediateRenewBefore"], input: pki.privateCa.intermediateRenewBefore, message: "must be shorter than intermediateDuration" });
    }
    const { waves, gateMinutes, applyMinutes, staggerHours } = pki.rotation;
    waves.forEach((share, i) => {
      if (share === 0 || (i > 0 && share <= (waves[i - 1] ?? 0))) {
        ctx.addIssue({ code: "custom", path: ["rotation", "waves", i], input: share, message: "expected cumulative shares, each above 0 and above the previous wave" });
      }
    });
    if (waves.at(-1) !== 1) ctx.addIssue({ code: "custom", path: ["rotation", "waves"], input: waves, message: "the last wave must reach 1 (every region)" });
    if (applyMinutes + gateMinutes > staggerHours * 60) {
      ctx.addIssue({ code: "custom", path: ["rotation", "gateMinutes"], input: gateMinutes, message: `applyMinutes + gateMinutes must fit in the ${staggerHours}h stagger between waves` });
    }
    if (pki.expiryAlerts.criticalDays >= pki.expiryAlerts.warningDays) {
      ctx.addIssue({ code: "custom", path: ["expiryAlerts", "criticalDays"], input: pki.expiryAlerts.criticalDays, message: `must be fewer days than warningDays (${pki.expiryAlerts.warningDays})` });
    }
    if (pki.expiryAlerts.warningDays * 86400 > renewBefore) {
      // cert-manager renews at notAfter − renewBefore; warning earlier than that would fire on every healthy cert.
      ctx.addIssue({
        code: "custom",
        path: ["expiryAlerts", "warningDays"],
        input: pki.expiryAlerts.warningDays,
        message: `must be at most renewBefore (${pki.certificate.renewBefore}) so a healthy certificate never warns`,
      });
    }
  });

export type PkiConfig = z.output<typeof pkiSchema>;
