/**
 * Wiring for `meridian local-region`, the region process `meridian local` spawns: kept apart from the
 * supervisor's wiring so a region loads only what it runs.
 */
import { buildEstateSpec } from "../../model/estate.js";
import { loadStack } from "../../stacks/load.js";
import { startRegion, type RegionOptions } from "../../runtime/local/region.js";
import { runRegionProcess } from "../../runtime/local/region-main.js";

export interface RegionArgs {
  stack: string;
  region: string;
  host: string;
  skewMs: number;
  grandmaster?: string;
  redis?: string;
  postgres?: string;
  pool?: string;
  requestsPerSecond?: number;
  recoveryHoldSeconds?: number;
}

/** A region process: its credentials come from the supervisor in the environment, fresh ones over IPC. */
export async function runRegion(opts: RegionArgs): Promise<void> {
  let token = process.env["MERIDIAN_LOCAL_TOKEN"] ?? "";
  const fromEnv = <T>(name: string): T | undefined => (process.env[name] ? (JSON.parse(process.env[name]) as T) : undefined);
  const auth = fromEnv<RegionOptions["auth"]>("MERIDIAN_LOCAL_AUTH");
  const map = fromEnv<{ url: string; name: string; token: string }>("MERIDIAN_LOCAL_MAP");
  let mapToken = map?.token ?? "";
  await runRegionProcess(
    async () => {
      const stack = loadStack(opts.stack);
      const hold = opts.recoveryHoldSeconds;
      const spec = buildEstateSpec(opts.stack, hold === undefined ? stack : { ...stack, time: { ...stack.time, skew: { ...stack.time.skew, recoveryHoldSeconds: hold } } });
      const [gmHost, gmPort] = opts.grandmaster ? [opts.grandmaster.slice(0, opts.grandmaster.lastIndexOf(":")), Number(opts.grandmaster.slice(opts.grandmaster.lastIndexOf(":") + 1))] : [];
      return startRegion({
        spec,
        regionId: opts.region,
        host: opts.host,
        skewMs: opts.skewMs,
        grandmaster: gmHost ? { host: gmHost, port: gmPort! } : undefined,
        redisUrl: opts.redis,
        postgresUrl: opts.postgres,
        pool: opts.pool ? { url: opts.pool, token: () => token } : undefined,
        auth,
        buyerJwk: fromEnv<object>("MERIDIAN_LOCAL_BUYER_JWK"),
        peers: fromEnv<Record<string, string>>("MERIDIAN_LOCAL_PEERS"),
        requestsPerSecond: opts.requestsPerSecond,
        map: map && { url: map.url, name: map.name, token: () => mapToken },
      });
    },
    opts.region,
    {
      onMessage: (m) => {
        if (m.event !== "token") return;
        if (typeof m.token === "string") token = m.token;
        if (typeof m.mapToken === "string") mapToken = m.mapToken;
      },
    },
  );
}
