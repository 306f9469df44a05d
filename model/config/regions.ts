/**
 * Regions: where the estate runs. Each names its cloud and that cloud's region code, a continent and
 * coordinates (for geo routing and latency estimates), demand history and capacity (for escrow and
 * allocation weights), and where its cluster's kubeconfig comes from.
 */
import { z } from "zod";
import { clouds, continents, fraction, nonNegative, positive, slug } from "./vocabulary.js";

/** An IPv4 CIDR with its octets and prefix in range (a Service's loadBalancerSourceRanges entry). */
const ipv4Cidr = z
  .string()
  .regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, "expected an IPv4 CIDR such as 203.0.113.7/32")
  .refine((c) => {
    const [ip, prefix] = c.split("/") as [string, string];
    return ip.split(".").every((o) => Number(o) <= 255) && Number(prefix) <= 32;
  }, "expected octets 0-255 and a prefix of at most 32");

const cloudRegionCode = z.string().regex(/^[a-z]+[a-z0-9-]*[0-9a-z]$/, "expected the cloud's region code, e.g. us-east-1");

export const regionSchema = z
  .object({
    id: slug,
    cloud: z.enum(clouds),
    region: cloudRegionCode,
    continent: z.enum(continents),
    location: z.object({
      lat: z.number().min(-90).max(90),
      lon: z.number().min(-180).max(180),
    }),
    /** Monthly demand history (units sold or requests, oldest first) and current load as a share of capacity. */
    demand: z.object({
      history: z.array(nonNegative).min(1),
      currentLoad: fraction.default(0.5),
    }),
    /** Requests per second the region's cluster can serve at its SLO. */
    capacity: positive,
    /**
     * Where the cluster's credentials come from: a secret config key holding a kubeconfig
     * (`pulumi config set --secret <key> "$(cat kubeconfig)"`), or a context of the ambient kubeconfig.
     */
    kubeconfig: z.union([z.object({ secret: z.string().min(1) }), z.object({ context: z.string().min(1) })]).optional(),
    /**
     * The region's place in the multi-cluster mesh (model/mesh/multi-primary.ts), when the stack has two or more
     * regions: `apiServer` is the URL the other regions' istiod reach this cluster's Kubernetes API at (the `server`
     * of the kubeconfig in their remote secret; its CA comes from the cluster's own token Secret) — needed only when
     * the region's kubeconfig is a context, else an override of the server its kubeconfig secret names — and
     * `network` the Istio network its pods are on (default: the region id; pods of different networks are not
     * routable to each other, so every region needs its own). `egress`: the public addresses the cluster's outbound
     * traffic leaves from (its NAT gateways' Elastic IPs, Cloud NAT's addresses, the Azure NAT gateway's public IPs), as
     * CIDRs; every other region's east-west gateway load balancer accepts connections from these only.
     */
    mesh: z
      .object({
        apiServer: z
          .string()
          .regex(/^https:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[^\s]*)?$/, "expected the API server's https:// URL, e.g. https://api.use1.example.internal:443")
          .optional(),
        network: slug.optional(),
        egress: z.array(ipv4Cidr).min(1).optional(),
      })
      .strict()
      .optional(),
    /**
     * The regional gateway's public addresses. AWS: the public subnets its network load balancer spans;
     * each gets an Elastic IP, so DNS publishes addresses rather than the load balancer's hostname.
     */
    gateway: z
      .object({ subnets: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "expected a subnet id such as subnet-0123456789abcdef0")).min(1) })
      .strict()
      .optional(),
  })
  .strict();

export type RegionConfig = z.output<typeof regionSchema>;

export const regionsSchema = z
  .array(regionSchema)
  .min(1, "expected at least one region")
  .superRefine((regions, ctx) => {
    const seen = new Map<string, number>();
    regions.forEach((r, i) => {
      const first = seen.get(r.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [i, "id"],
          input: r.id,
          message: `duplicate region id; already used by regions[${first}]`,
        });
      } else seen.set(r.id, i);
      if (r.cloud === "aws" && r.gateway === undefined) {
        ctx.addIssue({
          code: "custom",
          path: [i, "gateway"],
          input: undefined,
          message: "an AWS region needs gateway.subnets: the public subnets of its network load balancer (one Elastic IP each, so DNS can publish addresses)",
        });
      }
    });
  });
