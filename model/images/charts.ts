/**
 * Every container image the pinned Helm charts (components/pki/charts.ts) run, and the chart value that pins
 * each one by digest. A chart left at its defaults runs `<repository>:<tag>`: mutable, so two regions, or
 * one node before and after a restart, could run different code from the same plan. Each image's digest
 * comes from the stack setting `meridian:imageDigests` (keyed by the tagged reference the chart would run, so
 * `crane digest <key>` prints the value) or, when two independent public sources agreed on the digest of
 * that exact tag, from VENDORED_DIGESTS. Outside `local` the stack must name a digest for every image here
 * (stacks/semantic.ts), and the policy pack refuses a release or container referenced by tag
 * (policies/rules/images.ts). Pure data: components merge `chartImageValues` into each release's values.
 */

/** How a chart takes a digest, per its own templates at the pinned version. */
export type DigestStyle =
  /** `<path>.digest: sha256:…` (cert-manager, approver-policy, x509-certificate-exporter: "a digest overrides the tag"). */
  | "digest"
  /** `<path>.tag: sha256:…` (SPIRE's spire-lib.image renders a tag starting `sha256:` as `<registry>/<repository>@<tag>`). */
  | "tag"
  /** `<path>: <repository>@sha256:…` (Istio: an image value containing `/` is used verbatim). */
  | "reference";

export interface ChartImage {
  /** The image the chart runs by default at the pinned version, `<repository>:<tag>`: the setting's key. */
  reference: string;
  /** The value path (segments, as keys may contain dots) the digest goes to. */
  path: string[];
  style: DigestStyle;
}

export const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** The digest the shipped stack files carry until an operator names the real one: no image has it. */
export const PLACEHOLDER_DIGEST = `sha256:${"0".repeat(64)}`;

/**
 * kubectl for chart hooks. The charts would pick the cluster's own version at install time (a tag the plan
 * cannot know); one pinned kubectl serves them instead (kubectl supports one minor version of skew each way).
 */
const KUBECTL = "registry.k8s.io/kubectl:v1.34.1";
const BUSYBOX = "docker.io/library/busybox:1.37.0-uclibc";

/** By `<chart>@<version>`, exactly as components/pki/charts.ts pins them. A chart with no images lists none. */
export const CHART_IMAGES: Record<string, ChartImage[]> = {
  "cert-manager@v1.19.1": [
    { reference: "quay.io/jetstack/cert-manager-controller:v1.19.1", path: ["image"], style: "digest" },
    { reference: "quay.io/jetstack/cert-manager-webhook:v1.19.1", path: ["webhook", "image"], style: "digest" },
    { reference: "quay.io/jetstack/cert-manager-cainjector:v1.19.1", path: ["cainjector", "image"], style: "digest" },
    // Run by the controller for HTTP-01 challenges (its --acme-http01-solver-image flag comes from this value).
    { reference: "quay.io/jetstack/cert-manager-acmesolver:v1.19.1", path: ["acmesolver", "image"], style: "digest" },
    { reference: "quay.io/jetstack/cert-manager-startupapicheck:v1.19.1", path: ["startupapicheck", "image"], style: "digest" },
  ],
  "cert-manager-approver-policy@v0.22.2": [{ reference: "quay.io/jetstack/cert-manager-approver-policy:v0.22.2", path: ["image"], style: "digest" }],
  "x509-certificate-exporter@4.2.0": [
    { reference: "quay.io/enix/x509-certificate-exporter:4.2.0", path: ["image"], style: "digest" },
    // The chart's migration hook Job.
    { reference: KUBECTL, path: ["migration", "image"], style: "digest" },
  ],
  "spire-crds@0.5.0": [],
  "spire@0.27.0": [
    { reference: "ghcr.io/spiffe/spire-server:1.13.0", path: ["spire-server", "image"], style: "tag" },
    { reference: "ghcr.io/spiffe/spire-controller-manager:0.6.2", path: ["spire-server", "controllerManager", "image"], style: "tag" },
    { reference: BUSYBOX, path: ["spire-server", "chown", "image"], style: "tag" },
    { reference: "ghcr.io/spiffe/spire-agent:1.13.0", path: ["spire-agent", "image"], style: "tag" },
    // The agent's fsGroup fix-up init container (the recommended pod security context sets an fsGroup).
    { reference: BUSYBOX, path: ["spire-agent", "fsGroupFix", "image"], style: "tag" },
    { reference: "ghcr.io/spiffe/spiffe-csi-driver:0.2.7", path: ["spiffe-csi-driver", "image"], style: "tag" },
    { reference: "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.9.4", path: ["spiffe-csi-driver", "nodeDriverRegistrar", "image"], style: "tag" },
    // Every hook's kubectl (server, agent and OIDC provider): a tag here applies wherever the hook's own tag is empty.
    { reference: KUBECTL, path: ["global", "spire", "tools", "kubectl"], style: "tag" },
  ],
  "base@1.28.0": [],
  "istiod@1.28.0": [
    { reference: "docker.io/istio/pilot:1.28.0", path: ["image"], style: "reference" },
    // Every injected sidecar, the gateways (the gateway chart's `image: auto` is injected) and istio-validation.
    { reference: "docker.io/istio/proxyv2:1.28.0", path: ["global", "proxy", "image"], style: "reference" },
    { reference: "docker.io/istio/proxyv2:1.28.0", path: ["global", "proxy_init", "image"], style: "reference" },
  ],
  "cni@1.28.0": [{ reference: "docker.io/istio/install-cni:1.28.0", path: ["image"], style: "reference" }],
  "gateway@1.28.0": [],
};

