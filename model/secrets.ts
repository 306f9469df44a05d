/**
 * The secret config keys a stack must hold: each region's kubeconfig (unless it names a kube context) and the
 * PKI's credentials. Kept apart from estate.ts, which every area imports, so that file depends on no area.
 */
import { stringify } from "yaml";
import { kubeconfigSource, type EstateSpec } from "./estate.js";
import { pkiSecretKeys } from "./rotation/issuers.js";

/** Secret config keys (without the `meridian:` namespace) the program reads for this estate. */
export function secretKeys(spec: EstateSpec): string[] {
  const keys = new Set<string>();
  for (const region of spec.regions) {
    const source = kubeconfigSource(region);
    if (source.kind === "secret") keys.add(source.key);
  }
  for (const key of pkiSecretKeys(spec)) keys.add(key);
  return [...keys].sort();
}

/**
 * What a preview without the stack's passphrase (`meridian plan`, the mocked tests) reads for a secret key: a
 * kubeconfig-shaped stand-in for a region's kubeconfig — the multi-cluster mesh reads its `server`
 * (model/mesh/multi-primary.ts kubeconfigServer), at a reserved `.invalid` name so it can never be dialled — and
 * `<secret key>` for any other.
 */
export function secretStandIn(spec: EstateSpec, key: string): string {
  const region = spec.regions.find((r) => {
    const source = kubeconfigSource(r);
    return source.kind === "secret" && source.key === key;
  });
  if (!region) return `<secret ${key}>`;
  const name = region.id;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { server: `https://${name}.kubeconfig-stand-in.invalid` } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    "current-context": name,
    users: [{ name, user: { token: `<secret ${key}>` } }],
  });
}
