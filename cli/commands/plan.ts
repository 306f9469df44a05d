/** `meridian plan --stack <name> [--json]`: the offline preview of a stack under Pulumi's mock runtime. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("plan")
    .description("evaluate the Pulumi program offline (mock runtime, no credentials) and print its resources and outputs")
    .requiredOption("-s, --stack <name>", "stack name (stacks/Pulumi.<name>.yaml)")
    .option("--json", "print one JSON document: { stack, resources, outputs }")
    .option("--graph <file.svg>", "also write the estate's topology picture (regions, DNS hierarchy, replication tiers)")
    .action(async (opts: { stack: string; json?: boolean; graph?: string }) => {
      const { planStack } = await import("../../components/preview/plan.js");
      const { renderPlanJson, renderPlanText } = await import("../render/plan.js");
      const plan = await planStack(opts.stack);
      process.stdout.write(opts.json ? renderPlanJson(plan) : renderPlanText(plan));
      if (opts.graph) await writeGraph(opts.stack, opts.graph);
    });
}

async function writeGraph(stack: string, file: string): Promise<void> {
  const { writeFileSync } = await import("node:fs");
  const { loadStack } = await import("../../stacks/load.js");
  const { buildEstateSpec } = await import("../../model/estate.js");
  const { renderTopologySvg } = await import("../render/graph.js");
  writeFileSync(file, renderTopologySvg(buildEstateSpec(stack, loadStack(stack))));
}
