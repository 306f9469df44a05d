/**
 * envoyproxy/ratelimit's config grammar, validated the way its loader validates it (src/config/
 * config_impl.go), with errors that name the file, the key's path and envoyproxy/ratelimit's own
 * message (`unknown key 'ratelimit'`, `invalid rate limit unit 'foo'`, …):
 *
 *   domain, descriptors: [{ key, value, rate_limit: { unit, requests_per_unit, unlimited, name,
 *   replaces: [{ name }] }, descriptors, shadow_mode, quota_mode, detailed_metric, value_to_metric,
 *   share_threshold, metadata }]
 *
 * Units second…year plus week; `requests_per_unit: 0` blocks every request; `value` may hold `*`
 * anywhere (wildcards). Meridian's extensions: `rate_limit.algorithm` (default fixed-window, the
 * only algorithm envoyproxy/ratelimit has), `burst`, `debt`, `unit_multiplier`, `global`, and
 * `hierarchical` (domain or descriptor). Keys are checked where they belong (envoyproxy/ratelimit
 * accepts any known key anywhere and ignores it; a misplaced key is refused here). Several domains
 * may share a file as separate YAML documents.
 */
import { isMap, isScalar, isSeq, parseAllDocuments, type Node } from "yaml";
import { ALGORITHMS, type Algorithm } from "../core/limit.js";

export const UNIT_MS = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  // envoyproxy/ratelimit's dividers: 30-day months, 365-day years.
  month: 30 * 86_400_000,
  year: 365 * 86_400_000,
} as const;
export type Unit = keyof typeof UNIT_MS;
export const UNITS = Object.keys(UNIT_MS) as Unit[];

export interface RateLimitConfig {
  unit: Unit | undefined;
  requests_per_unit: number;
  unlimited: boolean;
  name: string;
  replaces: string[];
  unit_multiplier: number;
  algorithm: Algorithm | undefined;
  burst: number | undefined;
  debt: number | undefined;
  global: boolean;
}

export interface DescriptorConfig {
  key: string;
  value: string;
  rate_limit: RateLimitConfig | undefined;
  descriptors: DescriptorConfig[];
  shadow_mode: boolean;
  quota_mode: boolean;
  detailed_metric: boolean;
  value_to_metric: boolean;
  share_threshold: boolean;
  metadata: Record<string, unknown> | undefined;
  hierarchical: boolean | undefined;
}

