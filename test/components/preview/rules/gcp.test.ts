import { describe, expect, it } from "vitest";
import * as gcp from "@pulumi/gcp";
import { messages, refusals } from "./refuse.js";

const instance = (settings: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name: "db",
  region: "us-central1",
  databaseVersion: "POSTGRES_16",
  settings: { tier: "db-custom-4-16384", ipConfiguration: { ipv4Enabled: false, privateNetwork: "projects/p/global/networks/n" }, ...settings },
  ...extra,
});

describe("GCP provider rules", () => {
  it("gcp-sql-edition-tier: PostgreSQL 16 with a custom tier and no edition defaults to ENTERPRISE_PLUS and is refused", async () => {
    const v = await refusals(() => {
      new gcp.sql.DatabaseInstance("default-edition", instance({}));
      new gcp.sql.DatabaseInstance("enterprise", instance({ edition: "ENTERPRISE" }));
      new gcp.sql.DatabaseInstance("plus-with-perf", instance({ edition: "ENTERPRISE_PLUS", tier: "db-perf-optimized-N-2" }));
    });
    expect(v.filter((x) => x.rule === "gcp-sql-edition-tier").map((x) => [x.name, x.message])).toEqual([
      [
        "default-edition",
        "googleapi: Error 400: Invalid request: Invalid Tier (db-custom-4-16384) for (ENTERPRISE_PLUS) Edition. Use a predefined Tier like db-perf-optimized-N-* instead. Learn more at https://cloud.google.com/sql/docs/postgres/create-instance#machine-types., invalid",
      ],
    ]);
  });

  it("gcp-sql-custom-tier-shape, gcp-sql-pitr-retention, gcp-sql-connectivity", async () => {
    const v = await refusals(() => {
      new gcp.sql.DatabaseInstance(
        "odd",
        instance({ edition: "ENTERPRISE", tier: "db-custom-3-4000", backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: true, transactionLogRetentionDays: 14 } }),
      );
      new gcp.sql.DatabaseInstance("dark", instance({ edition: "ENTERPRISE", ipConfiguration: { ipv4Enabled: false } }));
    });
    expect(messages(v, "gcp-sql-custom-tier-shape")[0]).toMatch(/Invalid Tier \(db-custom-3-4000\)/);
    expect(messages(v, "gcp-sql-pitr-retention")).toEqual(["googleapi: Error 400: Invalid request: The number of transaction log retention days must be between 1 and 7., invalid"]);
    expect(messages(v, "gcp-sql-connectivity")).toEqual(["googleapi: Error 400: Invalid request: At least one of Public IP or Private IP or PSC connectivity must be enabled., invalid"]);
  });

  it("gcp-health-check-*: protocol blocks, timeout, source regions, name", async () => {
    const v = await refusals(() => {
      new gcp.compute.HealthCheck("two", {
        name: "Two_Blocks",
        checkIntervalSec: 10,
        timeoutSec: 20,
        sourceRegions: ["us-central1", "europe-west1"],
        httpHealthCheck: { port: 80 },
        tcpHealthCheck: { port: 80 },
      });
    });
    expect(messages(v, "gcp-health-check-protocol")[0]).toContain(
      "only one of `grpc_health_check,grpc_tls_health_check,http2_health_check,http_health_check,https_health_check,ssl_health_check,tcp_health_check` can be specified, but `http_health_check,tcp_health_check` were specified.",
    );
    expect(messages(v, "gcp-health-check-timeout")).toEqual(["googleapi: Error 400: Invalid value for field 'resource.timeoutSec': '20'. TimeoutSec should be less than checkIntervalSec., invalid"]);
    expect(messages(v, "gcp-health-check-source-regions")).toHaveLength(2);
    expect(messages(v, "gcp-resource-name")[0]).toContain("'Two_Blocks'");
  });

  it("gcp-dns-external-endpoints: a load balancer hostname as an external endpoint is refused", async () => {
    const v = await refusals(() => {
      new gcp.dns.RecordSet("gslb", {
        managedZone: "z",
        name: "api.example.com.",
        type: "A",
        ttl: 60,
        routingPolicy: {
          primaryBackup: {
            primary: { externalEndpoints: ["k8s-gw.elb.amazonaws.com"] },
            backupGeos: [{ location: "us-east1", healthCheckedTargets: { externalEndpoints: ["192.0.2.7"] } }],
            trickleRatio: 0,
          },
          healthCheck: "hc",
        },
      });
    });
    expect(messages(v, "gcp-dns-external-endpoints")).toEqual([
      "googleapi: Error 400: Invalid value for 'entity.change.additions[0].routingPolicy.primaryBackup.primary.healthCheckedTargets.externalEndpoints[0]': 'k8s-gw.elb.amazonaws.com' (the Internet IP addresses to be health checked), invalid",
    ]);
  });

  it("gcp-dns-rrdatas-or-routing and gcp-dns-fully-qualified", async () => {
    const v = await refusals(() => {
      new gcp.dns.RecordSet("both", { managedZone: "z", name: "api.example.com", type: "A", ttl: 60, rrdatas: ["192.0.2.1"], routingPolicy: { wrrs: [{ weight: 1, rrdatas: ["192.0.2.1"] }] } });
    });
    expect(messages(v, "gcp-dns-rrdatas-or-routing")[0]).toContain('"rrdatas": conflicts with routing_policy');
    expect(messages(v, "gcp-dns-fully-qualified")).toEqual(["googleapi: Error 400: Invalid value for 'entity.change.additions[0].name': 'api.example.com', invalid"]);
  });
});
