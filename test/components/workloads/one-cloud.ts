// The dev stack's two regions moved onto one other cloud (prod's regions of that cloud, with what that cloud needs):
// an estate whose allocator standby shares the ledger's cloud, for the managed cluster's standby-path tests (#23).
import { loadStack, readStackConfigMap } from "../../../stacks/load.js";

type Obj = Record<string, unknown>;

/** The two AWS regions' VPCs (prod's ids) with CIDRs that do not overlap: a peering the plan can build. */
export const AWS_VPCS = {
  "aws-use1": { vpcId: "vpc-0a1b2c3d4e5f60000", routeTableIds: ["rtb-0a1b2c3d4e5f60001", "rtb-0a1b2c3d4e5f60002"], cidr: "10.10.0.0/16" },
  "aws-euw1": { vpcId: "vpc-0b1c2d3e4f5a60000", routeTableIds: ["rtb-0b1c2d3e4f5a60001"], cidr: "10.20.0.0/16" },
};

/** The two Azure regions' VNet address spaces (meridian:replication.network.azure.virtualNetworkAddressSpaces), disjoint. */
export const AZURE_ADDRESS_SPACES = { "azure-weu": ["10.30.0.0/16"], "azure-sea": ["10.40.0.0/16", "10.41.0.0/24"] };

const PROD_REGIONS = { aws: ["aws-use1", "aws-euw1"], azure: ["azure-weu", "azure-sea"] } as const;

/**
 * dev's config map with its regions on `cloud` (the first the ledger; `count` of them), the allocator on `cluster`, and
 * `vpcs` (AWS: meridian:replication.network.vpn.aws; Azure: meridian:replication.network.azure.virtualNetworkAddressSpaces).
 */
export function oneCloudDev(cloud: "aws" | "azure", cluster: unknown, vpcs: Obj = {}, count: 1 | 2 = 2): Obj {
  const dev = readStackConfigMap("dev");
  const prod = readStackConfigMap("prod");
  const ids = PROD_REGIONS[cloud].slice(0, count);
  const regions = (prod["meridian:regions"] as Obj[]).filter((r) => (ids as readonly string[]).includes(r["id"] as string));
  const replication = dev["meridian:replication"] as Obj;
  const prodNetwork = (prod["meridian:replication"] as Obj)["network"] as Obj;
  const prodIdentity = (prod["meridian:replication"] as Obj)["identity"] as Obj;
  const runtime = loadStack("dev").runtime;
  return {
    ...dev,
    "meridian:regions": regions,
    "meridian:dns": { ...(dev["meridian:dns"] as Obj), weights: Object.fromEntries(ids.map((id, i) => [id, i === 0 ? 90 : 10])) },
    "meridian:replication": {
      ...replication,
      writers: [ids[0]!],
      writeGBPerMonth: { [ids[0]!]: 20 },
      identity: { [cloud]: prodIdentity[cloud] },
      network: cloud === "azure" ? { azure: { ...(prodNetwork["azure"] as Obj), virtualNetworkAddressSpaces: vpcs } } : { vpn: { aws: vpcs } },
    },
    "meridian:runtime": { ...runtime, ratelimit: { ...runtime.ratelimit, allocatorRedisCluster: cluster } },
  };
}
