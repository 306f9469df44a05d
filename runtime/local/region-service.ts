/**
 * RegionService: one runtime service as a region process of `meridian local` hosts it. Each service
 * mounts its HTTP routes under its own prefix, reports a health signal (the GSLB's checks read them:
 * some failing = degraded) and a state snapshot for the dashboard.
 */
import type { FastifyInstance } from "fastify";
import type { Clock } from "../common/clock.js";
import type { EstateSpec, Region } from "../../model/estate.js";

export interface RegionContext {
  spec: EstateSpec;
  region: Region;
  /** This region's simulated clock (the machine clock plus the region's skew). */
  clock: Clock;
  /** The loopback address this region listens on (its services bind here too). */
  host: string;
  /** The estate's NTP grandmaster, when the supervisor runs one. */
  grandmaster?: { host: string; port: number };
  /** Optional production stores (`meridian local --redis/--postgres`). */
  redisUrl?: string;
  postgresUrl?: string;
}

export interface RunningService {
  /** True when the service can serve; false makes the region degraded (or unhealthy if all fail). */
  healthy(): boolean;
  /** A JSON-serialisable snapshot for the dashboard. */
  state(): unknown;
  stop(): Promise<void>;
}

export interface RegionService {
  name: string;
  start(app: FastifyInstance, ctx: RegionContext): Promise<RunningService>;
}
