/**
 * No import cycles (DESIGN: "No import cycles"): a cycle works only by load order, so a new import elsewhere can
 * turn it into a TDZ error at startup. dependency-cruiser follows every module the program, the CLI and the
 * services load, after TypeScript's compilation: imports that only carry types are erased, so they don't count.
 */
import { cruise, type ICruiseResult } from "dependency-cruiser";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../cli.js";

const ROOTS = ["index.ts", "program.ts", "model", "stacks", "components", "policies", "runtime", "cli"];

async function cycles(paths: string[]): Promise<string[][]> {
  const tsConfigFile = join(REPO_ROOT, "tsconfig.json");
  const cwd = process.cwd();
  process.chdir(REPO_ROOT); // module names in the result are relative to the working directory
  try {
    const { output } = await cruise(
      paths,
      {
        validate: true,
        ruleSet: { forbidden: [{ name: "no-circular", severity: "error", from: {}, to: { circular: true } }] },
        tsPreCompilationDeps: false,
        tsConfig: { fileName: tsConfigFile },
        doNotFollow: { path: "node_modules" },
        exclude: { path: ["\\.d\\.ts$", "^policies/(dist|node_modules)/"] },
      },
      undefined,
      { tsConfig: extractTSConfig(tsConfigFile) },
    );
    const result = output as ICruiseResult;
    return result.summary.violations.filter((v) => v.rule.name === "no-circular").map((v) => [v.from, ...(v.cycle ?? []).map((c) => c.name)]);
  } finally {
    process.chdir(cwd);
  }
}

describe("import cycles", () => {
  it("the check finds a cycle (fixture a.ts <-> b.ts)", async () => {
    const found = await cycles(["test/testdata/cycle/a.ts"]);
    expect(found).toContainEqual(["test/testdata/cycle/a.ts", "test/testdata/cycle/b.ts", "test/testdata/cycle/a.ts"]);
  });

  it("the program, CLI, model, components, policies and runtime have none", async () => {
    expect(await cycles(ROOTS)).toEqual([]);
  }, 300_000);
});