/**
 * Value paths set to `false` in `<chart>@<version>`: parts of the chart the plan does not run, so their images
 * are not catalogued. `chartImageValues` sets them; `tagReferencedImages` refuses values that turn one back on,
 * since the part's images would then run by tag.
 */
const DISABLED_PARTS: Record<string, string[][]> = {
  // SPIRE's OIDC discovery provider (on by default, with spiffe-helper and nginx sidecars) serves the keys that
  // verify JWT-SVIDs; Meridian uses X.509-SVIDs only (docs/pki.md), so it would be an endpoint nothing uses.
  "spire@0.27.0": [["spiffe-oidc-discovery-provider", "enabled"]],
};

/**
 * Digests vendored because two independent public sources name the same digest for that exact tag (the
 * sources are listed with each). Anything else comes from the stack: a digest is never guessed.
 */
export const VENDORED_DIGESTS: Record<string, { digest: string; sources: string[] }> = {
  "quay.io/jetstack/cert-manager-controller:v1.19.1": {
    digest: "sha256:cd49e769e18ada1fd7b9a9bacc87c90db24c65cbfd4bf71694dda7ed40e91187",
    sources: ["github.com/rajsinghtech/garage-operator (e2e certmanagerImagePins)", "github.com/ArthurVardevanyan/HomeLab (image inventory)"],
  },
  "quay.io/jetstack/cert-manager-webhook:v1.19.1": {
    digest: "sha256:f5bfe77541e38978aec53cc6eb924d190e1fe923c98b2582e6ccf5edf6c02cce",
    sources: ["github.com/rajsinghtech/garage-operator (e2e certmanagerImagePins)", "github.com/ArthurVardevanyan/HomeLab (image inventory)"],
  },
  "quay.io/jetstack/cert-manager-cainjector:v1.19.1": {
    digest: "sha256:c7898aece8fb08102fca0b37683e37cb94e0a77c0d15b8e3c9128f6c04c868e0",
    sources: ["github.com/rajsinghtech/garage-operator (e2e certmanagerImagePins)", "github.com/ArthurVardevanyan/HomeLab (image inventory)"],
  },
};

/**
 * The psql Jobs' image (components/replication/logical.ts): pg_dump must match the servers' major version
 * (POSTGRES_MAJOR), which no Debian package of the runtime image's release provides.
 */
export const PSQL_IMAGE = "docker.io/library/postgres:16-alpine";

/**
 * The TPM device plugin's image (components/pki/spire-tpm-device.ts), run only when SPIRE admits nodes by
 * attestation. squat/generic-device-plugin publishes `latest` and per-commit short-SHA tags (its one release tag,
 * 0.1.0, predates its ghcr.io images), so the tag names the channel and the stack's digest is what pins the code.
 */
export const TPM_DEVICE_PLUGIN_IMAGE = "ghcr.io/squat/generic-device-plugin:latest";

/** Every reference the catalogue knows (what `meridian:imageDigests` may name). */
export function knownImageReferences(): Set<string> {
  return new Set([...Object.values(CHART_IMAGES).flatMap((images) => images.map((i) => i.reference)), PSQL_IMAGE, TPM_DEVICE_PLUGIN_IMAGE]);
}

/** Every image reference the stack must name a digest for (the catalogue without the vendored ones). */
export function requiredImageDigests(): string[] {
  return [...knownImageReferences()].filter((r) => VENDORED_DIGESTS[r] === undefined).sort();
}

