/**
 * From a request to what must be decided: each descriptor's matched rule (after envoyproxy/ratelimit's
 * `replaces` and `unlimited`) and its counter levels; its hits come from the request (`hitsOf`). Linear
 * in the request's size: one lookup per descriptor, one Set of replaced names when a rule replaces any.
 *
 * A descriptor's plan depends only on the domain's config and its own entries, so `PlanCache` keeps the
 * plans of recent descriptors: a repeated descriptor reuses its counter keys and check levels (the
 * check objects the store is given) instead of matching and escaping its entries again.
 */
import { reusedLevel, reusedLevels, type CounterLevel } from "../core/request.js";
import type { CompiledDomain, Rule } from "../config/compile.js";
import { matchDescriptor, type Match } from "../config/match.js";
import { UNIT_MS } from "../config/schema.js";
import { counterKey, counterPath, counterTag } from "../store/keys.js";
import type { RlsDescriptor, RlsRequest } from "./types.js";

export interface PlannedLevel {
  rule: Rule;
  /** The store counter; null when the rule's limit is 0 (always over) — decided without a store. */
  counter: CounterLevel | null;
  /** Identity used by the local cache and the admin API even when there is no store counter. */
  id: string;
  windowMs: number;
}

export interface LimitedPlan {
  kind: "limited";
  rule: Rule;
  statsKey: string;
  levels: PlannedLevel[];
  /**
   * The levels' store counters in order (levels of limit 0 have none): the check's levels when the store
   * decides them all. A cached plan's hierarchy is `reusedLevels` (never changed after, memoized by the memory store).
   */
  checkLevels: readonly CounterLevel[];
  match: Match;
}
export type DescriptorPlan = { kind: "none" } | { kind: "unlimited"; rule: Rule } | LimitedPlan;

const NONE: DescriptorPlan = { kind: "none" };

/** A descriptor's hits: its own hits_addend, else the request's (0 or absent: 1, as in Envoy). */
export const hitsOf = (req: RlsRequest, i: number): number => req.descriptors[i]!.hitsAddend ?? Math.max(1, req.hitsAddend ?? 0);

/**
 * One descriptor's plan before `replaces` (which depends on the request's other descriptors). `shared`
 * lends a level already planned for the same counter of the same rule (a tenant's level under each of
 * its users), so descriptors under one parent share its level object.
 */
function planDescriptor(domain: CompiledDomain | undefined, d: RlsDescriptor, shared?: Map<string, PlannedLevel>): DescriptorPlan {
  const m = matchDescriptor(domain, d.entries, d.limit);
  const rule = m.rule;
  if (!rule) return NONE;
  if (rule.unlimited) return { kind: "unlimited", rule };
  const tag = counterTag(domain!.name, m.counterEntries);
  const levels = m.levels.map((lv): PlannedLevel => {
    const path = counterPath(domain!.name, m.counterEntries, lv.depth);
    const windowMs = UNIT_MS[lv.rule.unit] * lv.rule.unitMultiplier;
    if (!lv.rule.limit) return { rule: lv.rule, counter: null, id: `${path}#zero`, windowMs };
    const key = counterKey(path, lv.rule.limit);
    const known = shared?.get(key);
    if (known !== undefined && known.rule === lv.rule && known.counter!.tag === tag) return known;
    // A cached plan's counter is reused by every request naming it: the memory store may remember its slot.
    const counter: CounterLevel = { key, tag, limit: lv.rule.limit, enforce: !lv.rule.shadow };
    const planned: PlannedLevel = { rule: lv.rule, counter: shared ? reusedLevel(counter) : counter, id: key, windowMs };
    shared?.set(key, planned);
    return planned;
  });
  const checkLevels: CounterLevel[] = [];
  for (const lv of levels) if (lv.counter) checkLevels.push(lv.counter);
  return { kind: "limited", rule, statsKey: m.statsKey, levels, checkLevels: shared && checkLevels.length > 1 ? reusedLevels(checkLevels) : checkLevels, match: m };
}

/** envoyproxy/ratelimit: every matched rule's `replaces` (unlimited ones too) drops same-named rules. */
function withReplaces(plans: DescriptorPlan[]): DescriptorPlan[] {
  let replacing: Set<string> | null = null;
  for (const p of plans) if (p.kind !== "none" && p.rule.replaces.length > 0) for (const r of p.rule.replaces) (replacing ??= new Set()).add(r);
  if (replacing === null) return plans;
  const replaced = replacing;
  return plans.map((p) => (p.kind !== "none" && p.rule.name !== "" && replaced.has(p.rule.name) ? NONE : p));
}

export function planRequest(req: RlsRequest, domain: CompiledDomain | undefined): DescriptorPlan[] {
  return withReplaces(req.descriptors.map((d) => planDescriptor(domain, d)));
}

/** A trie over a descriptor's entries, key then value: a node holds the plan of the entries that lead to it. */
interface PlanNode {
  plan: DescriptorPlan | undefined;
  next: Map<string, Map<string, PlanNode>> | undefined;
}

/**
 * planRequest with the plans of recent descriptors kept, for one domain config (`clear()` on reload).
 * Looked up entry by entry (no key string to build, no two entry lists alike); past `maxNodes` entries the whole
 * cache is dropped, so memory stays bounded whatever values requests carry. Descriptors with a request
 * override are planned afresh (their rule is the request's).
 */
export class PlanCache {
  private readonly roots = new Map<string, PlanNode>();
  /** Planned levels by counter key (see planDescriptor), dropped with the plans. */
  private readonly levels = new Map<string, PlannedLevel>();
  private nodes = 0;

  constructor(private readonly maxNodes = 100_000) {}

  plan(req: RlsRequest, domain: CompiledDomain | undefined): DescriptorPlan[] {
    if (!domain || this.maxNodes <= 0) return planRequest(req, domain);
    const ds = req.descriptors;
    const plans = new Array<DescriptorPlan>(ds.length);
    for (let i = 0; i < ds.length; i++) plans[i] = this.planOf(domain, ds[i]!);
    return withReplaces(plans);
  }

  private planOf(domain: CompiledDomain, d: RlsDescriptor): DescriptorPlan {
    if (d.limit) return planDescriptor(domain, d);
    // Past the bound the whole cache goes (before this walk adds to it).
    if (this.nodes + d.entries.length >= this.maxNodes) this.clear();
    let node = this.roots.get(domain.name);
    if (node === undefined) this.roots.set(domain.name, (node = { plan: undefined, next: undefined }));
    for (const e of d.entries) {
      const next: Map<string, Map<string, PlanNode>> = (node.next ??= new Map());
      let byValue = next.get(e.key);
      if (byValue === undefined) next.set(e.key, (byValue = new Map()));
      let child = byValue.get(e.value);
      if (child === undefined) {
        byValue.set(e.value, (child = { plan: undefined, next: undefined }));
        this.nodes++;
      }
      node = child;
    }
    return (node.plan ??= planDescriptor(domain, d, this.levels));
  }

  clear(): void {
    this.roots.clear();
    this.levels.clear();
    this.nodes = 0;
  }
}
