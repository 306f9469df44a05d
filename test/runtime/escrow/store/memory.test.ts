import { MemoryEscrowStore } from "../../../../runtime/escrow/store/memory.js";
import { describeEscrowStore } from "./suite.js";

describeEscrowStore("memory", () => new MemoryEscrowStore(), { numRuns: 150 });
