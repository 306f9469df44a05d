/**
 * The canonical hosted zone of AWS Network Load Balancers per region: what a Route 53 alias record to an
 * NLB's DNS name carries as its target zone (`AliasTarget.HostedZoneId`). AWS lists them in "Elastic Load
 * Balancing endpoints and quotas" (https://docs.aws.amazon.com/general/latest/gr/elb.html, Network Load
 * Balancers column); external-dns and the AWS provider's `aws_lb_hosted_zone_id` carry the same table.
 * A region missing here cannot get an alias record: the stack is refused at load (stacks/semantic.ts).
 */
export const NLB_CANONICAL_HOSTED_ZONES: Readonly<Record<string, string>> = {
  "us-east-1": "Z26RNL4JYFTOTI",
  "us-east-2": "ZLMOA37VPKANP",
  "us-west-1": "Z24FKFUX50B4VW",
  "us-west-2": "Z18D5FSROUN65G",
  "ca-central-1": "Z2EPGBW3API2WT",
  "sa-east-1": "ZTK26PT1VY4CU",
  "eu-west-1": "Z2IFOLAFXWLO4F",
  "eu-west-2": "ZD4D7Y8KGAS4G",
  "eu-west-3": "Z1CMS0P5QUZ6D5",
  "eu-central-1": "Z3F0SRJ5LGBH90",
  "eu-north-1": "Z1UDT6IFJ4EJM",
  "eu-south-1": "Z23146JA1KNAFP",
  "ap-east-1": "Z12Y7K3UBGUAD1",
  "ap-south-1": "ZVDDRBQ08TROA",
  "ap-northeast-1": "Z31USIVHYNEOWT",
  "ap-northeast-2": "ZIBE1TIR4HY56",
  "ap-southeast-1": "ZKVM4W9LS7TM",
  "ap-southeast-2": "ZCT6FZBF4DROD",
};

export function nlbHostedZoneId(awsRegion: string): string | undefined {
  return NLB_CANONICAL_HOSTED_ZONES[awsRegion];
}

/**
 * Whether Route 53 answers for a region with an alias to its gateway's load balancer (AWS regions: their
 * gateway is an NLB, which publishes a name) rather than an A record with the gateway's static address.
 * The traffic area passes alias targets for exactly these regions; the cost model prices their queries.
 */
export function route53AliasesGateway(region: { cloud: string }): boolean {
  return region.cloud === "aws";
}
