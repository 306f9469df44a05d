/**
 * The service config: envoyproxy/ratelimit's YAML (`domain`, nested `descriptors` of `key`/`value`,
 * `rate_limit {unit, requests_per_unit}`, `unlimited`, `shadow_mode`, `name`, `unit_multiplier`,
 * `detailed_metric`) extended with `rate_limit.algorithm` (default fixed-window, envoyproxy/ratelimit's
 * own), `rate_limit.burst`/`debt`, and `hierarchical` (domain or descriptor): when on, every matched
 * ancestor's limit applies too, decided atomically with the leaf. Several domains may share a file as
 * separate YAML documents. Errors name the file, the path, the value and what is expected.
 */
import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { ALGORITHMS } from "../core/limit.js";

export const UNIT_MS = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  // envoyproxy/ratelimit's dividers: 30-day months, 365-day years.
  month: 30 * 86_400_000,
  year: 365 * 86_400_000,
} as const;
export type Unit = keyof typeof UNIT_MS;

const rateLimit = z
  .object({
    unit: z.string().transform((u) => u.toLowerCase()).pipe(z.enum(Object.keys(UNIT_MS) as [Unit, ...Unit[]])),
    requests_per_unit: z.number().int().positive(),
    unit_multiplier: z.number().int().positive().optional(),
    name: z.string().optional(),
    algorithm: z.enum(ALGORITHMS).optional(),
    burst: z.number().nonnegative().optional(),
    debt: z.number().nonnegative().optional(),
    global: z.boolean().optional(),
  })
  .strict()
  .refine((r) => !r.global || (r.algorithm === undefined && r.burst === undefined && r.debt === undefined), {
    message: "a global limit is enforced by leased regional token buckets; algorithm, burst and debt do not apply",
  });

export interface DescriptorConfig {
  key: string;
  value?: string | undefined;
  rate_limit?: z.output<typeof rateLimit> | undefined;
  descriptors?: DescriptorConfig[] | undefined;
  unlimited?: boolean | undefined;
  shadow_mode?: boolean | undefined;
  detailed_metric?: boolean | undefined;
  hierarchical?: boolean | undefined;
}

const descriptor: z.ZodType<DescriptorConfig> = z.lazy(() =>
  z
    .object({
      key: z.string().min(1),
      value: z.union([z.string(), z.number()]).transform(String).optional(),
      rate_limit: rateLimit.optional(),
      descriptors: z.array(descriptor).optional(),
      unlimited: z.boolean().optional(),
      shadow_mode: z.boolean().optional(),
      detailed_metric: z.boolean().optional(),
      hierarchical: z.boolean().optional(),
    })
    .strict()
    .superRefine((d, ctx) => {
      if (d.unlimited && d.rate_limit) ctx.addIssue({ code: "custom", message: "unlimited descriptors take no rate_limit", path: ["unlimited"] });
      if (d.rate_limit?.debt !== undefined && d.rate_limit.algorithm !== "token-bucket")
        ctx.addIssue({ code: "custom", message: "debt applies to algorithm token-bucket only", path: ["rate_limit", "debt"] });
      const seen = new Set<string>();
      for (const [i, c] of (d.descriptors ?? []).entries()) {
        const id = `${c.key}=${c.value ?? ""}`;
        if (seen.has(id)) ctx.addIssue({ code: "custom", message: `duplicate descriptor ${id}`, path: ["descriptors", i] });
        seen.add(id);
      }
    }),
);

export const domainSchema = z
  .object({ domain: z.string().min(1), descriptors: z.array(descriptor).default([]), hierarchical: z.boolean().optional() })
  .strict()
  .superRefine((d, ctx) => {
    const seen = new Set<string>();
    for (const [i, c] of d.descriptors.entries()) {
      const id = `${c.key}=${c.value ?? ""}`;
      if (seen.has(id)) ctx.addIssue({ code: "custom", message: `duplicate descriptor ${id}`, path: ["descriptors", i] });
      seen.add(id);
    }
  });
export type DomainConfig = z.output<typeof domainSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parse one file's YAML documents into domains; throws one ConfigError listing every problem. */
export function parseRateLimitConfig(text: string, file = "<config>"): DomainConfig[] {
  const problems: string[] = [];
  const domains: DomainConfig[] = [];
  const docs = parseAllDocuments(text);
  for (const [n, doc] of docs.entries()) {
    const where = docs.length > 1 ? `${file} (document ${n + 1})` : file;
    if (doc.errors.length) {
      problems.push(...doc.errors.map((e) => `${where}: ${e.message}`));
      continue;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const r = domainSchema.safeParse(value);
    if (!r.success) {
      for (const i of r.error.issues) {
        const got = i.path.reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k as string] : undefined), value);
        problems.push(`${where}: ${i.path.length ? i.path.join(".") : "(document)"} is ${JSON.stringify(got)}: ${i.message}`);
      }
      continue;
    }
    domains.push(r.data);
  }
  const names = domains.map((d) => d.domain);
  for (const d of new Set(names)) if (names.filter((x) => x === d).length > 1) problems.push(`${file}: domain "${d}" is defined more than once`);
  if (problems.length) throw new ConfigError(problems.join("\n"));
  if (domains.length === 0) throw new ConfigError(`${file}: no domain defined (expected \`domain:\` and \`descriptors:\`)`);
  return domains;
}
