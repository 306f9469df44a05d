import { describe, expect, it } from "vitest";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { messages, refusals } from "./refuse.js";

const cluster = { engine: "aurora-postgresql", engineVersion: "16.4", region: "us-east-1", dbSubnetGroupName: "db" };

describe("AWS provider rules", () => {
  it("aws-rds-global-managed-password: a global primary with a Secrets-Manager-managed password is refused", async () => {
    const v = await refusals(() => {
      const g = new aws.rds.GlobalCluster("g", { globalClusterIdentifier: "g", engine: "aurora-postgresql", engineVersion: "16.4" });
      new aws.rds.Cluster("primary", { ...cluster, clusterIdentifier: "primary", globalClusterIdentifier: g.id, masterUsername: "m", manageMasterUserPassword: true });
    });
    expect(messages(v, "aws-rds-global-managed-password")).toEqual([
      "InvalidParameterCombination: Managing master user passwords with Secrets Manager isn't supported for DB clusters that are part of an Aurora global database",
    ]);
  });

  it("aws-rds-secondary-credentials and aws-rds-secondary-after-primary-instance", async () => {
    const v = await refusals(() => {
      const g = new aws.rds.GlobalCluster("g", { globalClusterIdentifier: "g", engine: "aurora-postgresql", engineVersion: "16.4" });
      const p = new aws.rds.Cluster("primary", { ...cluster, clusterIdentifier: "primary", globalClusterIdentifier: g.id, masterUsername: "m", masterPassword: "secret-password" });
      new aws.rds.ClusterInstance("primary-1", { clusterIdentifier: p.id, instanceClass: "db.r6g.large", engine: "aurora-postgresql" });
      // A secondary naming a user, and one that does not wait for the primary's instance.
      new aws.rds.Cluster("secondary-user", { ...cluster, region: "eu-west-1", clusterIdentifier: "secondary-user", globalClusterIdentifier: g.id, masterUsername: "m" });
      new aws.rds.Cluster("secondary-early", { ...cluster, region: "eu-west-1", clusterIdentifier: "secondary-early", globalClusterIdentifier: g.id });
    });
    expect(messages(v, "aws-rds-secondary-credentials")).toEqual(["InvalidParameterCombination: Cannot specify user name for cross region replication cluster"]);
    expect(messages(v, "aws-rds-secondary-after-primary-instance")[0]).toMatch(/^InvalidParameterValue: The parameter MasterUsername must be provided and must not be blank\./);
    expect(v.find((x) => x.rule === "aws-rds-secondary-after-primary-instance")!.name).toBe("secondary-early");
  });

  it("a secondary that waits for the primary's instance passes", async () => {
    const v = await refusals(() => {
      const g = new aws.rds.GlobalCluster("g", { globalClusterIdentifier: "g", engine: "aurora-postgresql", engineVersion: "16.4" });
      const p = new aws.rds.Cluster("primary", { ...cluster, clusterIdentifier: "primary", globalClusterIdentifier: g.id, masterUsername: "m", masterPassword: "secret-password" });
      const i = new aws.rds.ClusterInstance("primary-1", { clusterIdentifier: p.id, instanceClass: "db.r6g.large", engine: "aurora-postgresql" });
      new aws.rds.Cluster("secondary", { ...cluster, region: "eu-west-1", clusterIdentifier: "secondary", globalClusterIdentifier: g.id }, { dependsOn: [i] });
    });
    expect(v).toEqual([]);
  });

  it("aws-rds-master-password: no password at all, or a password and a managed one", async () => {
    const v = await refusals(() => {
      new aws.rds.Cluster("none", { ...cluster, clusterIdentifier: "none", masterUsername: "m" });
      new aws.rds.Cluster("both", { ...cluster, clusterIdentifier: "both", masterUsername: "m", masterPassword: "p", manageMasterUserPassword: true });
    });
    expect(messages(v, "aws-rds-master-password")).toEqual([
      "InvalidParameterValue: The parameter MasterUserPassword must be provided and must not be blank.",
      "aws:rds/cluster:Cluster resource 'both' has a problem: \"master_password\": conflicts with manage_master_user_password. Examine values at 'both.masterPassword'.",
    ]);
  });

  it("aws-rds-identifier and aws-rds-parameter-group-family", async () => {
    const v = await refusals(() => {
      const pg = new aws.rds.ClusterParameterGroup("pg", { name: "pg", family: "aurora-postgresql15", parameters: [] });
      new aws.rds.Cluster("Bad--Id-", { ...cluster, clusterIdentifier: "Bad--Id-", masterUsername: "m", masterPassword: "p", dbClusterParameterGroupName: pg.name });
    });
    expect(messages(v, "aws-rds-identifier")).toEqual(
      expect.arrayContaining([
        expect.stringContaining('only lowercase alphanumeric characters and hyphens allowed in "cluster_identifier"'),
        expect.stringContaining('"cluster_identifier" cannot contain two consecutive hyphens'),
      ]),
    );
    expect(messages(v, "aws-rds-parameter-group-family")[0]).toMatch(
      /DBParameterGroupFamily aurora-postgresql15 can't be used for this instance\. Use a Parameter Group with DBParameterGroupFamily aurora-postgresql16\./,
    );
  });

  it("aws-route53-record-address: an A record fed a load balancer's hostname", async () => {
    const v = await refusals(() => {
      new aws.route53.Record("a", { zoneId: "Z1", name: "api.example.com", type: "A", ttl: 60, records: ["k8s-gw-123.elb.us-east-1.amazonaws.com"] });
    });
    expect(messages(v, "aws-route53-record-address")).toEqual([
      "InvalidChangeBatch: [Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with 'k8s-gw-123.elb.us-east-1.amazonaws.com'']",
    ]);
  });

  it("aws-route53-record-shape: records and alias, ttl on an alias, routing without setIdentifier", async () => {
    const v = await refusals(() => {
      new aws.route53.Record("r", {
        zoneId: "Z1",
        name: "x.example.com",
        type: "A",
        ttl: 60,
        records: ["192.0.2.1"],
        aliases: [{ name: "y.example.com", zoneId: "Z2", evaluateTargetHealth: true }],
        weightedRoutingPolicies: [{ weight: 300 }],
      });
    });
    const m = messages(v, "aws-route53-record-shape");
    expect(m).toEqual(
      expect.arrayContaining([
        expect.stringContaining('"alias": only one of `alias,records` can be specified'),
        expect.stringContaining('"ttl": conflicts with alias'),
        expect.stringContaining('"weighted_routing_policy": all of `set_identifier,weighted_routing_policy` must be specified'),
        "InvalidInput: Invalid request: Expected integer between 0 and 255 for Weight, got 300",
      ]),
    );
  });

  it("aws-route53-alias-target: an alias that does not wait for the records it aliases", async () => {
    const v = await refusals(() => {
      new aws.route53.Record("alias", { zoneId: "Z1", name: "api.example.com", type: "A", aliases: [{ name: "all.gslb.api.example.com", zoneId: "Z1", evaluateTargetHealth: true }] });
      new aws.route53.Record("target", { zoneId: "Z1", name: "all.gslb.api.example.com", type: "A", ttl: 60, records: ["192.0.2.1"] });
    });
    expect(messages(v, "aws-route53-alias-target")).toEqual([
      "InvalidChangeBatch: [Tried to create an alias that targets all.gslb.api.example.com., type A in zone Z1, but that target was not found]",
    ]);
  });

  it("aws-route53-alias-load-balancer-zone: an NLB alias in the record's own zone or another region's NLB zone", async () => {
    const nlb = "k8s-meridian-gw-0123456789.elb.eu-west-1.amazonaws.com";
    const record = (name: string, aliasName: string, zoneId: string) =>
      new aws.route53.Record(name, {
        zoneId: "Z1",
        name: "api.example.com",
        type: "A",
        setIdentifier: name,
        weightedRoutingPolicies: [{ weight: 1 }],
        aliases: [{ name: aliasName, zoneId, evaluateTargetHealth: true }],
      });
    const v = await refusals(() => {
      record("us-east-1-zone", nlb, "Z26RNL4JYFTOTI"); // us-east-1's NLB zone for an eu-west-1 NLB
      record("own-zone", nlb, "Z1"); // the record's hosted zone
      record("alb-in-nlb-zone", "my-alb-1234.eu-west-1.elb.amazonaws.com", "Z2IFOLAFXWLO4F");
      record("right", nlb, "Z2IFOLAFXWLO4F"); // eu-west-1's NLB zone: accepted
      record("dualstack", `dualstack.${nlb}`, "Z2IFOLAFXWLO4F");
    });
    const refused = v.filter((x) => x.rule === "aws-route53-alias-load-balancer-zone");
    expect(refused.map((x) => x.name)).toEqual(["us-east-1-zone", "own-zone", "alb-in-nlb-zone"]);
    expect(refused[0]!.message).toBe(
      "InvalidChangeBatch: [Tried to create an alias that targets k8s-meridian-gw-0123456789.elb.eu-west-1.amazonaws.com., type A in zone Z26RNL4JYFTOTI, but the alias target name does not lie within the target zone]",
    );
  });

  it("aws-route53-alias-load-balancer-zone: an alias to a gateway Service's NLB in another region's zone (name unknown until the NLB exists)", async () => {
    const gateway = (region: string) => {
      const eip = new aws.ec2.Eip(`eip-${region}`, { domain: "vpc", region });
      return new k8s.core.v1.Service(`gw-${region}`, {
        metadata: {
          name: "meridian-gateway",
          annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "external", "service.beta.kubernetes.io/aws-load-balancer-eip-allocations": eip.allocationId },
        },
        spec: { type: "LoadBalancer", ports: [{ port: 443 }] },
      });
    };
    for (const cloudValues of ["fake", "computed"] as const) {
      const v = await refusals(() => {
        const euw1 = gateway("eu-west-1");
        const alias = (name: string, zoneId: string) =>
          new aws.route53.Record(
            name,
            {
              zoneId: "Z1",
              name: "api.example.com",
              type: "A",
              setIdentifier: name,
              weightedRoutingPolicies: [{ weight: 1 }],
              aliases: [{ name: euw1.status.loadBalancer.ingress[0]!.hostname, zoneId, evaluateTargetHealth: true }],
            },
            { dependsOn: [euw1] },
          );
        alias("wrong-region", "Z26RNL4JYFTOTI");
        alias("right-region", "Z2IFOLAFXWLO4F");
      }, cloudValues);
      const refused = v.filter((x) => x.rule === "aws-route53-alias-load-balancer-zone");
      expect(
        refused.map((x) => x.name),
        cloudValues,
      ).toEqual(["wrong-region"]);
      expect(refused[0]!.message, cloudValues).toContain("in zone Z26RNL4JYFTOTI, but the alias target name does not lie within the target zone]");
    }
  });

  it("aws-route53-health-check-*: interval, threshold, regions, IP, Host/SNI", async () => {
    const v = await refusals(() => {
      new aws.route53.HealthCheck("hc", {
        type: "HTTPS",
        ipAddress: "gw.elb.amazonaws.com",
        port: 443,
        resourcePath: "/healthz",
        requestInterval: 20,
        failureThreshold: 11,
        regions: ["us-east-1", "eu-west-1"],
      });
      new aws.route53.HealthCheck("no-host", { type: "HTTPS", ipAddress: "192.0.2.10", port: 443, resourcePath: "/healthz" });
    });
    expect(messages(v, "aws-route53-health-check-interval")).toEqual([
      "aws:route53/healthCheck:HealthCheck resource 'hc' has a problem: expected request_interval to be one of [10 30], got 20. Examine values at 'hc.requestInterval'.",
    ]);
    expect(messages(v, "aws-route53-health-check-threshold")[0]).toContain("expected failure_threshold to be in the range (1 - 10), got 11");
    expect(messages(v, "aws-route53-health-check-regions")[0]).toContain("Attribute regions requires 3 item minimum, but config has only 2 declared");
    expect(messages(v, "aws-route53-health-check-ip")[0]).toContain("expected ip_address to contain a valid IP, got: gw.elb.amazonaws.com");
    expect(
      v
        .filter((x) => x.rule === "aws-route53-health-check-sni")
        .map((x) => x.name)
        .sort(),
    ).toEqual(["hc", "hc", "no-host", "no-host"]);
  });

  it("unknown values pass, as in a real preview", async () => {
    const v = await refusals(() => {
      const eip = new aws.ec2.Eip("eip", { domain: "vpc" });
      new aws.route53.Record("a", { zoneId: "Z1", name: "api.example.com", type: "A", ttl: 60, records: [eip.publicIp] });
    }, "computed");
    expect(v).toEqual([]);
  });
});
