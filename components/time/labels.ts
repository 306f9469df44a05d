/** Labels and options shared by the time fabric's Kubernetes objects. */
import type * as pulumi from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes";

export interface RegionScope {
  region: string;
  namespace: pulumi.Input<string>;
  provider: k8s.Provider;
  parent: pulumi.Resource;
}

export function labels(scope: RegionScope, app: string): Record<string, string> {
  return { app, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "meridian", "meridian.dev/area": "time", "meridian.dev/region": scope.region };
}

export const opts = (scope: RegionScope): pulumi.CustomResourceOptions => ({ parent: scope.parent, provider: scope.provider });
