/**
 * Provider rules: what a cloud provider (or the Kubernetes API server) refuses at `pulumi up`, checked
 * over the resources the offline plan recorded. A rule carries the provider's own words for the refusal
 * and a link to where they come from (the provider's source, API reference or SDK doc comment), so a
 * refused plan reads exactly like the `pulumi up` that would have failed.
 * Invariant: a rule never guesses about a value the cloud assigns — an unknown (`COMPUTED`) input passes,
 * as it does in a real preview; `cloudValues: "fake"` plans give those values realistic stand-ins.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { RecordedResource } from "../mock-runtime.js";

const UNKNOWN = "(computed)";

export type RuleProvider = "aws" | "gcp" | "azure" | "cloudflare" | "kubernetes" | "estate";

export interface ProviderRule {
  /** Stable id, listed in docs/provider-rules.md. */
  id: string;
  provider: RuleProvider;
  /** Resource type tokens the rule looks at. */
  types: readonly string[];
  /** One line for the rules table: what is refused. */
  summary: string;
  /** Where the rule and its message come from. */
  source: string;
  /** The refusals for one resource (empty when it passes). */
  check(resource: RecordedResource, plan: PlanView): string[];
}

export interface Violation {
  rule: string;
  provider: RuleProvider;
  urn: string;
  type: string;
  name: string;
  message: string;
  source: string;
}

/** The recorded plan, indexed for rules that look across resources (ordering, references). */
export class PlanView {
  readonly byUrn: Map<string, RecordedResource>;
  private readonly byType = new Map<string, RecordedResource[]>();

  constructor(readonly resources: readonly RecordedResource[]) {
    this.byUrn = new Map(resources.map((r) => [r.urn, r]));
    for (const r of resources) this.byType.set(r.type, [...(this.byType.get(r.type) ?? []), r]);
  }

  ofType(type: string): RecordedResource[] {
    return this.byType.get(type) ?? [];
  }

  /** Whether `resource` waits for `target` (directly or through a chain of dependencies). */
  dependsOn(resource: RecordedResource, target: RecordedResource): boolean {
    const seen = new Set<string>();
    const stack = [...resource.dependencies];
    while (stack.length) {
      const urn = stack.pop()!;
      if (urn === target.urn) return true;
      if (seen.has(urn)) continue;
      seen.add(urn);
      stack.push(...(this.byUrn.get(urn)?.dependencies ?? []));
    }
    return false;
  }
}

// ---- reading inputs -------------------------------------------------------------------------------

export type Props = Record<string, unknown>;

/** A known value: not absent and not (containing) an unknown the cloud will fill in. */
export function known(value: unknown): boolean {
  if (value === undefined || value === null || value === UNKNOWN) return false;
  if (typeof value === "string") return !value.includes(UNKNOWN);
  if (Array.isArray(value)) return value.every(known);
  return true;
}

export function obj(value: unknown): Props {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Props) : {};
}

export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function str(value: unknown): string | undefined {
  return typeof value === "string" && known(value) ? value : undefined;
}

export function num(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}

export function inputs(r: RecordedResource): Props {
  return r.inputs;
}

/** `a.b[0].c` lookups over plain inputs. */
export function at(root: unknown, path: string): unknown {
  let cur: unknown = root;
  for (const part of path.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== "")) {
    if (cur === null || cur === undefined) return undefined;
    cur = /^\d+$/.test(part) ? arr(cur)[Number(part)] : obj(cur)[part];
  }
  return cur;
}

export const ip = { v4: (s: string) => isIPv4(s), v6: (s: string) => isIPv6(s), any: (s: string) => isIPv4(s) || isIPv6(s) };

// ---- the providers' message shapes ------------------------------------------------------------------

/**
 * How a bridged (Terraform-based) provider reports a failed schema check at preview:
 * pulumi-terraform-bridge's CheckFailure wording around the Terraform SDK's validation message.
 */
export function bridgeProblem(r: RecordedResource, property: string, message: string): string {
  return `${r.type} resource '${r.name}' has a problem: ${message}. Examine values at '${r.name}.${property}'.`;
}

/** Kubernetes API server field errors (k8s.io/apimachinery/pkg/util/validation/field): `<path>: <type>: <detail>`. */
export function fieldError(kind: string, name: string, path: string, detail: string): string {
  return `${kind} "${name}" is invalid: ${path}: ${detail}`;
}
