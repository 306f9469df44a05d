/**
 * The EstateSpec: a stack's validated config as the rest of Meridian reads it, plus the few facts every
 * area derives the same way (namespaces, kubeconfig sources; secret keys are in secrets.ts). Pure: no Pulumi, no I/O.
 */
import type { EstateConfig, RegionConfig } from "./config/index.js";

export type { Cloud, Continent } from "./config/vocabulary.js";
export type { BudgetConfig, PkiConfig, RegionConfig, ReplicationConfig, RuntimeConfig, TimeConfig, TrafficConfig } from "./config/index.js";

export interface EstateSpec extends EstateConfig {
  /** The Pulumi stack name (`prod`, `local`, ...). */
  stack: string;
}

export type Region = RegionConfig;

/** Namespaces the estate creates on every regional cluster, by role. */
export const NAMESPACES = {
  gateway: "meridian-gateway",
  runtime: "meridian",
  time: "meridian-time",
  certManager: "cert-manager",
  spire: "spire-system",
  istio: "istio-system",
  monitoring: "monitoring",
} as const;
export type NamespaceRole = keyof typeof NAMESPACES;

/** The ingress gateway every region exposes; its load-balancer address is the region's public endpoint. */
export const GATEWAY = { name: "meridian-gateway", port: 443, targetPort: 8443 } as const;

export function buildEstateSpec(stack: string, config: EstateConfig): EstateSpec {
  return { ...config, stack };
}

export function regionById(spec: EstateSpec, id: string): Region {
  const region = spec.regions.find((r) => r.id === id);
  if (region === undefined) throw new Error(`unknown region ${id}; the estate has ${spec.regions.map((r) => r.id).join(", ")}`);
  return region;
}

export type KubeconfigSource = { kind: "secret"; key: string } | { kind: "context"; context: string };

/** A region's cluster credentials: its own setting, else the secret key `kubeconfig-<region id>`. */
export function kubeconfigSource(region: Pick<Region, "id" | "kubeconfig">): KubeconfigSource {
  const k = region.kubeconfig;
  if (k !== undefined && "context" in k) return { kind: "context", context: k.context };
  return { kind: "secret", key: k?.secret ?? `kubeconfig-${region.id}` };
}

/** The fully qualified service name the GSLB answers for. */
export function serviceFqdn(spec: EstateSpec): string {
  return `${spec.dns.host}.${spec.dns.apex}`;
}
