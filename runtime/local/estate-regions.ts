/**
 * Bringing the local estate's regions up (estate.ts starts them once the public ports and the estate-wide services
 * are in place): each region process spawned with what it needs to reach the estate — the grandmaster, the stores,
 * the estate's spec and its escrow config (the escrow peers at their public addresses), its credentials in the environment, its first rate-limit share —,
 * its proxy pointed at it once it listens; then, before the checkers start, every region served through its proxy.
 */
import type { EstateSpec } from "../../model/estate.js";
import { regionEscrowConfig } from "../../model/escrow/config.js";
import type { LocalOperatorAuth } from "../kit/index.js";
import { regionPrivateAddress, type LocalEstateOptions, type RegionEndpoint } from "./estate-options.js";
import type { GlobalServices } from "./global-services.js";
import type { RegionProxy } from "./proxy.js";
import type { Supervisor } from "./supervisor.js";

export interface LaunchRegionsOptions {
  spec: EstateSpec;
  /** The regions to run, with their index in the spec (their addresses). */
  indexed: { id: string; index: number }[];
  supervisor: Supervisor;
  /** Each region's proxy, bound on its public address. */
  proxies: Map<string, RegionProxy>;
  globals: GlobalServices;
  /** The `server.auth` trusting the supervisor's operator tokens, and a region's token and escrow map credential. */
  auth: LocalOperatorAuth["auth"];
  regionToken: string;
  escrowMap: { url: string; name: string; token: string };
  /** Each region's first share of the estate-wide rate limit (requests/s). */
  shares: Record<string, number>;
  options: Pick<LocalEstateOptions, "redisUrl" | "postgresUrl" | "skews">;
  progress: (line: string) => void;
}

/** Start every region process in parallel and point its proxy at it; resolves with their public endpoints. */
export function launchRegions(o: LaunchRegionsOptions): Promise<RegionEndpoint[]> {
  // The estate's escrow config, worked out once by the global services: each region's differs only in its region and peers.
  const escrow = o.globals.escrow.config;
  return Promise.all(
    o.indexed.map(async ({ id, index }) => {
      o.progress(`starting region ${id} …`);
      const t0 = Date.now();
      const privateHost = regionPrivateAddress(index);
      const peers = Object.fromEntries(o.indexed.filter((r) => r.id !== id).map((r) => [r.id, `http://${o.proxies.get(r.id)!.host}:${o.proxies.get(r.id)!.port}/escrow`]));
      // The spec itself (an estate started from an adjusted spec, e.g. a shorter clock hold-down, runs it), and the
      // region's escrow config narrowed from the estate's.
      const options = {
        spec: o.spec,
        escrow: regionEscrowConfig(escrow, id, peers),
        grandmaster: `127.0.0.1:${o.globals.grandmaster.port}`,
        redis: o.options.redisUrl,
        postgres: o.options.postgresUrl,
        pool: o.globals.escrow.poolUrl,
      };
      const env = {
        MERIDIAN_LOCAL_AUTH: JSON.stringify(o.auth),
        MERIDIAN_LOCAL_TOKEN: o.regionToken,
        MERIDIAN_LOCAL_BUYER_JWK: JSON.stringify(o.globals.buyers.publicJwk),
        MERIDIAN_LOCAL_MAP: JSON.stringify(o.escrowMap),
      };
      const share = o.shares[id] ?? 0;
      const proc = await o.supervisor.start({ regionId: id, host: privateHost, skewMs: o.options.skews?.[id] ?? 0, stack: o.spec.stack, options: { ...options, requestsPerSecond: share }, env });
      // A region that comes back later starts with no share; it gets one when the GSLB sees it healthy.
      o.supervisor.updateSpec(id, { options: { ...options, requestsPerSecond: 0 } });
      const proxy = o.proxies.get(id)!;
      proxy.setUpstream({ host: privateHost, port: proc.port });
      o.progress(`region ${id} ready at http://${proxy.host}:${proxy.port} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return { id, address: proxy.host, port: proxy.port, url: `http://${proxy.host}:${proxy.port}`, privateHost };
    }),
  );
}

/**
 * Wait until every region answers each of its health signals through its network proxy — its public address, as a
 * client and the GSLB's checkers reach it — with any HTTP status (a failing signal is still served). Each request may
 * take until the deadline: on a loaded machine a cold region is slow, and slow is not down.
 */
export async function untilServed(regions: RegionEndpoint[], paths: string[], timeoutMs: number, checkAborted: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const served = async (r: RegionEndpoint, path: string) => {
    for (;;) {
      checkAborted();
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`region ${r.id} did not answer ${path} through its network proxy (${r.url}) within ${timeoutMs / 1000} s`);
      try {
        await (await fetch(`${r.url}${path}`, { signal: AbortSignal.timeout(left) })).arrayBuffer();
        return;
      } catch {
        await new Promise((res) => setTimeout(res, 100));
      }
    }
  };
  await Promise.all(regions.flatMap((r) => paths.map((p) => served(r, p))));
}
