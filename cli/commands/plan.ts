/**
 * `meridian plan --stack <name> [--json] [--no-policy] [--allow-placeholders]`: the offline preview of a stack under Pulumi's
 * mock runtime, checked against the providers' rules (components/preview/rules), then the policy pack's
 * rules over the recorded resources and the cost model, as `pulumi preview --policy-pack policies` would
 * run them. A provider refusal or a mandatory violation exits 1.
 */
import type { Command } from "commander";

/** The rules that refuse the shipped stacks' placeholder values, which `--allow-placeholders` reports as advisory. */
const PLACEHOLDER_RULES = new Set(["meridian-runtime-image-placeholder", "meridian-mesh-egress-placeholder", "meridian-nil-uuid-placeholder"]);

export function register(program: Command): void {
  program
    .command("plan")
    .description("evaluate the Pulumi program offline (mock runtime, no credentials), print its resources and outputs, and run the policy pack")
    .requiredOption("-s, --stack <name>", "stack name (stacks/Pulumi.<name>.yaml)")
    .option("--json", "print one JSON document: { stack, resources, outputs, policyViolations }")
    .option("--no-policy", "skip the policy pack")
    .option(
      "--allow-placeholders",
      "review a shipped stack before its real values exist: the all-zero digests of meridian:runtime.image and meridian:imageDigests, the documentation addresses of regions[].mesh.egress and the nil-UUID Azure subscription and tenant IDs become advisory here (the pack under `pulumi preview`/`up` still refuses them)",
    )
    .option("--graph <file.svg>", "also write the estate's topology picture (regions, DNS hierarchy, replication tiers)")
    .action(async (opts: { stack: string; json?: boolean; policy: boolean; graph?: string; allowPlaceholders?: boolean }) => {
      // A config mistake is reported before the Pulumi SDK and the providers load (seconds of startup).
      const { loadStack } = await import("../../stacks/load.js");
      const { buildEstateSpec } = await import("../../model/estate.js");
      const spec = buildEstateSpec(opts.stack, loadStack(opts.stack));
      const { planStack } = await import("../../components/preview/plan.js");
      const { renderPlanJson, renderPlanText } = await import("../render/plan.js");
      const { ProviderRulesError } = await import("../../components/preview/rules/index.js");
      let plan: Awaited<ReturnType<typeof planStack>>;
      try {
        plan = await planStack(opts.stack);
      } catch (err) {
        // What `pulumi up` would meet: the providers' own refusals, one per resource, then exit 1.
        if (!(err instanceof ProviderRulesError)) throw err;
        process.stderr.write(`meridian: ${err.message}\n`);
        process.exitCode = 1;
        return;
      }
      if (opts.graph) await writeGraph(opts.stack, opts.graph);
      if (!opts.policy) {
        process.stdout.write(opts.json ? renderPlanJson(plan) : renderPlanText(plan));
        return;
      }
      const { evaluatePolicies, modelView } = await import("../../policies/evaluate.js");
      const { modelFromResources } = await import("../../policies/model-source.js");
      const { withUnknowns } = await import("../../model/resources.js");
      // Computed values are unknown, as in `pulumi preview`: rules see the same UNKNOWN the pack sees.
      const resources = plan.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: withUnknowns(r.inputs) as Record<string, unknown> }));
      // The pack reads the model from the estate's ConfigMap, as under `pulumi preview`; a stack without
      // the replication area still gets the cost rules from its own config.
      const model = modelFromResources(resources) ?? modelView(spec, { resources });
      const found = evaluatePolicies(resources, model);
      // Reviewing the shipped stacks before any image or NAT address exists: the placeholders are reported, not refused.
      const violations = opts.allowPlaceholders ? found.map((v) => (PLACEHOLDER_RULES.has(v.policy) ? { ...v, enforcementLevel: "advisory" as const } : v)) : found;
      if (opts.json) {
        const doc = JSON.parse(renderPlanJson(plan)) as Record<string, unknown>;
        process.stdout.write(`${JSON.stringify({ ...doc, policyViolations: violations }, null, 2)}\n`);
      } else {
        process.stdout.write(renderPlanText(plan));
        const lines = ["", `Policies (${violations.length} findings):`];
        for (const v of violations) {
          const where = v.resource ? `${v.resource.type} ${v.resource.name}` : `stack ${opts.stack}`;
          lines.push(`  [${v.enforcementLevel}] ${v.policy}  ${where}`, ...v.message.split("\n").map((l) => `      ${l}`));
        }
        process.stdout.write(`${lines.join("\n")}\n`);
      }
      const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
      if (mandatory.length) {
        process.stderr.write(`meridian: ${mandatory.length} mandatory policy violation${mandatory.length === 1 ? "" : "s"}\n`);
        for (const v of mandatory) process.stderr.write(`  ${v.policy}: ${v.resource ? `${v.resource.type} ${v.resource.name}: ` : ""}${v.message}\n`);
        process.exitCode = 1;
      }
    });
}

async function writeGraph(stack: string, file: string): Promise<void> {
  const { writeFileSync } = await import("node:fs");
  const { loadStack } = await import("../../stacks/load.js");
  const { buildEstateSpec } = await import("../../model/estate.js");
  const { renderTopologySvg } = await import("../render/graph.js");
  writeFileSync(file, renderTopologySvg(buildEstateSpec(stack, loadStack(stack))));
}
