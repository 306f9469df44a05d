/**
 * PKI: ACME issuance through cert-manager, the private CA chain, SPIFFE trust domain and SVID lifetime,
 * mesh mTLS, and rotation staging. The PKI issue (§14.2) owns the details.
 */
import { z } from "zod";
import { duration, fraction, slug } from "./common.js";

export const pkiSchema = z
  .object({
    acme: z
      .object({
        email: z.email(),
        environment: z.enum(["staging", "production"]).default("staging"),
      })
      .strict(),
    certificate: z
      .object({
        duration: duration.default("2160h"),
        renewBefore: duration.default("720h"),
      })
      .strict()
      .prefault({}),
    trustDomain: z.string().regex(/^[a-z0-9.-]+$/, "expected a SPIFFE trust domain such as prod.meridian.internal"),
    svidTtl: duration.default("1h"),
    mtls: z.enum(["STRICT", "PERMISSIVE"]).default("STRICT"),
    rotation: z
      .object({
        canary: slug.optional(),
        waves: z.array(fraction).default([0.25, 1]),
        gateMinutes: z.number().int().positive().default(30),
      })
      .strict()
      .prefault({}),
    expiryAlerts: z
      .object({ warningDays: z.number().int().positive().default(21), criticalDays: z.number().int().positive().default(7) })
      .strict()
      .prefault({}),
  })
  .strict();

export type PkiConfig = z.output<typeof pkiSchema>;
