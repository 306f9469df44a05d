/**
 * Dominant Resource Fairness (Ghodsi et al., NSDI 2011), progressive filling: repeatedly launch one
 * task for the user with the lowest (weighted) dominant share — the largest fraction of any one
 * resource it holds — among users whose next task still fits; stop when no task fits. Invariants:
 * never allocates beyond capacity; at the end no user can get another task without the capacity
 * running out; with equal weights, dominant shares are equalised as far as whole tasks allow.
 * The paper's example: 9 CPU, 18 GB; A ⟨1 CPU, 4 GB⟩, B ⟨3 CPU, 1 GB⟩ → A 3 tasks, B 2 tasks.
 */

export type Resources = Record<string, number>;

export interface DrfUser {
  id: string;
  /** Resources one task needs. */
  demand: Resources;
  weight?: number;
  /** Stop after this many tasks (what the user actually wants). */
  maxTasks?: number;
}

export interface DrfAllocation {
  id: string;
  tasks: number;
  allocated: Resources;
  dominantResource: string;
  dominantShare: number;
}

export function dominantResourceFairness(capacity: Resources, users: readonly DrfUser[]): DrfAllocation[] {
  const resources = Object.keys(capacity);
  for (const u of users)
    for (const [r, v] of Object.entries(u.demand)) {
      if (!(r in capacity)) throw new RangeError(`user ${u.id} demands "${r}", which the capacity does not have (${resources.join(", ")})`);
      if (!(v >= 0)) throw new RangeError(`user ${u.id} demands ${v} ${r}; expected ≥ 0`);
    }
  const used: Resources = Object.fromEntries(resources.map((r) => [r, 0]));
  const state = users.map((u) => {
    // The dominant resource is fixed by the per-task demand vector.
    let dominantResource = resources[0]!;
    let best = -1;
    for (const r of resources) {
      const share = (u.demand[r] ?? 0) / capacity[r]!;
      if (share > best) [best, dominantResource] = [share, r];
    }
    return { u, tasks: 0, perTask: best, dominantResource, allocated: Object.fromEntries(resources.map((r) => [r, 0])) as Resources };
  });
  const fits = (s: (typeof state)[number]) => s.perTask > 0 && (s.u.maxTasks === undefined || s.tasks < s.u.maxTasks) && resources.every((r) => used[r]! + (s.u.demand[r] ?? 0) <= capacity[r]! + 1e-9);
  for (;;) {
    let pick: (typeof state)[number] | undefined;
    for (const s of state) {
      if (!fits(s)) continue;
      const share = (s.tasks * s.perTask) / (s.u.weight ?? 1);
      if (!pick || share < (pick.tasks * pick.perTask) / (pick.u.weight ?? 1)) pick = s;
    }
    if (!pick) break;
    pick.tasks++;
    for (const r of resources) {
      used[r]! += pick.u.demand[r] ?? 0;
      pick.allocated[r]! += pick.u.demand[r] ?? 0;
    }
  }
  return state.map((s) => ({ id: s.u.id, tasks: s.tasks, allocated: s.allocated, dominantResource: s.dominantResource, dominantShare: s.tasks * s.perTask }));
}