export interface DomainConfig {
  domain: string;
  descriptors: DescriptorConfig[];
  hierarchical: boolean;
  /** The file it came from (errors and `validate` output name it). */
  file: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const ROOT_KEYS = ["domain", "descriptors", "hierarchical"];
const DESCRIPTOR_KEYS = ["key", "value", "rate_limit", "descriptors", "shadow_mode", "quota_mode", "detailed_metric", "value_to_metric", "share_threshold", "metadata", "hierarchical"];
const RATE_LIMIT_KEYS = ["unit", "requests_per_unit", "unlimited", "name", "replaces", "unit_multiplier", "algorithm", "burst", "debt", "global"];

/** One problem: where it is and what is wrong. */
type Problem = (path: string, message: string) => void;

const scalar = (n: Node | null | undefined): unknown => (isScalar(n) ? n.value : n === null || n === undefined ? null : n);

/** envoyproxy/ratelimit's validateYamlKeys, per level: every key a string, known at this level; lists hold maps. */
function checkKeys(node: Node | null, allowed: readonly string[], path: string, problem: Problem, nested: (key: string, value: Node | null, at: string) => void): void {
  if (node === null || (isScalar(node) && node.value === null)) return;
  if (!isMap(node)) return problem(path || "(document)", `expected a map, got ${JSON.stringify(scalar(node))}`);
  for (const item of node.items) {
    const k = isScalar(item.key) ? item.key.value : item.key;
    if (typeof k !== "string") {
      problem(path || "(document)", `config error, key is not of type string: ${String(scalar(item.key as Node))}`);
      continue;
    }
    const at = path ? `${path}.${k}` : k;
    if (!allowed.includes(k)) {
      const home = RATE_LIMIT_KEYS.includes(k) ? " (it belongs under rate_limit)" : DESCRIPTOR_KEYS.includes(k) ? " (it belongs on a descriptor)" : "";
      problem(at, `config error, unknown key '${k}'${home}`);
      continue;
    }
    nested(k, item.value as Node | null, at);
  }
}

function checkList(node: Node | null, path: string, problem: Problem, each: (item: Node, at: string) => void): void {
  if (node === null || (isScalar(node) && node.value === null)) return;
  if (!isSeq(node)) return problem(path, `expected a list, got ${JSON.stringify(scalar(node))}`);
  node.items.forEach((item, i) => {
    const at = `${path}[${i}]`;
    if (!isMap(item)) problem(at, `config error, yaml file contains list of type other than map: ${String(scalar(item as Node))}`);
    else each(item as Node, at);
  });
}

function validateTree(root: Node | null, problem: Problem): void {
  checkKeys(root, ROOT_KEYS, "", problem, (k, v, at) => {
    if (k === "descriptors") checkList(v, at, problem, (d, dAt) => validateDescriptor(d, dAt, problem));
  });
}

function validateDescriptor(node: Node, path: string, problem: Problem): void {
  checkKeys(node, DESCRIPTOR_KEYS, path, problem, (k, v, at) => {
    if (k === "descriptors") checkList(v, at, problem, (d, dAt) => validateDescriptor(d, dAt, problem));
    else if (k === "rate_limit")
      checkKeys(v, RATE_LIMIT_KEYS, at, problem, (rk, rv, rAt) => {
        if (rk === "replaces") checkList(rv, rAt, problem, (r, x) => checkKeys(r, ["name"], x, problem, () => {}));
      });
    else if (k === "metadata" && v !== null && !isMap(v) && !(isScalar(v) && v.value === null)) problem(at, "error parsing metadata: expected a map");
  });
}

// ---- typed values (after the key check, so every key here is known) -------------------------------

type Raw = Record<string, unknown>;

function str(v: unknown, at: string, problem: Problem): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  // yaml.v2 decodes a scalar into a string field as its text (value: 5 → "5").
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  problem(at, `expected a string, got ${JSON.stringify(v)}`);
  return "";
}

function bool(v: unknown, at: string, problem: Problem): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === "boolean") return v;
  problem(at, `expected true or false, got ${JSON.stringify(v)}`);
  return false;
}

