import { MemoryEscrowStore } from "../../../runtime/escrow/stores/memory.js";
import { describeEscrowStore } from "./store-suite.js";

describeEscrowStore("memory", () => new MemoryEscrowStore(), { numRuns: 150 });
