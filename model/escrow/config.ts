/**
 * The escrow service's config file, rendered from the model: what components/workloads writes into
 * each region's ConfigMap, what `meridian escrow serve --stack` and `meridian local` run with. The
 * shape is runtime/escrow's `escrowConfigSchema` (test/model/escrow/config.test.ts parses every
 * stack's rendering with it); every number comes from the plan (plan.ts), none is recomputed. Pure.
 */
import type { EstateSpec } from "../estate.js";
import { skuPlans } from "./plan.js";

export interface EscrowServiceConfig {
  regions: string[];
  reservationTtlSeconds: number;
  leaseTtlSeconds: number;
  rebalanceIntervalSeconds: number;
  rebalancing: { mode: "pull" | "push" | "hybrid"; horizonSeconds: number };
  skus: {
    sku: string;
    total: number;
    globalReserve: number;
    allocation: Record<string, number>;
    refill: { batchSize: number; reorderPoints: Record<string, number> };
    forecastRate: Record<string, number>;
    debtCeiling: number;
    opensAt?: string;
  }[];
  identity: { issuer: string; audience: string; jwks?: { keys: Record<string, unknown>[] }; jwksUri?: string; tierClaim: string; adminScope: string };
  tiers: Record<string, number>;
  admission: { perUserLimit: number; userRatePerSecond: number; userBurst: number; maxConcurrentCheckouts: number; lowInventoryFraction: number };
  waitingRoom: { policy: "fifo" | "lottery" | "weighted"; trancheSize: number; trancheIntervalSeconds: number; passTtlSeconds: number; tokenSecretFile?: string };
  peers: Record<string, string>;
  maxOffsetMs: number;
  /** Where the node's clock is measured (runtime/clock timeReferenceSchema). */
  timeReference?: { agent: string };
}

export interface RenderOptions {
  /** Regions the process serves (default: every region of the stack). */
  regions?: string[];
  /** Region → base URL of the escrow serving it, for the regions this process does not serve. */
  peers?: Record<string, string>;
  /** Where the waiting room's shared token secret is mounted. */
  tokenSecretFile?: string;
  /** The node time agent (host:port) the node's clock is measured against (chrony's tracking, runtime/clock/agent.ts). */
  timeAgent?: string;
}

export function escrowServiceConfig(spec: Pick<EstateSpec, "regions" | "runtime" | "time">, o: RenderOptions = {}): EscrowServiceConfig {
  const e = spec.runtime.escrow;
  const known = new Set(spec.regions.map((r) => r.id));
  const regions = o.regions ?? spec.regions.map((r) => r.id);
  for (const r of regions) if (!known.has(r)) throw new Error(`unknown region ${r}; the stack has ${[...known].join(", ")}`);
  const id = e.identity;
  return {
    regions,
    reservationTtlSeconds: e.reservationTtlSeconds,
    leaseTtlSeconds: e.leaseTtlSeconds,
    rebalanceIntervalSeconds: e.rebalanceIntervalSeconds,
    rebalancing: { mode: e.rebalancing.mode, horizonSeconds: e.rebalancing.horizonSeconds },
    skus: skuPlans(spec).map((p) => ({
      sku: p.sku,
      total: p.total,
      globalReserve: p.globalReserve,
      allocation: p.allocation,
      refill: { batchSize: p.refill.batchSize, reorderPoints: p.reorderPoints },
      forecastRate: p.forecastRate,
      debtCeiling: p.debt.ceiling,
      ...(p.opensAt ? { opensAt: p.opensAt } : {}),
    })),
    identity: {
      issuer: id.issuer,
      audience: id.audience,
      // Without keys in the stack, the issuer's keys are at its OpenID Connect well-known JWKS path.
      ...(id.jwks ? { jwks: { keys: id.jwks } } : { jwksUri: id.jwksUri ?? `${id.issuer.replace(/\/$/, "")}/.well-known/jwks.json` }),
      tierClaim: id.tierClaim,
      adminScope: id.adminScope,
    },
    tiers: e.tiers,
    admission: { ...e.admission },
    waitingRoom: { ...e.waitingRoom, ...(o.tokenSecretFile ? { tokenSecretFile: o.tokenSecretFile } : {}) },
    peers: o.peers ?? {},
    maxOffsetMs: spec.time.maxOffsetMs,
    ...(o.timeAgent ? { timeReference: { agent: o.timeAgent } } : {}),
  };
}

/**
 * One region's config from the whole stack's (what escrowServiceConfig(spec, { regions: [region], peers }) renders,
 * without working out the SKU plans again): the local supervisor plans once and narrows per region process.
 */
export function regionEscrowConfig(all: EscrowServiceConfig, region: string, peers: Record<string, string>): EscrowServiceConfig {
  if (!all.regions.includes(region)) throw new Error(`unknown region ${region}; the config serves ${all.regions.join(", ")}`);
  return { ...all, regions: [region], peers };
}
