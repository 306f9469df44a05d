/**
 * The digest a registry serves for `<registry>/<repository>:<tag>`, through the OCI Distribution API:
 * `HEAD /v2/<repository>/manifests/<tag>` accepting image indexes, manifest lists and manifests, read from
 * `Docker-Content-Digest` (or, where a registry leaves it out, the sha256 of the manifest a GET returns). A
 * 401 with a Bearer challenge is answered with the registry's anonymous token flow (docker.io, ghcr.io,
 * quay.io). Each failure names the image and what the registry said.
 */
import { createHash } from "node:crypto";
import { MANIFEST_MEDIA_TYPES, parseChallenge, parseImageReference, registryBaseUrl, tokenRequestUrl, type ImageReference } from "../../model/images/registry.js";

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const ACCEPT = MANIFEST_MEDIA_TYPES.join(", ");

export interface ResolveOptions {
  /** Registry name → base URL to ask instead (a mirror; the tests' loopback registry). */
  endpoints?: Record<string, string>;
  /** Per request. */
  timeoutMs: number;
  /** How many images are asked for at once. */
  concurrency?: number;
}

export class ResolveError extends Error {
  override name = "ResolveError";
}

/** The digest of each reference, or every failure (one line per image): never a partial answer. */
export async function resolveDigests(references: string[], options: ResolveOptions): Promise<Record<string, string>> {
  const tokens = new Map<string, Promise<string>>();
  const results: Record<string, string> = {};
  const failures: string[] = [];
  const queue = [...references];
  const worker = async () => {
    for (let ref = queue.shift(); ref !== undefined; ref = queue.shift()) {
      try {
        results[ref] = await resolveDigest(parseImageReference(ref), options, tokens);
      } catch (err) {
        failures.push(err instanceof ResolveError ? err.message : `${ref}: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, references.length)) }, worker));
  if (failures.length) throw new ResolveError(failures.sort().join("\n"));
  return results;
}

async function resolveDigest(image: ImageReference, options: ResolveOptions, tokens: Map<string, Promise<string>>): Promise<string> {
  const url = `${registryBaseUrl(image.registry, options.endpoints)}/v2/${image.repository}/manifests/${image.tag}`;
  const ask = (method: "HEAD" | "GET", token?: string) => request(image, url, { method, headers: { accept: ACCEPT, ...(token ? { authorization: `Bearer ${token}` } : {}) } }, options.timeoutMs);

  let token: string | undefined;
  let res = await ask("HEAD");
  if (res.status === 401) {
    const header = res.headers.get("www-authenticate");
    const challenge = header === null ? undefined : parseChallenge(header);
    if (challenge?.scheme !== "bearer" || challenge.params["realm"] === undefined) {
      throw new ResolveError(
        `${image.reference}: ${hostOf(url)} refused anonymous access (401${header ? `, WWW-Authenticate: ${header}` : ""}); only registries that hand out anonymous pull tokens can be resolved`,
      );
    }
    const tokenUrl = tokenRequestUrl(challenge, image.repository);
    const key = tokenUrl.href;
    if (!tokens.has(key)) tokens.set(key, fetchToken(image, tokenUrl, options.timeoutMs));
    token = await tokens.get(key)!;
    res = await ask("HEAD", token);
    if (res.status === 401 || res.status === 403) {
      throw new ResolveError(`${image.reference}: ${hostOf(url)} refused the anonymous pull token (${res.status}): the repository is private or does not exist`);
    }
  }
  if (res.status === 404) throw new ResolveError(`${image.reference}: ${hostOf(url)} has no manifest for tag ${image.tag} in ${image.repository} (404)`);
  if (!res.ok) throw new ResolveError(`${image.reference}: ${hostOf(url)} answered ${res.status} ${res.statusText} to HEAD ${new URL(url).pathname}`);
  checkMediaType(image, res);
  const digest = res.headers.get("docker-content-digest");
  if (digest !== null && DIGEST.test(digest)) return digest;

  // No (usable) digest header: the digest is the sha256 of the manifest's bytes as served.
  const got = await ask("GET", token);
  if (!got.ok) throw new ResolveError(`${image.reference}: ${hostOf(url)} answered ${got.status} ${got.statusText} to GET ${new URL(url).pathname}`);
  checkMediaType(image, got);
  const body = Buffer.from(await got.arrayBuffer());
  return `sha256:${createHash("sha256").update(body).digest("hex")}`;
}

/** A manifest of a kind we did not ask for (a converted schema-1 manifest) has a digest no node pulls. */
function checkMediaType(image: ImageReference, res: Response): void {
  const type = res.headers.get("content-type")?.split(";")[0]!.trim();
  if (type !== undefined && type !== "" && !(MANIFEST_MEDIA_TYPES as readonly string[]).includes(type)) {
    throw new ResolveError(`${image.reference}: the registry answered with a ${type} manifest, not an OCI index/manifest or a Docker manifest list/v2 manifest`);
  }
}

async function fetchToken(image: ImageReference, url: URL, timeoutMs: number): Promise<string> {
  const res = await request(image, url.href, { method: "GET", headers: { accept: "application/json" } }, timeoutMs);
  if (!res.ok) throw new ResolveError(`${image.reference}: the token service ${url.host} refused an anonymous pull token (${res.status} ${res.statusText})`);
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new ResolveError(`${image.reference}: the token service ${url.host} answered something that is not JSON`);
  }
  const token = (body as { token?: unknown; access_token?: unknown } | null)?.token ?? (body as { access_token?: unknown } | null)?.access_token;
  if (typeof token !== "string" || token === "") throw new ResolveError(`${image.reference}: the token service ${url.host} answered no token`);
  return token;
}

async function request(image: ImageReference, url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    return await fetch(url, { ...init, redirect: "follow", signal });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (signal.aborted) throw new ResolveError(`${image.reference}: no answer from ${hostOf(url)} within ${timeoutMs / 1000} s`);
    throw new ResolveError(`${image.reference}: cannot reach ${hostOf(url)}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
  }
}

const hostOf = (url: string) => new URL(url).host;
