/**
 * `meridian ratelimit serve|validate`: run the Envoy-compatible rate limit service (RLS v3 gRPC + HTTP
 * with RateLimit headers) from an envoyproxy/ratelimit YAML config, or check a config and print the
 * limits it defines.
 */
import type { Command } from "commander";
import { UserError } from "../errors.js";
import { closeOnSignal } from "../signals.js";

const port = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`${flag} is "${v}"; expected a port number 0–65535`);
  return n;
};

export function register(program: Command): void {
  const rl = program.command("ratelimit").description("rate limiting: the Envoy-compatible rate limit service");
  rl.command("serve")
    .description("serve Envoy RLS v3 (gRPC) and an HTTP API with RateLimit headers")
    .requiredOption("-c, --config <yaml>", "envoyproxy/ratelimit config (extended with algorithm, burst, hierarchical)")
    .option("--redis <url>", "share state through Redis (e.g. redis://127.0.0.1:6379/0); default: in memory")
    .option("--failure-mode <mode>", "when Redis is unreachable: local | fail-open | fail-closed", "local")
    .option("--instances <n>", "instances sharing the Redis (sizes the local fallback share)", "1")
    .option("--region <name>", "this instance's region at the global allocator (for `global: true` limits); default: host name")
    .option("--lease-refresh-ms <ms>", "global limits: how often a region renews its lease (its burst is one refresh of its share)", "250")
    .option("--lease-ms <ms>", "global limits: lease length (how long a silent region keeps its share)", "5000")
    .option("-p, --port <port>", "HTTP port", port("--port"), 8080)
    .option("--grpc-port <port>", "gRPC port", port("--grpc-port"), 8081)
    .option("--host <host>", "listen address", "0.0.0.0")
    .action(async (o: { config: string; redis?: string; failureMode: string; instances: string; region?: string; leaseRefreshMs: string; leaseMs: string; port: number; grpcPort: number; host: string }) => {
      const leaseRefreshMs = Number(o.leaseRefreshMs);
      const leaseMs = Number(o.leaseMs);
      if (!Number.isInteger(leaseRefreshMs) || leaseRefreshMs < 1) throw new UserError(`--lease-refresh-ms is "${o.leaseRefreshMs}"; expected a positive integer`);
      if (!Number.isInteger(leaseMs) || leaseMs <= leaseRefreshMs) throw new UserError(`--lease-ms is "${o.leaseMs}"; expected an integer above --lease-refresh-ms (${leaseRefreshMs})`);
      if (!["local", "fail-open", "fail-closed"].includes(o.failureMode)) throw new UserError(`--failure-mode is "${o.failureMode}"; expected local, fail-open or fail-closed`);
      const instances = Number(o.instances);
      if (!Number.isInteger(instances) || instances < 1) throw new UserError(`--instances is "${o.instances}"; expected an integer ≥ 1`);
      const { startServer } = await import("../../runtime/ratelimit/service/server.js");
      const { ConfigError } = await import("../../runtime/ratelimit/config/schema.js");
      let s;
      try {
        // As deployed, MERIDIAN_HLC_MAX_OFFSET_MS turns on HLC propagation.
        const hlc = (await import("../../runtime/clock/env.js")).hlcNodeFromEnv();
        s = await startServer({ configPath: o.config, redisUrl: o.redis, failureMode: o.failureMode as "local", instances, region: o.region, leaseRefreshMs, leaseMs, port: o.port, grpcPort: o.grpcPort, host: o.host, hlc });
      } catch (err) {
        if (err instanceof ConfigError) throw new UserError(err.message);
        throw err;
      }
      process.stdout.write(`ratelimit: domains ${s.service.domainNames.join(", ")}; http :${s.httpPort}, grpc :${s.grpcPort}, store ${o.redis ? "redis" : "memory"}\n`);
      process.on("SIGHUP", () => {
        try {
          s.reload();
          process.stdout.write("ratelimit: config reloaded\n");
        } catch (err) {
          process.stderr.write(`ratelimit: config rejected, keeping the running one:\n${(err as Error).message}\n`);
        }
      });
      closeOnSignal(() => s.close());
    });
  rl.command("quota")
    .description("serve multi-dimensional quotas (reserve/release, overrides with approval, delegation) over HTTP")
    .requiredOption("-c, --config <yaml>", "quota tree: dimensions, tenants → applications → users with hard/soft limits and owners")
    .option("-p, --port <port>", "HTTP port", port("--port"), 8082)
    .option("--host <host>", "listen address", "0.0.0.0")
    .action(async (o: { config: string; port: number; host: string }) => {
      const { readFileSync } = await import("node:fs");
      const { parseQuotaConfig, buildQuotaTree } = await import("../../runtime/quota/config.js");
      const { buildQuotaHttp } = await import("../../runtime/quota/service.js");
      const { systemClock } = await import("../../runtime/common/clock.js");
      let text: string;
      try {
        text = readFileSync(o.config, "utf8");
      } catch (err) {
        throw new UserError(`cannot read ${o.config}: ${(err as Error).message}`);
      }
      let tree;
      try {
        tree = buildQuotaTree(parseQuotaConfig(text, o.config), systemClock);
      } catch (err) {
        throw new UserError((err as Error).message);
      }
      const app = buildQuotaHttp(tree);
      await app.listen({ port: o.port, host: o.host });
      const address = app.server.address();
      process.stdout.write(`quota: ${tree.dimensions.join(", ")}; http :${typeof address === "object" && address ? address.port : o.port}\n`);
      closeOnSignal(() => app.close());
    });
  rl.command("allocator")
    .description("serve the global allocator: Doorman-style capacity leases over NATS request/reply and HTTP")
    .requiredOption("-c, --config <yaml>", "resources: [{ id, capacity, algorithm: static|proportional|fair, lease_ms, refresh_ms, … }]")
    .option("--nats <url>", "also answer GetCapacity on NATS (e.g. nats://127.0.0.1:4222)")
    .option("--subject <subject>", "NATS subject prefix", "meridian.ratelimit")
    .option("-p, --port <port>", "HTTP port", port("--port"), 8083)
    .option("--host <host>", "listen address", "0.0.0.0")
    .action(async (o: { config: string; nats?: string; subject: string; port: number; host: string }) => {
      const { readFileSync } = await import("node:fs");
      const { parseAllocatorConfig, buildAllocatorHttp } = await import("../../runtime/ratelimit/global/server.js");
      const { GlobalAllocator } = await import("../../runtime/ratelimit/global/allocator.js");
      const { systemClock } = await import("../../runtime/common/clock.js");
      let resources;
      try {
        resources = parseAllocatorConfig(readFileSync(o.config, "utf8"), o.config);
      } catch (err) {
        throw new UserError((err as Error).message);
      }
      const allocator = new GlobalAllocator(resources);
      const app = buildAllocatorHttp(allocator, systemClock);
      await app.listen({ port: o.port, host: o.host });
      let nc: import("nats").NatsConnection | undefined;
      if (o.nats) {
        const { connect } = await import("nats");
        const { serveAllocator } = await import("../../runtime/ratelimit/global/nats.js");
        nc = await connect({ servers: o.nats });
        serveAllocator(nc, o.subject, allocator, systemClock);
      }
      const address = app.server.address();
      process.stdout.write(`allocator: ${resources.map((r) => r.id).join(", ")}; http :${typeof address === "object" && address ? address.port : o.port}${o.nats ? `, nats ${o.subject}.getcapacity` : ""}\n`);
      closeOnSignal(() => Promise.all([app.close(), nc?.drain()]));
    });
  rl.command("validate")
    .description("check a rate limit config and print the limits it defines")
    .requiredOption("-c, --config <yaml>", "envoyproxy/ratelimit config")
    .action(async (o: { config: string }) => {
      const { loadConfigFile } = await import("../../runtime/ratelimit/service/server.js");
      const { ConfigError } = await import("../../runtime/ratelimit/config/schema.js");
      const { describeDomain } = await import("../../runtime/ratelimit/config/describe.js");
      try {
        for (const d of loadConfigFile(o.config)) process.stdout.write(describeDomain(d));
      } catch (err) {
        if (err instanceof ConfigError) throw new UserError(err.message);
        throw err;
      }
    });
}
