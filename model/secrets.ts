/**
 * The secret config keys a stack must hold: each region's kubeconfig (unless it names a kube context) and the
 * PKI's credentials. Kept apart from estate.ts, which every area imports, so that file depends on no area.
 */
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
