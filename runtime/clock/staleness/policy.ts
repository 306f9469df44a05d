/**
 * Staleness policies (§12.3.2): per-operation read consistency, in YAML.
 *
 *   default: { consistency: bounded-staleness, maxStaleness: 5s }
 *   operations:
 *     checkout:        { consistency: strong }
 *     catalog.browse:  { consistency: bounded-staleness, maxStaleness: 30s }
 *     report.monthly:  { consistency: exact }        # the request names the timestamp (AS OF)
 *     feed:            { consistency: eventual }
 *
 * A request may ask for *stronger* consistency than its operation's policy (a client that just wrote),
 * never weaker: the policy is the floor the service owner set.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";

export type Consistency = "strong" | "bounded-staleness" | "exact" | "eventual";

export type ReadConsistency = { consistency: "strong" } | { consistency: "bounded-staleness"; maxStalenessMs: number } | { consistency: "exact" } | { consistency: "eventual" };

/** Strength order for "never weaker than the policy": eventual < bounded < exact < strong. */
const STRENGTH: Record<Consistency, number> = { eventual: 0, "bounded-staleness": 1, exact: 2, strong: 3 };

const durationMs = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, "expected a duration such as 500ms, 5s or 2m")
  .transform((text) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text)!;
    return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  });

const entry = z.discriminatedUnion("consistency", [
  z.object({ consistency: z.literal("strong") }).strict(),
  z
    .object({ consistency: z.literal("bounded-staleness"), maxStaleness: durationMs })
    .strict()
    .transform((e) => ({ consistency: e.consistency, maxStalenessMs: e.maxStaleness })),
  z.object({ consistency: z.literal("exact") }).strict(),
  z.object({ consistency: z.literal("eventual") }).strict(),
]);

/** The policy as a zod schema, for a service's config file (the same keys as the YAML form). */
export const stalenessPolicySchema = z
  .object({
    default: entry.default({ consistency: "strong" }),
    operations: z.record(z.string().regex(/^[a-z][a-z0-9_.-]*$/, "expected an operation name such as catalog.browse"), entry).default({}),
  })
  .strict();

export class StalenessPolicyError extends Error {
  override name = "StalenessPolicyError";
}

export class StalenessPolicy {
  private constructor(
    private readonly fallback: ReadConsistency,
    private readonly operations: Record<string, ReadConsistency>,
  ) {}

  static parse(text: string, source = "staleness policy"): StalenessPolicy {
    let raw: unknown;
    try {
      raw = parseYaml(text);
    } catch (e) {
      throw new StalenessPolicyError(`${source}: not valid YAML: ${(e as Error).message}`);
    }
    const r = stalenessPolicySchema.safeParse(raw ?? {});
    if (!r.success) throw new StalenessPolicyError(`${source}: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
    return StalenessPolicy.of(r.data);
  }

  /** A policy already validated by `stalenessPolicySchema` (a service's config). */
  static of(parsed: z.output<typeof stalenessPolicySchema>): StalenessPolicy {
    return new StalenessPolicy(parsed.default as ReadConsistency, parsed.operations as Record<string, ReadConsistency>);
  }

  /** The consistency for an operation, tightened (never loosened) by what the request asks for. */
  resolve(operation: string, requested?: ReadConsistency): ReadConsistency {
    const policy = this.operations[operation] ?? this.fallback;
    if (requested === undefined) return policy;
    const stronger = STRENGTH[requested.consistency] - STRENGTH[policy.consistency];
    if (stronger > 0) return requested;
    if (stronger < 0) {
      throw new StalenessPolicyError(`operation ${operation} requires at least ${policy.consistency}; a ${requested.consistency} read is not allowed`);
    }
    // Same kind: a tighter staleness bound is fine, a looser one is not.
    if (policy.consistency === "bounded-staleness" && requested.consistency === "bounded-staleness" && requested.maxStalenessMs > policy.maxStalenessMs) {
      throw new StalenessPolicyError(`operation ${operation} allows at most ${policy.maxStalenessMs} ms of staleness; ${requested.maxStalenessMs} ms requested`);
    }
    return requested;
  }
}
