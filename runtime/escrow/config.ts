/**
 * The escrow service's configuration: the file `meridian escrow serve --config FILE` reads — in a pod,
 * the ConfigMap the blueprint renders from the model (model/escrow/config.ts); with `--stack NAME`,
 * the same renderer run on the stack. Everything the service needs is here: what it sells and how the
 * model split it (allocation, refill batch and reorder points, forecast demand, debt ceiling), how it
 * rebalances, how buyers prove who they are (JWT issuer, audience and verification keys, which the service kit
 * verifies), which mesh peers may carry their requests, their caps,
 * the waiting room, and the peers serving the other regions. Store URLs are secrets and come as flags.
 * This schema is a contract with components/workloads: change it only compatibly.
 */
import { z } from "zod";
import { REGION_ID, SKU } from "./core/ids.js";
import { timeReferenceSchema } from "../clock/index.js";

const regionId = z.string().regex(REGION_ID, "expected a region id (lower-case slug)");
const sku = z.string().regex(SKU, "expected a SKU: letters, digits, '.', '_' or '-', at most 64");
const positive = z.number().positive();
const units = z.number().int().min(0);

const jwk = z.looseObject({ kty: z.enum(["EC", "OKP", "RSA"]), kid: z.string().optional() }).refine((k) => !("d" in k), 'a verification key must be public: remove the private part "d"');

export const skuConfigSchema = z
  .object({
    sku,
    total: z.number().int().positive(),
    /** Units kept in the global pool at creation; the rest is the allocation. */
    globalReserve: units,
    /** Region → units it starts with (the model's multi-factor allocation, with the forecast). */
    allocation: z.record(regionId, units),
    /** The model's refill plan: units per refill (Q) and each region's reorder point (r). */
    refill: z.object({ batchSize: z.number().int().positive(), reorderPoints: z.record(regionId, units) }).strict(),
    /** Forecast demand when the sale opens, units/s per region; rebalancing plans with it until live rates exceed it. */
    forecastRate: z.record(regionId, z.number().min(0)).default({}),
    /** Buyers admitted to checkout beyond the units left (the model's debt ceiling); sales never exceed the total. */
    debtCeiling: units.default(0),
    /** When the sale opens (ISO 8601); before it, buyers can only join the waiting room. */
    opensAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .refine((s) => Object.values(s.allocation).reduce((a, b) => a + b, 0) + s.globalReserve === s.total, {
    message: "allocation plus globalReserve must add up to total",
    path: ["allocation"],
  });

export const identityConfigSchema = z
  .object({
    /** The `iss` every buyer token must carry. */
    issuer: z.string().min(1),
    /** The `aud` every buyer token must carry. */
    audience: z.string().min(1),
    /** Verification keys (public JWKs), or … */
    jwks: z
      .object({ keys: z.array(jwk).min(1) })
      .strict()
      .optional(),
    /** … the issuer's JWKS endpoint (keys fetched and cached; rotation follows the issuer). */
    jwksUri: z.url({ protocol: /^https?$/ }).optional(),
    algorithms: z
      .array(z.enum(["ES256", "ES384", "EdDSA", "RS256", "PS256"]))
      .min(1)
      .default(["ES256", "EdDSA", "RS256"]),
    /** The claim naming the buyer's tier (a key of `tiers`); absent means the first tier. */
    tierClaim: z.string().min(1).default("tier"),
    /** A token whose `scope` includes this may create items, refund sales and read reconciliation. */
    adminScope: z.string().min(1).default("escrow:admin"),
    clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
  })
  .strict()
  .refine((i) => (i.jwks === undefined) !== (i.jwksUri === undefined), "give exactly one of jwks or jwksUri");

export const escrowConfigSchema = z
  .object({
    /** Regions this process serves; each holds its own lease on every SKU. */
    regions: z.array(regionId).min(1),
    reservationTtlSeconds: positive.default(300),
    /** A region that stops renewing its lease for this long loses its units to the pool. */
    leaseTtlSeconds: positive.default(10),
    /** The maintenance tick: expiry, lease renewal, rebalancing, store verification, reconciliation. */
    rebalanceIntervalSeconds: positive.default(1),
    rebalancing: z
      .object({
        mode: z.enum(["pull", "push", "hybrid"]).default("hybrid"),
        /** Seconds of expected demand a region keeps; more than twice that is surplus to give away. */
        horizonSeconds: positive.default(5),
        maxWaiters: z.number().int().positive().default(256),
      })
      .strict()
      .prefault({}),
    skus: z.array(skuConfigSchema).default([]),
    identity: identityConfigSchema,
    /** Tier → weight in the waiting room's weighted draw; the first tier is the default. */
    tiers: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/), positive).default({ standard: 1, premium: 3 }),
    admission: z
      .object({
        /** Units one buyer may hold and buy of one SKU, across every region. */
        perUserLimit: z.number().int().positive().default(4),
        userRatePerSecond: positive.default(2),
        userBurst: z.number().int().min(0).default(4),
        /** Open checkouts per region before buyers wait. */
        maxConcurrentCheckouts: z.number().int().positive().default(1000),
        lowInventoryFraction: z.number().min(0).max(1).default(0.1),
      })
      .strict()
      .prefault({}),
    waitingRoom: z
      .object({
        policy: z.enum(["fifo", "lottery", "weighted"]).default("fifo"),
        /** Buyers let in per tranche, and seconds between tranches. */
        trancheSize: z.number().int().positive().default(100),
        trancheIntervalSeconds: positive.default(1),
        /** How long an admitted buyer may take to reserve. */
        passTtlSeconds: positive.default(120),
        /** A file holding the secret queue tokens are signed with (shared by every region: a mounted Secret). */
        tokenSecretFile: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /**
     * SPIFFE IDs of the mesh peers that may carry buyers' and admins' requests (the gateway, the other regions'
     * escrow), verified by `server.tls` (mTLS) or `server.identity` (the pod's sidecar's XFCC). Absent: any peer,
     * or none (a buyer's JWT is enough: `meridian local`, tests). Operators (`server.auth.operators`) need no listing.
     */
    callers: z.array(z.string().startsWith("spiffe://")).min(1).optional(),
    /** Region → base URL of the escrow service serving it, for commits and cancels of reservations held there. */
    peers: z.record(regionId, z.url({ protocol: /^https?$/ })).default({}),
    /** HLC: refuse requests whose timestamp runs ahead of this clock by more than this. */
    maxOffsetMs: positive.default(250),
    /** Where this node's clock is measured (the region's grandmaster or the node's chrony): without it the skew monitor sees nothing. */
    timeReference: timeReferenceSchema.optional(),
  })
  .strict();

export type EscrowConfig = z.output<typeof escrowConfigSchema>;
export type EscrowConfigInput = z.input<typeof escrowConfigSchema>;
export type SkuConfig = z.output<typeof skuConfigSchema>;
export type IdentityConfig = z.output<typeof identityConfigSchema>;

/** Parse a config (from a file or the model) or throw naming every problem with its path. */
export function parseEscrowConfig(raw: unknown, source = "escrow config"): EscrowConfig {
  const r = escrowConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const detail = r.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`).join("; ");
  throw new Error(`${source}: ${detail}`);
}
