// The docs of DOC_GROUPS.c in suite.ts, run beside the other codeblocks-*.test.ts. cost.md's three commands over the
// unchanged prod stack (`cost` as JSON, `cost` against that baseline, `plan`) and workloads.md's `plan` of it price one
// evaluation of its plan (test/plan-memo.ts); each still runs whole, in the runner's process, over the plan it gets.
import { vi } from "vitest";
import { DOC_GROUPS, docsSuite } from "./suite.js";

vi.mock("../../components/preview/plan.js", async (original) => (await import("../plan-memo.js")).memoizePlans(await original()));

docsSuite(DOC_GROUPS.c);
