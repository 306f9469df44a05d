/** Test helper: run a small program under the recording mock runtime and return the providers' refusals. */
import { runUnderMocks } from "../../../../components/preview/mock-runtime.js";
import { ProviderRulesError, type Violation } from "../../../../components/preview/rules/index.js";

export async function refusals(program: () => void, cloudValues: "fake" | "computed" = "fake"): Promise<Violation[]> {
  try {
    await runUnderMocks(
      () => {
        program();
        return {};
      },
      { stack: "rules", config: {}, cloudValues },
    );
    return [];
  } catch (err) {
    if (err instanceof ProviderRulesError) return [...err.violations];
    throw err;
  }
}

/** The messages one rule produced. */
export function messages(violations: Violation[], rule: string): string[] {
  return violations.filter((v) => v.rule === rule).map((v) => v.message);
}
