/**
 * runtime/escrow: regional inventory escrow (outline §11.1). Other folders import only this module.
 * See README.md for what the service guarantees and the tests that try to break it.
 */
export { parseEscrowConfig, type EscrowConfig, type EscrowConfigInput, type SkuConfig, type IdentityConfig } from "./config.js";
export { defineEscrowService, startEscrowServer, openEscrowStore, type EscrowServer, type EscrowServerOptions, type EscrowStoreOptions } from "./serve.js";
export { type InventoryView } from "./service.js";
export { type CommitOutcome, type CancelOutcome } from "./reservation-answers.js";
export { type ReserveResult, type CommitResult } from "./region-types.js";
export { type Reservation } from "./core/ledger.js";
export { type RebalanceMode, type RebalancePolicy, type RebalancePlan } from "./core/rebalance.js";
export { type ReconciliationReport } from "./reconcile.js";
export { conservationDrift, type EscrowStore, type InventoryAudit, type VerifyReport } from "./store/port.js";
export { MemoryEscrowStore } from "./store/memory.js";
export { generateBuyerKeys, mintBuyerToken, type Buyer, type BuyerKeyPair, type BuyerClaims } from "./transport/identity.js";
