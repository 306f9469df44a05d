import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { publicationName, publicationSql, subscriptionName, subscriptionScript } from "../../../components/replication/logical.js";
import { psql, scratchDatabase } from "./pg.js";

describe("logical replication configuration", () => {
  it("names publications and subscriptions as PostgreSQL identifiers", () => {
    expect(publicationName("gcp-asne1")).toBe("meridian_gcp_asne1");
    expect(subscriptionName("gcp-asne1", "aws-use1")).toBe("meridian_gcp_asne1_from_aws_use1");
  });
  it("the publication SQL is idempotent on a real PostgreSQL", async () => {
    const url = await scratchDatabase("meridian_replication_pub");
    expect(psql(url, "CREATE TABLE t (id int PRIMARY KEY);").status).toBe(0);
    for (let i = 0; i < 2; i++) {
      const r = psql(url, publicationSql("aws-use1"));
      expect(r.status, r.stderr).toBe(0);
    }
    expect(psql(url, "SELECT pubname, puballtables FROM pg_publication;\n").stdout).toMatch(/meridian_aws_use1\s*\|\s*t/);
  });
  it("the subscription script is valid POSIX shell that checks before it subscribes (run for real in roundtrip.test.ts)", () => {
    const script = subscriptionScript("gcp-asne1", "aws-use1", "azure-sea");
    expect(spawnSync("dash", ["-n"], { input: script, encoding: "utf8" }).status).toBe(0);
    expect(script).toMatch(/^set -eu$/m);
    expect(script).toMatch(/s\.subname = 'meridian_gcp_asne1_from_aws_use1'/);
    expect(script).toMatch(/^\s*dump --schema-only/m);
    expect(script).toMatch(/^dump\(\) \( .*exec pg_dump "\$@" \)$/m);
    expect(script).toMatch(/PUBLICATION meridian_gcp_asne1 WITH \(copy_data = true/);
    // Its own slot on the publisher: another subscriber of the same publisher has another.
    expect(script).toMatch(/slot_name = 'meridian_gcp_asne1_from_aws_use1_to_azure_sea'\);/);
  });
});
