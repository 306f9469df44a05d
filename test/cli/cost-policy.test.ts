// `meridian plan` runs the policy pack (cost and safety rules) over the mocked program: two prod plans with a stack
// the pack refuses, in this process (the Pulumi SDK loads once; test/cli/plan.test.ts runs the real bin, and runs the
// shipped prod stack's text plan with the policy pack from the one plan its other prod tests read).
import { describe, expect, it } from "vitest";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliInProcess } from "../cli-in-process.js";
import { stackFile } from "../../stacks/load.js";

async function withProd(edit: (text: string) => string, run: (dir: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "meridian-policy-"));
  try {
    const file = join(dir, "Pulumi.prod.yaml");
    copyFileSync(stackFile("prod"), file);
    writeFileSync(file, edit(readFileSync(file, "utf8")));
    await run(dir);
  } finally {
    rmSync(dir, { recursive: true });
  }
}

describe("meridian plan runs the policy pack", () => {
  it("denies a full mesh over six regions, naming the cheaper topology", async () => {
    await withProd(
      (t) => t.replace("topology: hierarchical", "topology: full-mesh"),
      async (dir) => {
        const r = await runCliInProcess(["plan", "--stack", "prod", "--allow-placeholders"], { env: { MERIDIAN_STACKS_DIR: dir } });
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(
          /1 mandatory policy violation\n {2}meridian-egress-topology: full-mesh replication over 6 regions \(limit 4\) costs \$4,104\.14\/month; use star \(\$3,766\.64\/month\)/,
        );
      },
    );
  }, 300_000);

  it("denies a stack over its budget, and --json carries the violations", async () => {
    await withProd(
      (t) => t.replace("monthlyUSD: 25000", "monthlyUSD: 3000"),
      async (dir) => {
        const r = await runCliInProcess(["plan", "--stack", "prod", "--json", "--allow-placeholders"], { env: { MERIDIAN_STACKS_DIR: dir } });
        expect(r.status).toBe(1);
        const doc = JSON.parse(r.stdout) as { policyViolations: { policy: string; enforcementLevel: string; message: string }[] };
        expect(doc.policyViolations).toContainEqual(
          expect.objectContaining({ policy: "meridian-stack-budget", enforcementLevel: "mandatory", message: expect.stringMatching(/\$1\d,\d{3}\.\d\d exceeds the prod budget of \$3,000\.00/) }),
        );
      },
    );
  }, 300_000);
});
