/**
 * runtime/quota: fair sharing (max-min, weighted fair queuing, DRF, lottery, ageing priority tiers) and
 * multi-dimensional quotas over user → application → tenant with overrides and delegation.
 */
export { maxMinFair } from "./max-min.js";
export { type DrfUser, type DrfAllocation, type Resources } from "./drf.js";
export { type Amounts, type NodeSpec, type ReserveResult, type Violation } from "./tree.js";
export { type Override, type OverrideState } from "./overrides.js";
export { type Delegation } from "./delegation.js";
export { quotaService } from "./service.js";