const repositoryOf = (reference: string) => reference.slice(0, reference.lastIndexOf(":"));

/** `<repository>@<digest>` from the stack's or the vendored digest; the tag itself when neither exists (only in `local`). */
export function pinnedImage(reference: string, digests: Record<string, string>): string {
  const digest = digests[reference] ?? VENDORED_DIGESTS[reference]?.digest;
  return digest === undefined ? reference : `${repositoryOf(reference)}@${digest}`;
}

type Values = Record<string, unknown>;

/**
 * The values that pin `chart@version`'s images: the stack's digest, else the vendored one; an image with
 * neither (only possible in `local`) is left at the chart's default. The chart's DISABLED_PARTS are set off.
 */
export function chartImageValues(chart: string, version: string, digests: Record<string, string>): Values {
  const images = CHART_IMAGES[`${chart}@${version}`];
  if (images === undefined) throw new Error(`no image catalogue for chart ${chart} ${version} (model/images/charts.ts): every chart's images must be pinned by digest`);
  const out: Values = {};
  for (const image of images) {
    const digest = digests[image.reference] ?? VENDORED_DIGESTS[image.reference]?.digest;
    if (digest === undefined) continue;
    const value = image.style === "reference" ? `${repositoryOf(image.reference)}@${digest}` : { [image.style]: digest };
    setPath(out, image.path, value);
  }
  for (const path of DISABLED_PARTS[`${chart}@${version}`] ?? []) setPath(out, path, false);
  return out;
}

function setPath(target: Values, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Values;
  node[path[path.length - 1]!] = value;
}

/** Helm-style deep merge of image values into a release's values (maps merge; ours win on a leaf). */
export function mergeValues(values: Values, images: Values): Values {
  const out: Values = { ...values };
  for (const [k, v] of Object.entries(images)) {
    const cur = out[k];
    out[k] = isMap(v) && isMap(cur) ? mergeValues(cur, v) : v;
  }
  return out;
}

const isMap = (v: unknown): v is Values => typeof v === "object" && v !== null && !Array.isArray(v);

/** The value at a path, or undefined. */
function at(values: unknown, path: string[]): unknown {
  let node = values;
  for (const key of path) node = isMap(node) ? node[key] : undefined;
  return node;
}

/**
 * Why a release of `chart@version` with these values would run an image by tag: an uncatalogued chart, a
 * catalogued image whose value carries no digest, a disabled part turned on, or any other image value set by tag.
 */
export function tagReferencedImages(chart: string, version: string, values: Values): string[] {
  const images = CHART_IMAGES[`${chart}@${version}`];
  if (images === undefined) return [`chart ${chart} ${version} is not in the image catalogue (model/images/charts.ts), so its images cannot be shown to be pinned by digest`];
  const out: string[] = [];
  for (const image of images) {
    const v = at(values, image.path);
    const pinned = image.style === "reference" ? typeof v === "string" && /@sha256:[0-9a-f]{64}$/.test(v) : isMap(v) && typeof v[image.style] === "string" && DIGEST.test(v[image.style] as string);
    if (!pinned) out.push(`${image.path.join(".")} runs ${image.reference} by tag (set ${image.path.join(".")}${image.style === "reference" ? "" : `.${image.style}`} to its digest)`);
  }
  for (const path of DISABLED_PARTS[`${chart}@${version}`] ?? []) {
    if (at(values, path) !== false) out.push(`${path.join(".")} is not false: that part of the chart runs images the catalogue does not pin (set it to false)`);
  }
  out.push(...otherTaggedValues(values, []));
  return out;
}

/** Image values anywhere in the values that name a tag and no digest (an override the catalogue does not know). */
function otherTaggedValues(values: unknown, path: string[]): string[] {
  if (!isMap(values)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    const here = [...path, k];
    if (isMap(v) && typeof v["repository"] === "string") {
      const digest = typeof v["digest"] === "string" && DIGEST.test(v["digest"]);
      const tagDigest = typeof v["tag"] === "string" && DIGEST.test(v["tag"]);
      if (!digest && !tagDigest && !(v["repository"] as string).includes("@sha256:")) out.push(`${here.join(".")} names ${v["repository"] as string} without a digest`);
    } else if ((k === "image" || k.endsWith("Image")) && typeof v === "string" && v.includes("/") && !/@sha256:[0-9a-f]{64}$/.test(v)) {
      out.push(`${here.join(".")} is ${v}, a tag`);
    } else {
      out.push(...otherTaggedValues(v, here));
    }
  }
  return out;
}
