/**
 * Escrowed inventory (issue 17): what is sold, the demand the model sizes it for, how regions
 * rebalance, how buyers prove who they are, their caps, and the waiting room. The model
 * (model/escrow) turns this into every number the service runs with; the service reads them from the
 * config the blueprint renders (model/escrow/config.ts), never from this file.
 */
import { z } from "zod";
import { fraction, positive } from "./vocabulary.js";

const units = z.number().int().positive();
const sku = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "expected a SKU: letters, digits, '.', '_' or '-', at most 64");
const regionId = z.string().regex(/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/, "expected a region id");

/** One SKU's sale: the demand the model plans for and when it opens. */
const sale = z
  .object({
    /** Expected purchases per second across the estate when the sale opens (the model sizes refills for it). */
    openingRatePerSecond: positive.optional(),
    /** Per-SKU demand prior: region → relative weight, blended into the allocation (e.g. a tour's local fan base). */
    prior: z.record(regionId, z.number().min(0)).optional(),
    /** When the sale opens (ISO 8601); buyers may join the waiting room before it. */
    opensAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

const jwk = z.looseObject({ kty: z.enum(["EC", "OKP", "RSA"]), kid: z.string().optional() }).refine((k) => !("d" in k), 'expected a public key: a stack must never hold the private part "d"');

export const escrowSchema = z
  .object({
    /** SKU → units for sale. */
    inventory: z.record(sku, units).default({}),
    /** SKU → its sale's demand and opening time (optional; the refill defaults apply). */
    sales: z.record(sku, sale).default({}),
    reservationTtlSeconds: positive.default(300),
    /** Regions hold escrow under a lease; tokens of a region that stops renewing return to the pool after this. */
    leaseTtlSeconds: positive.default(10),
    /** The maintenance tick: expiry, renewal, rebalancing, store verification, reconciliation. */
    rebalanceIntervalSeconds: positive.default(1),
    rebalancing: z
      .object({ mode: z.enum(["pull", "push", "hybrid"]).default("hybrid"), horizonSeconds: positive.default(5) })
      .strict()
      .prefault({}),
    allocation: z
      .object({
        coefficients: z
          .object({ historical: z.number().min(0).default(0.5), load: z.number().min(0).default(0.3), geographic: z.number().min(0).default(0.2) })
          .strict()
          .refine((c) => c.historical + c.load + c.geographic > 0, "expected at least one positive coefficient")
          .prefault({}),
        globalReserveFraction: fraction.refine((f) => f < 1, "expected < 1").default(0.1),
        /** Weight of a SKU's own demand prior against the estate's regional weights (0: ignore priors). */
        priorWeight: fraction.default(0.5),
        /** Months per season in the regions' demand history (Holt-Winters); shorter histories use Holt's trend. */
        seasonLength: z.number().int().min(2).default(12),
      })
      .strict()
      .prefault({}),
    /** Refill cadence (outline §11.1.2): the model sizes each SKU's batch and reorder points from these. */
    refill: z
      .object({
        /** Purchases per second at open when a SKU gives none. */
        openingRatePerSecond: positive.default(10),
        burstFactor: z.number().min(1).default(3),
        /** Refills per second the shared pool serves (μ of its M/M/1 queue). */
        poolServiceRate: positive.default(40),
        /** Batch size so the pool runs at this utilisation at peak. */
        targetUtilisation: z.number().gt(0).lt(1).default(0.5),
        latencyMeanMs: positive.default(90),
        latencyStdMs: z.number().min(0).default(35),
        failureRecoveryMs: z.number().min(0).default(2000),
        /** Probability a region does not run dry while a refill is in flight (over the exposure window). */
        serviceLevel: z.number().gt(0).lt(1).default(0.999),
        /** Coefficient of variation of the estate-wide demand level: one event drives every region together. */
        demandCv: z.number().min(0).default(0.3),
      })
      .strict()
      .prefault({}),
    /** Oversell economics: the debt ceiling (buyers admitted to checkout beyond stock) comes from these. */
    risk: z
      .object({ costOfOversellUSD: positive.default(180), riskToleranceUSD: z.number().min(0).default(50) })
      .strict()
      .prefault({}),
    /** Buyers' tokens: issuer, audience and the issuer's public keys (inline JWKS or its endpoint). */
    identity: z
      .object({
        issuer: z.string().min(1).default("https://id.meridian.example"),
        audience: z.string().min(1).default("meridian-escrow"),
        jwks: z.array(jwk).optional(),
        jwksUri: z.url({ protocol: /^https$/ }).optional(),
        tierClaim: z.string().min(1).default("tier"),
        adminScope: z.string().min(1).default("escrow:admin"),
      })
      .strict()
      .prefault({}),
    /** Buyer tiers and their weight in the waiting room's weighted draw; the first is the default. */
    tiers: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/), positive).default({ standard: 1, premium: 3 }),
    admission: z
      .object({
        /** Units one user may hold in reservations and purchases of one SKU, across every region. */
        perUserLimit: units.default(4),
        /** Per-user reservation attempts per second (GCRA) and burst. */
        userRatePerSecond: positive.default(2),
        userBurst: z.number().int().min(0).default(4),
        /** Open checkouts (live reservations) per region before buyers queue. */
        maxConcurrentCheckouts: units.default(1000),
        /** Warn when available inventory falls to this share of the total. */
        lowInventoryFraction: fraction.default(0.1),
      })
      .strict()
      .prefault({}),
    waitingRoom: z
      .object({
        policy: z.enum(["fifo", "lottery", "weighted"]).default("fifo"),
        trancheSize: units.default(100),
        trancheIntervalSeconds: positive.default(1),
        passTtlSeconds: positive.default(120),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .refine((e) => !(e.identity.jwks && e.identity.jwksUri), { message: "give identity.jwks or identity.jwksUri, not both", path: ["identity"] })
  .refine((e) => Object.keys(e.sales).every((k) => k in e.inventory), { message: "every SKU in sales must be in inventory", path: ["sales"] })
  .prefault({});

export type EscrowStackConfig = z.output<typeof escrowSchema>;
