import { describe, expect, it } from "vitest";
import { marginalUSDPerGB, runbook } from "../../../model/runbooks/cost-spike.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";

const prod = buildEstateSpec("prod", loadStack("prod"));

describe("cost-spike runbook", () => {
  it("marginal egress per extra GB written, summed over the links that carry each writer", () => {
    // aws-use1's data: use1→usc1 0.09, use1→euw1 0.02, use1→asne1 0.09, euw1→weu 0.09, asne1→sea 0.12 = 0.41
    // aws-euw1's: euw1→weu 0.09, euw1→use1 0.02, euw1→asne1 0.09, use1→usc1 0.09, asne1→sea 0.12 = 0.41
    // gcp-asne1's: asne1→sea 0.12, asne1→use1 0.12, asne1→euw1 0.12, use1→usc1 0.09, euw1→weu 0.09 = 0.54
    expect(marginalUSDPerGB(prod)).toEqual({ "aws-use1": 0.41, "aws-euw1": 0.41, "gcp-asne1": 0.54 });
  });
  it("renders the drill-down, the root-cause table and the cheaper topologies with this stack's numbers", () => {
    const text = runbook.render(prod);
    // Egress $4,100.67 (replication 4,098.84, east-west 1.83: docs/cost.md) + geo queries on the two delegated providers (450 M × $0.70 each).
    expect(text).toContain(
      "Expected usage-based spend (egress — replication and east-west calls between regions — and DNS queries, the part that spikes): **$4,730.67/month**; the whole bill against the budget of $25,000.00",
    );
    expect(text).toContain("| replication/gcp-asne1->azure-sea | $1,200.00 |");
    expect(text).toContain("| gcp-asne1 | 2500 | $0.540 |");
    expect(text).toContain("- star: $3,766.64/month (saves $332.20)");
    expect(text).toContain("meridian cost --stack prod --baseline cost-last-month.json");
  });
});
