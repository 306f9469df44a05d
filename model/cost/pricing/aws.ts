/**
 * AWS pricers: Aurora instances (by class) and cluster storage (the stack's storage estimate), ElastiCache
 * replication groups (node type × nodes), NAT gateways, VPN connections. Classes outside the table are
 * scaled within their family from a priced size, else flagged priceNotFound.
 */
import { price, type Price } from "../../prices/price.js";
import { auroraInstanceHour, auroraStorageGBMonth, awsNatGatewayHour, awsPublicIpv4Hour, awsSecretMonth, awsSizeUnits, awsVpnConnectionHour, elasticacheNodeHour } from "../../prices/resources.js";
import { num, str } from "../../resources.js";
import { allMonth, component, notFound, type Pricer } from "./types.js";

/** A class's hourly price: listed, or scaled from a listed size of the same family (`db.r6g.xlarge` = 2 × large). */
function familyPrice(table: Record<string, Price>, cls: string): Price | undefined {
  if (table[cls]) return table[cls];
  const m = /^(.*)\.([a-z0-9]+)$/.exec(cls);
  const units = m ? awsSizeUnits[m[2]!] : undefined;
  if (!m || units === undefined) return undefined;
  for (const [listed, p] of Object.entries(table)) {
    const lm = /^(.*)\.([a-z0-9]+)$/.exec(listed)!;
    const base = awsSizeUnits[lm[2]!];
    if (lm[1] === m[1] && base !== undefined) {
      return price(Number(((p.usd * units) / base).toFixed(6)), p.unit, p.source, p.date, { verified: false, note: `${listed} × ${units / base}: linear within the family` });
    }
  }
  return undefined;
}

const auroraInstance: Pricer = (r) => {
  const cls = str(r.props, "instanceClass");
  if (cls === undefined) return { category: "database", components: [notFound("Database instance (class unknown in preview)", "hours", 730, "instanceClass is not a known input")] };
  const p = familyPrice(auroraInstanceHour, cls);
  return {
    category: "database",
    components: [p ? allMonth(`Database instance (on-demand, ${cls})`, p) : notFound(`Database instance (on-demand, ${cls})`, "hours", 730, `no Aurora price for ${cls}`)],
  };
};

const auroraCluster: Pricer = (_r, ctx) => ({
  category: "database",
  // Aurora bills the storage a cluster uses; the stack's provisioned size is the estimate.
  components: [component("Storage", "GB-months", ctx.spec.replication.databases.storageGB, auroraStorageGBMonth, true)],
});

const elasticache: Pricer = (r) => {
  const type = str(r.props, "nodeType");
  const groups = num(r.props, "numNodeGroups") ?? 1;
  const nodes = groups * (1 + (num(r.props, "replicasPerNodeGroup") ?? 0));
  const name = `ElastiCache (on-demand, ${type ?? "node type unknown"})`;
  const p = type === undefined ? undefined : familyPrice(elasticacheNodeHour, type);
  return { category: "cache", components: [p ? allMonth(name, p, nodes) : notFound(name, "hours", 730 * nodes, `no ElastiCache price for ${type}`)] };
};

export const awsPricers: Record<string, Pricer> = {
  "aws:rds/clusterInstance:ClusterInstance": auroraInstance,
  "aws:rds/cluster:Cluster": auroraCluster,
  "aws:rds/globalCluster:GlobalCluster": () => ({ free: "a global cluster has no charge of its own; its clusters and their instances bill" }),
  "aws:rds/clusterParameterGroup:ClusterParameterGroup": () => ({ free: "parameter groups are free" }),
  "aws:elasticache/replicationGroup:ReplicationGroup": elasticache,
  "aws:elasticache/parameterGroup:ParameterGroup": () => ({ free: "parameter groups are free" }),
  "aws:ec2/natGateway:NatGateway": () => ({ category: "gateway", components: [allMonth("NAT gateway", awsNatGatewayHour)] }),
  "aws:ec2/eip:Eip": () => ({ category: "address", components: [allMonth("Public IPv4 address", awsPublicIpv4Hour)] }),
  "aws:secretsmanager/secret:Secret": () => ({ category: "secret", components: [component("Secret", "months", 1, awsSecretMonth)] }),
  "aws:secretsmanager/secretVersion:SecretVersion": () => ({ free: "a secret's versions are billed with the secret" }),
  "aws:ec2/vpnConnection:VpnConnection": () => ({ category: "gateway", components: [allMonth("VPN connection", awsVpnConnectionHour)] }),
  "aws:ec2/vpnGateway:VpnGateway": () => ({ free: "a virtual private gateway has no charge; its VPN connections bill" }),
  "aws:ec2/customerGateway:CustomerGateway": () => ({ free: "a description of the peer's gateway" }),
  "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation": () => ({ free: "a route table setting" }),
  // The allocator's standby peerings (#23): transfer over them bills at the inter-region rate only while a promoted
  // standby runs, a volume the plan does not forecast, so it is not priced here.
  "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": () => ({ free: "a VPC peering has no hourly charge; its inter-region transfer (a promoted standby's) is not forecast" }),
  "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter": () => ({ free: "the accepter side of a VPC peering" }),
  "aws:ec2/route:Route": () => ({ free: "a route table entry" }),
  "aws:ec2/securityGroup:SecurityGroup": () => ({ free: "security groups are free" }),
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": () => ({ free: "a security group rule" }),
};
