/**
 * The rate limit service's side of the allocator service's per-window budgets: a BudgetSource that asks
 * `POST <url>/v1/allocator/budget` (global/server.ts). In the estate the URL is the allocator's Service,
 * which the mesh routes to the ledger region's pods with mTLS. Any answer but 200 with a grant, or none
 * within `timeoutMs`, is an error: GlobalBudgets then applies its failure policy (service/global-budgets.ts).
 */
import type { BudgetSource } from "../service/global-budgets.js";
import type { BudgetGrant } from "./window-budget.js";

export function httpBudgetSource(url: string, timeoutMs = 500): BudgetSource {
  const endpoint = `${url.replace(/\/+$/, "")}/v1/allocator/budget`;
  return async (r) => {
    let res: Response;
    try {
      res = await fetch(endpoint, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(r), signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new Error(`allocator at ${endpoint} did not answer within ${timeoutMs} ms: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text().catch(() => "");
    if (res.status !== 200) throw new Error(`allocator at ${endpoint} answered ${res.status}: ${text.slice(0, 200)}`);
    const g = JSON.parse(text) as Partial<BudgetGrant>;
    if (typeof g.window !== "number" || typeof g.has !== "number" || typeof g.free !== "number") throw new Error(`allocator at ${endpoint} answered no grant: ${text.slice(0, 200)}`);
    return { window: g.window, has: g.has, free: g.free };
  };
}
