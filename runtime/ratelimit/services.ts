/**
 * What runs the rate limit service (RLS v3 over gRPC and HTTP, its stores and clock). Kept out of index.ts, the
 * cores and configs, so a package that only limits in process (the escrow's GCRA limiter) does not load gRPC, the
 * protos and ioredis: ~170 modules, ~70 ms of CPU in every process that imports the escrow.
 */
export { startServer, type ServerOptions, type RunningServer } from "./service/server.js";
