/**
 * Wiring for `meridian local-region`, the region process `meridian local` spawns: kept apart from the
 * supervisor's wiring so a region loads only what it runs.
 */
import { startRegion, type RegionOptions } from "../../runtime/local/region.js";
import { runRegionProcess } from "../../runtime/local/region-main.js";

export interface RegionArgs {
  stack: string;
  region: string;
  host: string;
}

/** A region process: its configuration and credentials come from the supervisor over IPC, fresh credentials later too. */
export async function runRegion(opts: RegionArgs): Promise<void> {
  let token = "";
  let mapToken = "";
  await runRegionProcess(
    async ({ skewMs, options: o, env }) => {
      const fromEnv = <T>(name: string): T | undefined => (env[name] ? (JSON.parse(env[name]) as T) : undefined);
      token = env["MERIDIAN_LOCAL_TOKEN"] ?? "";
      const map = fromEnv<{ url: string; name: string; token: string }>("MERIDIAN_LOCAL_MAP");
      mapToken = map?.token ?? "";
      // The supervisor's spec (adjusted from the stack file's or not): a region does not read the stack itself.
      const spec = o.spec;
      if (spec.stack !== opts.stack) throw new Error(`the supervisor sent the spec of stack ${spec.stack}, not ${opts.stack}`);
      const [gmHost, gmPort] = o.grandmaster ? [o.grandmaster.slice(0, o.grandmaster.lastIndexOf(":")), Number(o.grandmaster.slice(o.grandmaster.lastIndexOf(":") + 1))] : [];
      return startRegion({
        spec,
        regionId: opts.region,
        host: opts.host,
        skewMs,
        grandmaster: gmHost ? { host: gmHost, port: gmPort! } : undefined,
        redisUrl: o.redis,
        postgresUrl: o.postgres,
        pool: o.pool ? { url: o.pool, token: () => token } : undefined,
        auth: fromEnv<RegionOptions["auth"]>("MERIDIAN_LOCAL_AUTH"),
        buyerJwk: fromEnv<object>("MERIDIAN_LOCAL_BUYER_JWK"),
        escrow: o.escrow,
        requestsPerSecond: o.requestsPerSecond,
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
