/**
 * EstateContext: what every area component receives — the spec, the regional clusters, and the estate
 * component to parent under. Areas read numbers from model/, never recompute them.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { EstateSpec } from "../model/estate.js";
import type { RegionCluster } from "./cluster/region-cluster.js";

export interface EstateContext {
  spec: EstateSpec;
  clusters: Map<string, RegionCluster>;
  /** Per region, what the PKI area built that later areas wait for (the PKI area runs first and fills it). */
  pki: Map<string, RegionPki>;
  /** The Estate component: parent of every area component. */
  parent: pulumi.ComponentResource;
}

/** An area: builds its components and returns the stack outputs it contributes. */
export interface Area {
  name: string;
  build(ctx: EstateContext): Record<string, pulumi.Input<unknown>>;
}

export interface RegionPki {
  /** Istio: the chart with its CRDs (Gateway, VirtualService), and istiod, whose injector meshed pods need. */
  mesh: pulumi.Resource[];
  /** The gateway's public Certificate: cert-manager writes the TLS Secret the Gateway terminates with. */
  gatewayCertificate: pulumi.Resource;
}
