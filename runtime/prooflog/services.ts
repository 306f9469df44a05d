/**
 * What runs a log, a witness or a monitor: the log itself (its stores), its HTTP server and the witness and monitor
 * services. Kept out of index.ts, the package's pure API (notes, checkpoints, proofs, trees, the journal codec, the
 * client), so a package or command that only checks proofs does not load the HTTP stack, the stores and the clock:
 * under tsx, index.ts alone took ~0.1 s of CPU to import, and ~1.3 s with these.
 */
export { TransparencyLog, type AddResult, type LogOptions } from "./log.js";
export { startLogServer, type ServeOptions } from "./serve.js";
export { checkpointTimeOf } from "./commit-wait.js";
export { witnessService } from "./witness/service.js";
export { monitorService } from "./monitor/service.js";
