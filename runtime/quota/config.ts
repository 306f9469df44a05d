/**
 * The quota tree as YAML: `dimensions`, `authorities` (principals above every tenant), then `tenants` →
 * `applications` → `users`, each with optional `hard` / `soft` limits per dimension and `owners` (who
 * administer the node and everything below; approving an increase needs someone above the node).
 * Principals are SPIFFE IDs (mTLS peers) or JWT subjects.
 * Errors name the file, path, value and expectation, all at once.
 */
import { z } from "zod";
import type { Clock } from "../common/clock.js";
import { QuotaTree } from "./tree.js";

const amounts = z.record(z.string(), z.number().nonnegative());
const base = { id: z.string().min(1), hard: amounts.optional(), soft: amounts.optional(), owners: z.array(z.string().min(1)).optional() };
const user = z.object(base).strict();
const application = z.object({ ...base, users: z.array(user).default([]) }).strict();
const tenant = z.object({ ...base, applications: z.array(application).default([]) }).strict();
export const quotaTreeKeys = {
  dimensions: z.array(z.string().min(1)).min(1).default(["cpu", "memory", "storage", "bandwidth"]),
  emergency_grace_ms: z.number().int().positive().default(3_600_000),
  authorities: z.array(z.string().min(1)).default([]),
  /** Empty is allowed (an estate without tenants deploys the service at zero replicas). */
  tenants: z.array(tenant).default([]),
};
export const quotaConfigSchema = z.object(quotaTreeKeys).strict();
export type QuotaConfig = z.output<typeof quotaConfigSchema>;

/** Build the tree; node-level problems (unknown dimension, duplicate id) name the node. */
export function buildQuotaTree(c: Pick<QuotaConfig, "dimensions" | "emergency_grace_ms" | "authorities" | "tenants">, clock: Clock): QuotaTree {
  const t = new QuotaTree(c.dimensions, clock, c.emergency_grace_ms, c.authorities);
  for (const tn of c.tenants) {
    t.addNode({ id: tn.id, kind: "tenant", hard: tn.hard, soft: tn.soft, owners: tn.owners });
    for (const app of tn.applications) {
      t.addNode({ id: app.id, kind: "application", parent: tn.id, hard: app.hard, soft: app.soft, owners: app.owners });
      for (const u of app.users) t.addNode({ id: u.id, kind: "user", parent: app.id, hard: u.hard, soft: u.soft, owners: u.owners });
    }
  }
  return t;
}