function num(v: unknown, at: string, problem: Problem, what: string, ok: (n: number) => boolean): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !ok(v)) {
    problem(at, `expected ${what}, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return v;
}

function rateLimit(r: Raw, at: string, problem: Problem): RateLimitConfig {
  const unlimited = bool(r.unlimited, `${at}.unlimited`, problem);
  const unitText = str(r.unit, `${at}.unit`, problem);
  const unit = UNITS.find((u) => u === unitText.toLowerCase());
  if (unlimited && unit) problem(`${at}.unit`, "should not specify rate limit unit when unlimited");
  else if (!unlimited && !unit) problem(`${at}.unit`, `invalid rate limit unit '${unitText}' (expected one of ${UNITS.join(", ")})`);
  const name = str(r.name, `${at}.name`, problem);
  const replaces = ((r.replaces as Raw[] | null | undefined) ?? []).map((x, i) => {
    const n = str(x?.name, `${at}.replaces[${i}].name`, problem);
    if (n === "") problem(`${at}.replaces[${i}]`, "should not have an empty replaces entry");
    else if (n === name) problem(`${at}.replaces[${i}]`, "replaces should not contain name of same descriptor");
    return n;
  });
  const algorithm =
    r.algorithm === undefined
      ? undefined
      : (ALGORITHMS as readonly unknown[]).includes(r.algorithm)
        ? (r.algorithm as Algorithm)
        : (problem(`${at}.algorithm`, `expected one of ${ALGORITHMS.join(", ")}, got ${JSON.stringify(r.algorithm)}`), undefined);
  const burst = num(r.burst, `${at}.burst`, problem, "a number ≥ 0", (n) => n >= 0 && Number.isFinite(n));
  const debt = num(r.debt, `${at}.debt`, problem, "a number ≥ 0", (n) => n >= 0 && Number.isFinite(n));
  const global = bool(r.global, `${at}.global`, problem);
  if (debt !== undefined && algorithm !== "token-bucket") problem(`${at}.debt`, "debt applies to algorithm token-bucket only");
  if (global && (algorithm !== undefined || burst !== undefined || debt !== undefined))
    problem(`${at}.global`, "a global limit is enforced from leased per-window budgets; algorithm, burst and debt do not apply");
  return {
    unit,
    // envoyproxy/ratelimit: uint32, absent means 0 (which blocks every request).
    requests_per_unit: num(r.requests_per_unit, `${at}.requests_per_unit`, problem, "an integer 0–4294967295", (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff) ?? 0,
    unlimited,
    name,
    replaces,
    unit_multiplier: num(r.unit_multiplier, `${at}.unit_multiplier`, problem, "a positive integer", (n) => Number.isInteger(n) && n >= 1) ?? 1,
    algorithm,
    burst,
    debt,
    global,
  };
}

function descriptor(d: Raw, at: string, problem: Problem): DescriptorConfig {
  const key = str(d.key, `${at}.key`, problem);
  if (key === "") problem(at, "descriptor has empty key");
  const value = str(d.value, `${at}.value`, problem);
  const share = bool(d.share_threshold, `${at}.share_threshold`, problem);
  const finalKey = value ? `${key}_${value}` : key;
  if (share && !finalKey.includes("*")) problem(`${at}.share_threshold`, `share_threshold can only be used with wildcard values (containing '*'), but found key '${finalKey}'`);
  return {
    key,
    value,
    rate_limit: d.rate_limit && typeof d.rate_limit === "object" ? rateLimit(d.rate_limit as Raw, `${at}.rate_limit`, problem) : undefined,
    descriptors: ((d.descriptors as Raw[] | null | undefined) ?? []).map((c, i) => descriptor(c, `${at}.descriptors[${i}]`, problem)),
    shadow_mode: bool(d.shadow_mode, `${at}.shadow_mode`, problem),
    quota_mode: bool(d.quota_mode, `${at}.quota_mode`, problem),
    detailed_metric: bool(d.detailed_metric, `${at}.detailed_metric`, problem),
    value_to_metric: bool(d.value_to_metric, `${at}.value_to_metric`, problem),
    share_threshold: share,
    metadata: d.metadata && typeof d.metadata === "object" ? (d.metadata as Record<string, unknown>) : undefined,
    hierarchical: d.hierarchical === undefined ? undefined : bool(d.hierarchical, `${at}.hierarchical`, problem),
  };
}

/** Parse one file's YAML documents into domains; throws one ConfigError listing every problem. */
export function parseRateLimitConfig(text: string, file = "<config>"): DomainConfig[] {
  const problems: string[] = [];
  const domains: DomainConfig[] = [];
  const docs = parseAllDocuments(text);
  for (const [n, doc] of docs.entries()) {
    const where = docs.length > 1 ? `${file} (document ${n + 1})` : file;
    const problem: Problem = (path, message) => problems.push(`${where}: ${path}: ${message}`);
    if (doc.errors.length) {
      for (const e of doc.errors) problems.push(`${where}: error loading config file: ${e.message}`);
      continue;
    }
    const before = problems.length;
    validateTree(doc.contents as Node | null, problem);
    if (problems.length > before) continue;
    const value = (doc.toJS() ?? {}) as Raw;
    const domain = str(value.domain, "domain", problem);
    if (domain === "") problem("domain", "config file cannot have empty domain");
    const descriptors = ((value.descriptors as Raw[] | null | undefined) ?? []).map((d, i) => descriptor(d, `descriptors[${i}]`, problem));
    if (problems.length === before) domains.push({ domain, descriptors, hierarchical: bool(value.hierarchical, "hierarchical", problem), file });
  }
  if (problems.length) throw new ConfigError(problems.join("\n"));
  if (docs.length === 0) throw new ConfigError(`${file}: domain: config file cannot have empty domain`);
  return domains;
}
