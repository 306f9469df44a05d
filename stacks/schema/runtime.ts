/**
 * Runtime services deployed onto every regional cluster: escrow, rate limiting, proof log and clock.
 * Each service issue owns its block.
 */
import { z } from "zod";
import { port, positive } from "./common.js";

export const runtimeSchema = z
  .object({
    image: z.string().min(1).default("ghcr.io/meridian/runtime:latest"),
    replicas: z.number().int().min(1).default(2),
    escrow: z
      .object({ inventory: z.record(z.string(), positive).default({}), reservationTtlSeconds: positive.default(300) })
      .strict()
      .prefault({}),
    ratelimit: z
      .object({ domain: z.string().default("meridian"), requestsPerSecond: positive.default(1000) })
      .strict()
      .prefault({}),
    prooflog: z
      .object({ origin: z.string().min(1).default("meridian.example/log"), witnesses: z.array(z.string()).default([]) })
      .strict()
      .prefault({}),
    /** Ports used by `meridian local` on loopback. */
    local: z.object({ basePort: port.default(7100), dnsPort: port.default(8053), dashboardPort: port.default(7000) }).strict().prefault({}),
  })
  .strict();

export type RuntimeConfig = z.output<typeof runtimeSchema>;
