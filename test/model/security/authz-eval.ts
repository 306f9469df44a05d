/**
 * Istio AuthorizationPolicy (security.istio.io/v1) evaluation for the subset Meridian writes: ALLOW policies,
 * principals, ports, methods, paths and notPaths, with Istio's string matching (exact, `prefix*`, `*suffix`, `*`).
 * A workload that some ALLOW policy of its namespace applies to (an empty spec included) admits a request only
 * when a rule matches; fields within a rule are ANDed, list entries ORed.
 */
export interface AuthzPolicy {
  metadata: { name: string; namespace?: unknown };
  spec: { selector?: { matchLabels: Record<string, string> }; action?: string; rules?: AuthzRule[] };
}
interface AuthzRule {
  from?: { source: { principals?: string[] } }[];
  to?: { operation: { ports?: string[]; methods?: string[]; paths?: string[]; notPaths?: string[] } }[];
}
export interface Request {
  namespace: string;
  labels: Record<string, string>;
  /** Istio form: `<trust domain>/ns/<ns>/sa/<sa>`; null for a plaintext (unauthenticated) peer. */
  principal: string | null;
  port: number;
  method: string;
  path: string;
}

export function istioMatch(pattern: string, value: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith("*")) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith("*")) return value.endsWith(pattern.slice(1));
  return pattern === value;
}

const any = (patterns: string[] | undefined, value: string | null) => patterns === undefined || (value !== null && patterns.some((p) => istioMatch(p, value)));

function ruleMatches(rule: AuthzRule, req: Request): boolean {
  const fromOk = rule.from === undefined || rule.from.some((f) => any(f.source.principals, req.principal));
  const toOk =
    rule.to === undefined ||
    rule.to.some(({ operation: o }) => any(o.ports, String(req.port)) && any(o.methods, req.method) && any(o.paths, req.path) && !(o.notPaths ?? []).some((p) => istioMatch(p, req.path)));
  return fromOk && toOk;
}

export function authorized(policies: AuthzPolicy[], req: Request): boolean {
  const applying = policies.filter(
    (p) => p.metadata.namespace === req.namespace && (p.spec.action ?? "ALLOW") === "ALLOW" && Object.entries(p.spec.selector?.matchLabels ?? {}).every(([k, v]) => req.labels[k] === v),
  );
  if (applying.length === 0) return true;
  return applying.some((p) => (p.spec.rules ?? []).some((r) => ruleMatches(r, req)));
}
