/**
 * Descriptor lookup — envoyproxy/ratelimit's GetLimit, step for step: at each entry take the child
 * with the exact `key_value`, else the first wildcard pattern of the parent that matches (`*` matches
 * any run of characters, anywhere, any number of times), else the default child `key`; a limit applies
 * only when the last entry lands on a node that has one. A request override (`descriptor.limit`)
 * replaces the lookup whenever the domain exists. The stats key follows detailed_metric,
 * value_to_metric and share_threshold exactly as there.
 *
 * Meridian adds the counters: the leaf counter's path is the request's own entries (share_threshold
 * entries replaced by their pattern, so they share one counter), and under `hierarchical` every
 * matched ancestor with a limit adds a level of the same atomic check.
 */
import type { CompiledDomain, CompiledNode, Rule } from "./compile.js";
import { ruleLimit } from "./compile.js";
import type { Unit } from "./schema.js";

export interface Entry {
  key: string;
  value: string;
}

export interface LimitOverride {
  requestsPerUnit: number;
  unit: Unit;
}

export interface MatchedLevel {
  rule: Rule;
  /** How many of the request's entries name this level's counter. */
  depth: number;
}

export interface Match {
  /** The limit for this descriptor (leaf), or null when none applies. */
  rule: Rule | null;
  /** The stats key its counters report under. */
  statsKey: string;
  /** Entries as the counters see them (share_threshold values replaced by their pattern). */
  counterEntries: Entry[];
  /** Leaf first, then matched ancestors when hierarchical. */
  levels: MatchedLevel[];
}

const NONE: Match = { rule: null, statsKey: "", counterEntries: [], levels: [] };

/** envoyproxy/ratelimit's wildcardMatch over a pattern pre-split on `*`. */
function wildcardMatch(parts: readonly string[], value: string): boolean {
  if (parts.length === 1) return parts[0] === value;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  let fixed = 0;
  for (const p of parts) fixed += p.length;
  if (value.length < fixed) return false;
  let rest = value.slice(first.length, value.length - last.length);
  for (let i = 1; i < parts.length - 1; i++) {
    const at = rest.indexOf(parts[i]!);
    if (at < 0) return false;
    rest = rest.slice(at + parts[i]!.length);
  }
  return true;
}

function descriptorKey(domain: string, entries: readonly Entry[]): string {
  return `${domain}.${entries.map((e) => (e.value !== "" ? `${e.key}_${e.value}` : e.key)).join(".")}`;
}

export function matchDescriptor(domain: CompiledDomain | undefined, entries: readonly Entry[], override?: LimitOverride): Match {
  if (!domain) return NONE;
  if (override) {
    const base = { requestsPerUnit: override.requestsPerUnit, unit: override.unit, unitMultiplier: 1 };
    // An override never runs in shadow mode (envoyproxy/ratelimit), and names no policy.
    const rule: Rule = {
      fullKey: descriptorKey(domain.name, entries),
      ...base,
      name: "",
      unlimited: false,
      shadow: false,
      quota: false,
      replaces: [],
      detailedMetric: false,
      metadata: undefined,
      global: false,
      limit: ruleLimit(base),
    };
    return { rule, statsKey: rule.fullKey, counterEntries: [...entries], levels: [{ rule, depth: entries.length }] };
  }
  let map = domain.root.children;
  let prev: CompiledNode = domain.root;
  let detailed = domain.name;
  let v2m = domain.name;
  let hierarchical = domain.hierarchical;
  const patterns: (string | undefined)[] = [];
  const ancestors: MatchedLevel[] = [];
  let leaf: Rule | null = null;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    let finalKey = `${e.key}_${e.value}`;
    detailed += `.${finalKey}`;
    let next = map.get(finalKey);
    let wildcardKey = "";
    if (!next)
      for (const w of prev.wildcards)
        if (wildcardMatch(w.parts, finalKey)) {
          next = map.get(w.key);
          wildcardKey = w.key;
          break;
        }
    const matchedUsingValue = next !== undefined;
    if (!next) {
      finalKey = e.key;
      next = map.get(finalKey);
    }
    if (wildcardKey && next?.shareThreshold && next.wildcardPattern) patterns[i] = next.wildcardPattern.slice(`${e.key}_`.length);
    v2m += ".";
    if (next) {
      let use = "";
      if (wildcardKey) use = patterns[i] ?? (next.valueToMetric ? e.value : wildcardKey.slice(`${e.key}_`.length));
      else if (matchedUsingValue) use = e.value;
      else if (next.valueToMetric) use = e.value;
      v2m += use ? `${e.key}_${use}` : e.key;
      hierarchical = next.hierarchical ?? hierarchical;
    } else v2m += e.key;
    if (next?.rule) {
      if (i === entries.length - 1) leaf = next.rule;
      else if (!next.rule.unlimited) ancestors.push({ rule: next.rule, depth: i + 1 });
    }
    if (!next || next.children.size === 0) break;
    map = next.children;
    prev = next;
  }
  if (!leaf) return NONE;
  const counterEntries = entries.map((e, i) => (patterns[i] !== undefined ? { key: e.key, value: patterns[i] } : e));
  let statsKey = leaf.fullKey;
  if (leaf.detailedMetric) statsKey = patterns.some((p) => p !== undefined) ? descriptorKey(domain.name, counterEntries) : detailed;
  else if (v2m !== leaf.fullKey) statsKey = v2m;
  const levels: MatchedLevel[] = [{ rule: leaf, depth: entries.length }];
  if (hierarchical) levels.push(...ancestors.reverse());
  return { rule: leaf, statsKey, counterEntries, levels };
}
