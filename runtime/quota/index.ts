/**
 * runtime/quota: fair sharing (max-min, weighted fair queuing, DRF, lottery, ageing priority tiers) and
 * multi-dimensional quotas over user → application → tenant with overrides and delegation.
 */
export { maxMinFair } from "./max-min.js";
export { WeightedFairQueue } from "./wfq.js";
export { dominantResourceFairness, type DrfUser, type DrfAllocation, type Resources } from "./drf.js";
export { Lottery } from "./lottery.js";
export { AgeingPriorityQueue } from "./priority.js";
export { QuotaTree, QuotaError, KINDS, type Amounts, type NodeSpec, type ReserveResult, type Violation } from "./tree.js";
export { OverrideBook, OverrideError, type Override, type OverrideState } from "./overrides.js";
export { Delegations, type Delegation } from "./delegation.js";
