/**
 * Images by digest. A tag (`:latest` above all) is mutable: the same Deployment could run different code
 * in two regions, or after a node restart, with no change in state. The runtime image
 * (`meridian:runtime.image`) must be `<repository>@sha256:<digest>`, and every container that runs that
 * repository must name exactly that digest. The shipped stacks carry an all-zero digest, which no image
 * has: outside the `local` environment it is refused (`meridian-runtime-image-placeholder`) until the
 * stack names the digest its registry returned for the pushed image; so is the same placeholder in
 * `meridian:imageDigests` (the digests of the charts' images). Outside `local`, `meridian-images-by-digest`
 * refuses every container and every Helm release image referenced by tag.
 */
import { PLACEHOLDER_DIGEST, tagReferencedImages } from "../../model/images/charts.js";
import { prop, type Finding, type ResourceLike, type StackRule } from "../rule.js";

const DIGEST = /@sha256:[0-9a-f]{64}$/;

/** The repository of an image reference: without `@digest` and without a `:tag` after the last `/`. */
export function repositoryOf(image: string): string {
  const noDigest = image.split("@")[0]!;
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** The containers of a Kubernetes workload or Pod, with where they sit. */
function containersOf(r: ResourceLike): { path: string; name: string; image: string }[] {
  const pod = /:batch\/v1:CronJob$/.test(r.type)
    ? prop(r.props, "spec.jobTemplate.spec.template.spec")
    : /:core\/v1:Pod$/.test(r.type)
      ? prop(r.props, "spec")
      : /:(apps\/v1:(Deployment|StatefulSet|DaemonSet|ReplicaSet)|batch\/v1:Job)$/.test(r.type)
        ? prop(r.props, "spec.template.spec")
        : undefined;
  if (!r.type.startsWith("kubernetes:") || pod === undefined) return [];
  const out: { path: string; name: string; image: string }[] = [];
  for (const field of ["initContainers", "containers"]) {
    const list = prop(pod, field);
    if (!Array.isArray(list)) continue;
    list.forEach((c, i) => {
      const image = prop(c, "image");
      if (typeof image === "string") out.push({ path: `${field}[${i}]`, name: String(prop(c, "name") ?? i), image });
    });
  }
  return out;
}

export const runtimeImageDigest: StackRule = {
  kind: "stack",
  name: "meridian-runtime-image-digest",
  description: "The runtime image is referenced by digest (meridian:runtime.image = <repository>@sha256:<digest>), never by a tag.",
  enforcementLevel: "mandatory",
  needsModel: true,
  check(resources, ctx): Finding[] {
    const image = ctx.model?.spec.runtime.image;
    if (image === undefined) return [];
    const out: Finding[] = [];
    if (!DIGEST.test(image)) {
      out.push({ message: `meridian:runtime.image is "${image}": a tag is mutable; set <repository>@sha256:<digest> (the digest \`docker push\` printed)` });
    }
    const repository = repositoryOf(image);
    for (const r of resources) {
      for (const c of containersOf(r)) {
        if (repositoryOf(c.image) !== repository || c.image === image) continue;
        out.push({ message: `container ${c.name} (${c.path}) runs ${c.image}; the runtime image is pinned as ${image}`, resource: { type: r.type, name: r.name, urn: r.urn } });
      }
    }
    return out;
  },
};

function isPlaceholderImage(image: string): boolean {
  return image.endsWith(`@${PLACEHOLDER_DIGEST}`);
}

export const runtimeImagePlaceholder: StackRule = {
  kind: "stack",
  name: "meridian-runtime-image-placeholder",
  description:
    "Outside the local environment, meridian:runtime.image names the digest of a pushed image, and meridian:imageDigests the digests of the charts' images, not the shipped all-zero placeholder.",
  enforcementLevel: "mandatory",
  needsModel: true,
  check(_resources, ctx): Finding[] {
    const spec = ctx.model?.spec;
    if (spec === undefined || spec.environment === "local") return [];
    const placeholders = Object.entries(spec.imageDigests)
      .filter(([, digest]) => digest === PLACEHOLDER_DIGEST)
      .map(([reference]) => reference);
    // One finding for all of them: they are one task (look the digests up), not one problem per image.
    const out: Finding[] = placeholders.length
      ? [
          {
            message:
              `meridian:imageDigests has the all-zero placeholder for ${placeholders.length} image${placeholders.length === 1 ? "" : "s"}: no image has that digest, so their pods would fail to pull. ` +
              `Run \`meridian images resolve --stack <name> --write\`, which sets them all from the registries, or set each to what \`crane digest <key>\` prints (docs/deploy.md step 3): ${placeholders.join(", ")}.`,
          },
        ]
      : [];
    if (!isPlaceholderImage(spec.runtime.image)) return out;
    return [
      {
        message:
          `meridian:runtime.image is the placeholder "${spec.runtime.image}": no image has that digest, so every runtime pod of the ${spec.environment} stack would fail to pull. ` +
          "Push the runtime image and set the stack setting meridian:runtime.image to <repository>@sha256:<the digest the push printed> " +
          "(pulumi config set --path meridian:runtime.image …; docs/deploy.md step 3).",
      },
      ...out,
    ];
  },
};

/** Where a Kubernetes resource or Helm release is, for a finding. */
const where = (r: ResourceLike) => ({ type: r.type, name: r.name, urn: r.urn });

export const imagesByDigest: StackRule = {
  kind: "stack",
  name: "meridian-images-by-digest",
  description: "Outside the local environment, every container image and every image a Helm release runs is referenced by digest (<repository>@sha256:<digest>), never by a tag alone.",
  enforcementLevel: "mandatory",
  needsModel: true,
  check(resources, ctx): Finding[] {
    const spec = ctx.model?.spec;
    if (spec === undefined || spec.environment === "local") return [];
    const out: Finding[] = [];
    for (const r of resources) {
      for (const c of containersOf(r)) {
        if (DIGEST.test(c.image)) continue;
        out.push({ message: `container ${c.name} (${c.path}) runs ${c.image}: a tag is mutable; reference the image as <repository>@sha256:<digest>`, resource: where(r) });
      }
      if (r.type !== "kubernetes:helm.sh/v3:Release") continue;
      const chart = prop(r.props, "chart");
      const version = prop(r.props, "version");
      const values = prop(r.props, "values");
      if (typeof chart !== "string" || typeof version !== "string") continue;
      const problems = tagReferencedImages(chart, version, typeof values === "object" && values !== null ? (values as Record<string, unknown>) : {});
      for (const p of problems) out.push({ message: `${chart} ${version}: ${p}`, resource: where(r) });
    }
    return out;
  },
};
