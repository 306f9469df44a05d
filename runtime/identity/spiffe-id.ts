/**
 * SPIFFE IDs (SPIFFE-ID spec §2): `spiffe://<trust domain>/<path>`. Parsing is strict, as the spec asks:
 * lower-case trust domain of [a-z0-9._-], path segments of [A-Za-z0-9._-] that are neither empty nor
 * `.`/`..`, no query, fragment, port or user info. Equal IDs compare equal as strings once parsed.
 */
export interface SpiffeId {
  trustDomain: string;
  /** `/ns/meridian/sa/escrow`; empty for the trust domain's own ID. */
  path: string;
  /** The canonical `spiffe://…` form. */
  uri: string;
}

export class SpiffeIdError extends Error {
  override name = "SpiffeIdError";
}

const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

export function parseSpiffeId(text: string): SpiffeId {
  const fail = (why: string) => new SpiffeIdError(`invalid SPIFFE ID ${JSON.stringify(text)}: ${why}`);
  if (!text.startsWith("spiffe://")) throw fail("expected the scheme spiffe://");
  const rest = text.slice("spiffe://".length);
  const slash = rest.indexOf("/");
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? "" : rest.slice(slash);
  if (trustDomain === "") throw fail("expected a trust domain");
  if (!TRUST_DOMAIN.test(trustDomain)) throw fail("trust domain may contain only a-z, 0-9, '.', '-' and '_' (no port, user info or upper case)");
  if (path !== "") {
    for (const segment of path.slice(1).split("/")) {
      if (segment === "") throw fail("path segments must not be empty (no '//' or trailing '/')");
      if (segment === "." || segment === "..") throw fail("path segments must not be '.' or '..'");
      if (!SEGMENT.test(segment)) throw fail(`path segment ${JSON.stringify(segment)} may contain only A-Z, a-z, 0-9, '.', '-' and '_'`);
    }
  }
  return { trustDomain, path, uri: `spiffe://${trustDomain}${path}` };
}

/** `spiffe://<td>/ns/<namespace>/sa/<service account>`, the Kubernetes workload convention. */
export function workloadId(trustDomain: string, namespace: string, serviceAccount: string): SpiffeId {
  return parseSpiffeId(`spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`);
}
