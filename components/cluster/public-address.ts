/**
 * A region gateway's static public address, created before its load balancer so DNS can publish it:
 * AWS Elastic IPs attached to the network load balancer (one per public subnet, as the AWS Load Balancer
 * Controller requires), a regional GCP address the GKE L4 load balancer takes, or a Standard static
 * Azure public IP the AKS load balancer uses. Every DNS provider's IP-only field (Route 53 health-check
 * `ipAddress`, Cloud DNS external endpoints, A records for GCP and Azure regions) receives this address,
 * never the AWS load balancer's hostname; Route 53 answers for an AWS region with an A alias to the NLB's
 * name instead (components/dns/route53.ts). The Service annotations that bind the load balancer to the
 * address come with it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as azureNetwork from "@pulumi/azure-native/network/index.js";
import type { EstateSpec, Region } from "../../model/estate.js";

export interface PublicAddress {
  /** The address health checks probe and IP-only DNS fields publish for the region (with several Elastic IPs, the first; cross-zone load balancing reaches every zone from it). */
  ip: pulumi.Output<string>;
  /** Every address the load balancer answers on. */
  addresses: pulumi.Output<string[]>;
  /** Annotations binding the LoadBalancer Service to the address. */
  annotations: Record<string, pulumi.Input<string>>;
}

export function publicAddress(spec: EstateSpec, region: Region, opts: pulumi.CustomResourceOptions): PublicAddress {
  const name = `meridian-${spec.environment}-${region.id}-gateway`;
  const tags = { "part-of": "meridian", region: region.id, environment: spec.environment };
  switch (region.cloud) {
    case "aws": {
      const subnets = region.gateway?.subnets ?? [];
      if (subnets.length === 0) throw new Error(`meridian:regions ${region.id}: gateway.subnets is required on AWS (one Elastic IP per public subnet)`);
      const eips = subnets.map((_, i) => new aws.ec2.Eip(`${name}-${i + 1}`, { domain: "vpc", region: region.region, tags: { ...tags, Name: `${name}-${i + 1}` } }, opts));
      return {
        ip: eips[0]!.publicIp,
        addresses: pulumi.all(eips.map((e) => e.publicIp)),
        annotations: {
          "service.beta.kubernetes.io/aws-load-balancer-type": "external",
          "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
          "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
          "service.beta.kubernetes.io/aws-load-balancer-subnets": subnets.join(","),
          // The controller requires exactly one allocation per subnet, in subnet order.
          "service.beta.kubernetes.io/aws-load-balancer-eip-allocations": pulumi.all(eips.map((e) => e.allocationId)).apply((ids) => ids.join(",")),
          "service.beta.kubernetes.io/aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true",
        },
      };
    }
    case "gcp": {
      const address = new gcp.compute.Address(name, { name, region: region.region, addressType: "EXTERNAL", networkTier: "PREMIUM", labels: tags }, opts);
      return {
        ip: address.address,
        addresses: address.address.apply((a) => [a]),
        annotations: { "cloud.google.com/l4-rbs": "enabled", "networking.gke.io/load-balancer-ip-addresses": name },
      };
    }
    case "azure": {
      const resourceGroupName = spec.replication.network.azure.resourceGroupName;
      const pip = new azureNetwork.PublicIPAddress(
        name,
        {
          publicIpAddressName: name,
          resourceGroupName,
          location: region.region,
          sku: { name: "Standard", tier: "Regional" },
          publicIPAllocationMethod: "Static",
          publicIPAddressVersion: "IPv4",
          tags,
        },
        opts,
      );
      const ip = pip.ipAddress.apply((a) => a ?? "");
      return {
        ip,
        addresses: ip.apply((a) => [a]),
        annotations: {
          "service.beta.kubernetes.io/azure-load-balancer-resource-group": resourceGroupName,
          "service.beta.kubernetes.io/azure-pip-name": name,
        },
      };
    }
  }
}
