/**
 * Domains compiled for lookup, as envoyproxy/ratelimit's loader builds them: per level, children by
 * composite key (`key_value`, or `key` for a default), wildcard patterns pre-split on `*` in config
 * order, and each limit as a Rule with its stats key (`domain.key1_value1.key2`). Files are loaded in
 * order; a domain seen again is merged into the first (descriptors added, a repeated composite key
 * refused) when merging is on, and refused otherwise.
 */
import type { Limit } from "../core/limit.js";
import { ConfigError, UNIT_MS, type DescriptorConfig, type DomainConfig, type Unit } from "./schema.js";

export interface Rule {
  /** envoyproxy/ratelimit's stats key for this limit (before detailed_metric / value_to_metric). */
  fullKey: string;
  requestsPerUnit: number;
  unit: Unit;
  unitMultiplier: number;
  name: string;
  unlimited: boolean;
  shadow: boolean;
  quota: boolean;
  replaces: readonly string[];
  detailedMetric: boolean;
  metadata: Record<string, unknown> | undefined;
  global: boolean;
  /** The counter's limit; null when requests_per_unit is 0 (every request is over) or unlimited. */
  limit: Limit | null;
}

export interface Wildcard {
  key: string;
  parts: string[];
}

export interface CompiledNode {
  children: Map<string, CompiledNode>;
  wildcards: Wildcard[];
  rule: Rule | undefined;
  valueToMetric: boolean;
  shareThreshold: boolean;
  wildcardPattern: string;
  /** Meridian: every matched ancestor's limit applies too. undefined inherits. */
  hierarchical: boolean | undefined;
}

export interface CompiledDomain {
  name: string;
  root: CompiledNode;
  hierarchical: boolean;
  files: string[];
}

const node = (): CompiledNode => ({ children: new Map(), wildcards: [], rule: undefined, valueToMetric: false, shareThreshold: false, wildcardPattern: "", hierarchical: undefined });

export function ruleLimit(r: Pick<Rule, "requestsPerUnit" | "unit" | "unitMultiplier">, cfg?: Pick<NonNullable<DescriptorConfig["rate_limit"]>, "algorithm" | "burst" | "debt">): Limit | null {
  if (r.requestsPerUnit === 0) return null;
  return {
    algorithm: cfg?.algorithm ?? "fixed-window",
    limit: r.requestsPerUnit,
    periodMs: UNIT_MS[r.unit] * r.unitMultiplier,
    ...(cfg?.burst !== undefined ? { burst: cfg.burst } : {}),
    ...(cfg?.debt !== undefined ? { debt: cfg.debt } : {}),
  };
}

function load(into: CompiledNode, file: string, parentKey: string, descriptors: readonly DescriptorConfig[], problems: string[]): void {
  for (const d of descriptors) {
    const finalKey = d.value ? `${d.key}_${d.value}` : d.key;
    const fullKey = parentKey + finalKey;
    if (into.children.has(finalKey)) {
      problems.push(`${file}: duplicate descriptor composite key '${fullKey}'`);
      continue;
    }
    const n = node();
    const rl = d.rate_limit;
    if (rl) {
      const base = { requestsPerUnit: rl.requests_per_unit, unit: rl.unit ?? "second", unitMultiplier: rl.unit_multiplier };
      n.rule = {
        fullKey,
        ...base,
        name: rl.name,
        unlimited: rl.unlimited,
        shadow: d.shadow_mode,
        quota: d.quota_mode,
        replaces: rl.replaces,
        detailedMetric: d.detailed_metric,
        metadata: d.metadata,
        global: rl.global,
        limit: rl.unlimited ? null : ruleLimit(base, rl),
      };
    }
    n.valueToMetric = d.value_to_metric;
    n.shareThreshold = d.share_threshold;
    if (finalKey.includes("*")) {
      if (d.share_threshold) n.wildcardPattern = finalKey;
      into.wildcards.push({ key: finalKey, parts: finalKey.split("*") });
    }
    n.hierarchical = d.hierarchical;
    load(n, file, `${fullKey}.`, d.descriptors, problems);
    into.children.set(finalKey, n);
  }
}

/** Compile domains from files in load order; throws one ConfigError naming every problem. */
export function compileDomains(domains: readonly DomainConfig[], mergeDomains = false): Map<string, CompiledDomain> {
  const out = new Map<string, CompiledDomain>();
  const problems: string[] = [];
  for (const d of domains) {
    const seen = out.get(d.domain);
    if (seen) {
      if (!mergeDomains) {
        problems.push(`${d.file}: duplicate domain '${d.domain}' in config file (also in ${seen.files.join(", ")}; merge them with --merge-domains)`);
        continue;
      }
      load(seen.root, d.file, `${d.domain}.`, d.descriptors, problems);
      seen.files.push(d.file);
      seen.hierarchical ||= d.hierarchical;
      continue;
    }
    const root = node();
    load(root, d.file, `${d.domain}.`, d.descriptors, problems);
    out.set(d.domain, { name: d.domain, root, hierarchical: d.hierarchical, files: [d.file] });
  }
  if (problems.length) throw new ConfigError(problems.join("\n"));
  return out;
}
