/**
 * The architecture lint (eslint.architecture.js) is part of `npm test` through `eslint .`; these cases pin what
 * it refuses and allows, so a rule that silently stopped matching (a depth off by one) fails here.
 */
import { ESLint } from "eslint";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../cli.js";

const eslint = new ESLint({ cwd: REPO_ROOT });

async function restricted(file: string, specifier: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import { x } from "${specifier}";\nexport const y = x;\n`, { filePath: join(REPO_ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

describe("architecture lint: DESIGN's layers", () => {
  it.each([
    ["model/probe.ts", "../stacks/load.js", /model\/ is pure/],
    ["model/traffic/probe.ts", "../../stacks/load.js", /model\/ is pure/],
    ["model/traffic/probe.ts", "../../components/dns/index.js", /model\/ is pure/],
    ["model/a/b/probe.ts", "../../../runtime/clock/index.js", /model\/ is pure/],
    ["model/probe.ts", "@pulumi/pulumi", /model\/ is pure/],
    ["model/probe.ts", "node:fs", /model\/ is pure/],
    ["model/probe.ts", "../program.js", /root files/],
    ["stacks/probe.ts", "../components/estate.js", /stacks\//],
    ["runtime/escrow/probe.ts", "../../components/estate.js", /runtime\/ never imports components/],
    ["runtime/escrow/store/probe.ts", "@pulumi/kubernetes", /runtime\/ never imports components/],
    ["runtime/escrow/probe.ts", "../clock/node.js", /through its index\.ts/],
    ["runtime/local/drills/probe.ts", "../../prooflog/client.js", /through its index\.ts/],
    ["components/workloads/probe.ts", "../../runtime/clock/propagation.js", /through its index\.ts/],
    ["components/probe.ts", "../cli/errors.js", /components\//],
    ["policies/rules/probe.ts", "../../runtime/clock/index.js", /policies\//],
  ])("%s may not import %s", async (file, specifier, message) => {
    const messages = await restricted(file, specifier);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(message);
  });

  it.each([
    ["model/traffic/probe.ts", "../config/traffic.js"],
    ["model/probe.ts", "node:crypto"],
    ["stacks/probe.ts", "../model/config/index.js"],
    ["runtime/escrow/probe.ts", "../clock/index.js"],
    ["runtime/escrow/probe.ts", "../common/clock.js"],
    ["runtime/escrow/store/probe.ts", "../core/stock.js"],
    ["runtime/escrow/probe.ts", "../../model/estate.js"],
    ["components/workloads/probe.ts", "../../runtime/clock/index.js"],
    ["components/workloads/probe.ts", "../../model/services.js"],
    ["cli/commands/probe.ts", "../../runtime/prooflog/note.js"],
    ["test/model/probe.ts", "../../stacks/load.js"],
  ])("%s may import %s", async (file, specifier) => {
    expect(await restricted(file, specifier)).toEqual([]);
  });

  it.each([
    ['if ((e as Error).name === "ProofError") throw e;'],
    ['if (err.name !== "StackConfigError") throw err;'],
    ['if (["ForkRefusedError", "StateError"].includes((e as Error).name)) throw e;'],
  ])("an error kind checked by name is refused: %s", async (line) => {
    const [result] = await eslint.lintText(`export function f(e: unknown, err: Error) {\n  ${line}\n}\n`, { filePath: join(REPO_ROOT, "cli/commands/probe.ts") });
    expect(result!.messages.filter((m) => m.ruleId === "no-restricted-syntax").map((m) => m.message)).toEqual(["check an error's kind with instanceof, not by its name"]);
  });

  it.each([["Date.now()"], ["new Date()"], ["performance.now()"], ["process.hrtime.bigint()"], ['process.env["TZ"]']])("model/ may not read the clock or environment: %s", async (expr) => {
    const [result] = await eslint.lintText(`export const t = () => ${expr};\n`, { filePath: join(REPO_ROOT, "model/time/probe.ts") });
    expect(result!.messages.map((m) => m.message)).toEqual([expect.stringMatching(/model\/ reads no (clock|environment)/)]);
  });

  it("model/ may build a date from a value it was given", async () => {
    const [result] = await eslint.lintText("export const t = (ms: number) => new Date(ms).toISOString();\n", { filePath: join(REPO_ROOT, "model/time/probe.ts") });
    expect(result!.messages).toEqual([]);
  });
});
