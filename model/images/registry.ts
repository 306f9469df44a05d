/**
 * The pure parts of asking an OCI registry (the Distribution API) for the digest of `<registry>/<repository>:<tag>`:
 * where the manifest lives, which manifest kinds to accept, and what a `WWW-Authenticate` challenge asks for.
 * The HTTP itself is cli/images/resolve.ts.
 */

export interface ImageReference {
  /** As written in the catalogue: `docker.io/istio/pilot:1.28.0`. */
  reference: string;
  /** The registry's name: `docker.io`, `ghcr.io`, `quay.io`, `registry.k8s.io`. */
  registry: string;
  /** The repository inside it, as the API names it (`library/busybox`, `spiffe/spire-server`). */
  repository: string;
  tag: string;
}

/**
 * What a manifest request accepts, most specific first. Without the index and list types a registry answers a
 * multi-platform tag with one platform's manifest (or, for Docker's, a converted schema-1 manifest): a digest,
 * but not the one a node pulls.
 */
export const MANIFEST_MEDIA_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
] as const;

/** `<registry>/<repository>:<tag>` with an explicit registry (the catalogue's form). */
export function parseImageReference(reference: string): ImageReference {
  const m = /^([a-z0-9.-]+(?::[0-9]+)?)\/([a-z0-9]+(?:[._/-][a-z0-9]+|__[a-z0-9]+)*):([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/.exec(reference);
  if (!m) throw new Error(`${reference}: expected <registry>/<repository>:<tag> (e.g. docker.io/library/busybox:1.37.0)`);
  const registry = m[1]!;
  // Docker Hub's official images live under library/ (`docker.io/busybox` is `library/busybox`).
  const repository = registry === "docker.io" && !m[2]!.includes("/") ? `library/${m[2]!}` : m[2]!;
  return { reference, registry, repository, tag: m[3]! };
}

/** The API's base URL for a registry: an operator's endpoint (a mirror, a test registry) or the registry's own. */
export function registryBaseUrl(registry: string, endpoints: Record<string, string> = {}): string {
  const override = endpoints[registry];
  if (override !== undefined) return override.replace(/\/+$/, "");
  // Docker Hub's API is not served on docker.io itself.
  return registry === "docker.io" ? "https://registry-1.docker.io" : `https://${registry}`;
}

export interface Challenge {
  /** Lower-cased: `bearer`, `basic`. */
  scheme: string;
  /** The auth-params, names lower-cased (`realm`, `service`, `scope`, `error`). */
  params: Record<string, string>;
}

/**
 * The first challenge of a `WWW-Authenticate` header (RFC 7235: `<scheme> name=value, name="quoted \" value"`),
 * or undefined when the header is not one. Registries send a single Bearer challenge.
 */
export function parseChallenge(header: string): Challenge | undefined {
  const head = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+|$)/.exec(header);
  if (!head) return undefined;
  const params: Record<string, string> = {};
  const param = /\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(,|$)/y;
  param.lastIndex = head[0].length;
  while (param.lastIndex < header.length) {
    const m = param.exec(header);
    // Anything else (a second scheme, token68) ends the first challenge's parameters.
    if (!m) break;
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3]!;
    if (m[4] === "") break;
  }
  return { scheme: head[1]!.toLowerCase(), params };
}

/**
 * The anonymous token request a Bearer challenge asks for: its realm with its service and the pull scope of
 * this repository (the challenge's own scope when it names one, as Docker Hub's and the Distribution
 * registry's do).
 */
export function tokenRequestUrl(challenge: Challenge, repository: string): URL {
  const realm = challenge.params["realm"];
  if (challenge.scheme !== "bearer" || realm === undefined) throw new Error(`not a Bearer challenge with a realm: ${challenge.scheme}`);
  const url = new URL(realm);
  if (challenge.params["service"] !== undefined) url.searchParams.set("service", challenge.params["service"]);
  url.searchParams.set("scope", challenge.params["scope"] ?? `repository:${repository}:pull`);
  return url;
}

/** The `meridian:imageDigests` block of a stack file, sorted, as it sits under `config:`. */
export function renderImageDigestsBlock(digests: Record<string, string>): string {
  const lines = Object.keys(digests)
    .sort()
    .map((reference) => `    ${JSON.stringify(reference)}: ${digests[reference]!}`);
  return `  meridian:imageDigests:\n${lines.join("\n")}\n`;
}
