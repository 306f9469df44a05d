/**
 * The region's rate-limit service in the local estate: the Envoy-compatible service (HTTP + RLS gRPC on
 * ephemeral loopback ports) with this region's share of the estate-wide limit, as the workloads deploy it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rateLimitRegionConfig } from "../../../model/workloads/config.js";
import { ClockNode } from "../../clock/node.js";
import { startServer } from "../../ratelimit/service/server.js";
import type { RegionService } from "../region-service.js";

export const ratelimitService: RegionService = {
  name: "ratelimit",
  async start(app, ctx) {
    const config = rateLimitRegionConfig(ctx.spec, ctx.region.id);
    const dir = mkdtempSync(join(tmpdir(), `meridian-rl-${ctx.region.id}-`));
    const configPath = join(dir, "ratelimit.yaml");
    writeFileSync(configPath, config.yaml);
    const hlc = new ClockNode({ clock: ctx.clock, maxOffsetMs: ctx.spec.time.maxOffsetMs });
    const server = await startServer({ configPath, redisUrl: ctx.redisUrl, port: 0, grpcPort: 0, host: ctx.host, clock: ctx.clock, region: ctx.region.id, hlc });
    const http = `http://${ctx.host}:${server.httpPort}`;
    app.get("/", async () => ({ http, grpc: `${ctx.host}:${server.grpcPort}`, domain: config.domain }));
    return {
      healthy: () => true,
      state: () => ({ domain: config.domain, requestsPerSecond: config.requestsPerSecond, http, grpc: `${ctx.host}:${server.grpcPort}` }),
      stop: async () => {
        await server.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
