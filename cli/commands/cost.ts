/**
 * `meridian cost --stack <name> [--json] [--baseline FILE]`: the stack's monthly cost from the model —
 * replication egress per link, DNS, health checks, load balancing — as a table or as Infracost-shaped
 * JSON (format 0.2) that OPA / conftest cost policies read; `--baseline` diffs against an earlier JSON.
 */
import type { Command } from "commander";
import { UserError } from "../errors.js";

export function register(program: Command): void {
  program
    .command("cost")
    .description("estimate the stack's monthly cost (table, or Infracost-shaped JSON with --json)")
    .requiredOption("-s, --stack <name>", "stack name (stacks/Pulumi.<name>.yaml)")
    .option("--json", "print Infracost-shaped JSON (totalMonthlyCost, resources[].costComponents[], ...)")
    .option("--baseline <file>", "an earlier `meridian cost --json` (or Infracost JSON) to diff against")
    .action(async (opts: { stack: string; json?: boolean; baseline?: string }) => {
      const { loadStack } = await import("../../stacks/load.js");
      const { buildEstateSpec } = await import("../../model/estate.js");
      const { buildCostReport, replicationInput } = await import("../../model/cost/report.js");
      const { compareTopologies } = await import("../../model/cost/egress.js");
      const { renderCostJson, renderCostTable, readBaseline } = await import("../render/cost.js");
      const { placementForSpec } = await import("../../model/placement/spec.js");
      const spec = buildEstateSpec(opts.stack, loadStack(opts.stack));
      const baseline = opts.baseline === undefined ? undefined : readBaseline(opts.baseline);
      let report;
      try {
        report = buildCostReport(spec, { baseline });
      } catch (err) {
        if (baseline) throw new UserError(`${opts.baseline}: ${(err as Error).message}`);
        throw err;
      }
      process.stdout.write(opts.json ? renderCostJson(report) : renderCostTable(report, compareTopologies(replicationInput(spec)), spec.budget.monthlyUSD, placementForSpec(spec)));
    });
}
