/**
 * RegionGateway (`meridian:workloads:RegionGateway`): the public front door of one regional cluster — the
 * pods behind the `meridian-gateway` LoadBalancer Service. Istio's gateway chart runs Envoy as the gateway's
 * catalogued identity; a Gateway and a VirtualService terminate TLS and route the public API and every
 * health signal path; an EnvoyFilter makes the gateway ask the region's rate limiter before the public API; the health aggregator answers the signals from the services' own readiness. The
 * shapes are gateway-manifests.ts's; this only registers them, in the order the cluster needs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { GATEWAY, type EstateSpec, type Region } from "../../model/estate.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { CHARTS, customResource } from "../pki/charts.js";
import { registerKitService } from "./kit-service.js";
import { gatewayChartValues, gatewayResource, healthAggregatorManifests, rateLimitFilter, virtualService } from "./gateway-manifests.js";

export interface RegionGatewayArgs {
  spec: EstateSpec;
  region: Region;
  cluster: RegionCluster;
  /** Istio's CRDs and injector (the gateway pods are injected), and the TLS Secret's Certificate. */
  after: pulumi.Resource[];
}

export class RegionGateway extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  public readonly health: k8s.apps.v1.Deployment;

  constructor(name: string, args: RegionGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:workloads:RegionGateway", name, {}, opts);
    const { spec, region, cluster } = args;
    const id = region.id;
    const ns = cluster.namespaces.gateway;
    const child = { parent: this, provider: cluster.provider, dependsOn: [ns] };

    const h = healthAggregatorManifests(spec, id);
    const n = `${id}-meridian-health`;
    this.health = registerKitService(
      h,
      { serviceAccount: `${n}-serviceaccount`, configMap: `${n}-config`, deployment: `${n}-deployment`, service: `${n}-service`, podDisruptionBudget: `${n}-pdb`, podMonitor: `${n}-podmonitor` },
      child,
      args.after,
    ).deployment;

    const { chart, version, repo } = CHARTS.istioGateway;
    this.release = new k8s.helm.v3.Release(
      `${id}-${GATEWAY.name}`,
      { name: GATEWAY.name, chart, version, namespace: ns.metadata.name, repositoryOpts: { repo }, values: gatewayChartValues(spec, id), atomic: true, cleanupOnFail: true },
      { ...child, dependsOn: [ns, cluster.gateway, ...args.after] },
    );
    const routes = { ...child, dependsOn: [ns, ...args.after] };
    customResource(`${id}-gateway-gateway`, gatewayResource(spec, id), routes);
    customResource(`${id}-gateway-virtualservice`, virtualService(spec, id), routes);
    customResource(`${id}-gateway-ratelimit`, rateLimitFilter(spec, id), routes);
    this.registerOutputs({});
  }
}
