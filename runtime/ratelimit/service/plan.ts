/**
 * From a request to what must be decided: each descriptor's matched rule (after envoyproxy/ratelimit's
 * `replaces` and `unlimited`), its hits, and its counter levels. Linear in the request's size: one
 * lookup per descriptor, one Set of replaced names.
 */
import type { CounterLevel } from "../core/request.js";
import type { CompiledDomain, Rule } from "../config/compile.js";
import { matchDescriptor, type Match } from "../config/match.js";
import { UNIT_MS } from "../config/schema.js";
import { counterKey, counterPath, counterTag } from "../store/keys.js";
import type { RlsRequest } from "./types.js";

export interface PlannedLevel {
  rule: Rule;
  /** The store counter; null when the rule's limit is 0 (always over) — decided without a store. */
  counter: CounterLevel | null;
  /** Identity used by the local cache and the admin API even when there is no store counter. */
  id: string;
  windowMs: number;
}

export type DescriptorPlan = { kind: "none" } | { kind: "unlimited"; rule: Rule } | { kind: "limited"; rule: Rule; statsKey: string; hits: number; levels: PlannedLevel[]; match: Match };

export function planRequest(req: RlsRequest, domain: CompiledDomain | undefined): DescriptorPlan[] {
  const matches = req.descriptors.map((d) => matchDescriptor(domain, d.entries, d.limit));
  // envoyproxy/ratelimit: every matched rule's `replaces` (unlimited ones too) drops same-named rules.
  const replacing = new Set<string>();
  for (const m of matches) if (m.rule) for (const r of m.rule.replaces) replacing.add(r);
  const requestHits = Math.max(1, req.hitsAddend ?? 0);
  return matches.map((m, i): DescriptorPlan => {
    const rule = m.rule;
    if (!rule || (rule.name !== "" && replacing.has(rule.name))) return { kind: "none" };
    if (rule.unlimited) return { kind: "unlimited", rule };
    const d = req.descriptors[i]!;
    const tag = counterTag(domain!.name, m.counterEntries);
    const levels = m.levels.map((lv): PlannedLevel => {
      const path = counterPath(domain!.name, m.counterEntries, lv.depth);
      const windowMs = UNIT_MS[lv.rule.unit] * lv.rule.unitMultiplier;
      if (!lv.rule.limit) return { rule: lv.rule, counter: null, id: `${path}#zero`, windowMs };
      const key = counterKey(path, lv.rule.limit);
      return { rule: lv.rule, counter: { key, tag, limit: lv.rule.limit, enforce: !lv.rule.shadow }, id: key, windowMs };
    });
    return { kind: "limited", rule, statsKey: m.statsKey, hits: d.hitsAddend ?? requestHits, levels, match: m };
  });
}
