/**
 * `meridian cost --stack <name> [--format table|json|github-comment] [--baseline FILE]`: the stack's
 * monthly cost — every cloud resource of the offline plan priced from the dated price table (sizes from
 * the stack), plus the stack's usage estimates (replication egress, DNS queries) — as a table, as
 * Infracost's breakdown JSON, or as the pull-request comment with the change against a baseline.
 */
import type { Command } from "commander";
import { execFileSync } from "node:child_process";
import { UserError } from "../errors.js";

const FORMATS = ["table", "json", "github-comment"] as const;

export function register(program: Command): void {
  program
    .command("cost")
    .description("price the stack's plan and usage (table, Infracost JSON, or a PR comment against a baseline)")
    .requiredOption("-s, --stack <name>", "stack name (stacks/Pulumi.<name>.yaml)")
    .option("--format <format>", `output: ${FORMATS.join(", ")}`, "table")
    .option("--json", "same as --format json (Infracost's `breakdown --format json` document)")
    .option("--baseline <file>", "an earlier `meridian cost --format json` (or Infracost JSON) to diff against")
    .action(async (opts: { stack: string; format: string; json?: boolean; baseline?: string }) => {
      const format = opts.json ? "json" : opts.format;
      if (!(FORMATS as readonly string[]).includes(format)) throw new UserError(`--format ${JSON.stringify(format)}: expected one of ${FORMATS.join(", ")}`);
      const { loadStack } = await import("../../stacks/load.js");
      const { buildEstateSpec } = await import("../../model/estate.js");
      const { buildCostReport, replicationInput } = await import("../../model/cost/report.js");
      const { compareTopologies } = await import("../../model/cost/egress.js");
      const { withUnknowns } = await import("../../model/resources.js");
      const { renderCostJson, renderCostTable, renderGithubComment, readBaseline } = await import("../render/cost.js");
      const { placementForSpec } = await import("../../model/placement/spec.js");
      const spec = buildEstateSpec(opts.stack, loadStack(opts.stack));
      const baseline = opts.baseline === undefined ? undefined : readBaseline(opts.baseline);
      // Config and baseline mistakes are reported before the Pulumi SDK and the providers load.
      const { planStack } = await import("../../components/preview/plan.js");
      const plan = await planStack(opts.stack);
      const resources = plan.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: withUnknowns(r.inputs) as Record<string, unknown> }));
      let report;
      try {
        report = buildCostReport(spec, { resources, baseline, generatedAt: new Date().toISOString(), metadata: vcsMetadata() });
      } catch (err) {
        if (baseline) throw new UserError(`${opts.baseline}: ${(err as Error).message}`);
        throw err;
      }
      if (format === "json") process.stdout.write(renderCostJson(report));
      else if (format === "github-comment") process.stdout.write(renderGithubComment(report));
      else process.stdout.write(renderCostTable(report, compareTopologies(replicationInput(spec)), spec.replication.topology, spec.budget.monthlyUSD, placementForSpec(spec)));
    });
}

/** Infracost's VCS metadata from git, when this is a git checkout (empty fields otherwise, as Infracost leaves them). */
function vcsMetadata(): Record<string, string> {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const [sha, author, email, timestamp, ...message] = git("log", "-1", "--format=%H%n%an%n%ae%n%cI%n%s").split("\n");
    return {
      vcsBranch: git("rev-parse", "--abbrev-ref", "HEAD"),
      vcsCommitSha: sha ?? "",
      vcsCommitAuthorName: author ?? "",
      vcsCommitAuthorEmail: email ?? "",
      vcsCommitTimestamp: new Date(timestamp ?? "").toISOString(),
      vcsCommitMessage: message.join("\n"),
    };
  } catch {
    return {};
  }
}
