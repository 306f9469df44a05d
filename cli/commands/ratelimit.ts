/**
 * `meridian ratelimit serve|validate|quota|allocator`: run the envoyproxy/ratelimit-compatible rate limit
 * service (RLS v3 gRPC + HTTP with RateLimit headers, on the service kit) from its YAML rules (a file or a
 * directory), check rules and print the limits they define, or run the global allocator (on the kit too).
 */
import type { Command } from "commander";
import { UserError } from "../errors.js";

const port = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`${flag} is "${v}"; expected a port number 0–65535`);
  return n;
};
const int = (flag: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UserError(`${flag} is "${v}"; expected an integer ≥ ${min}`);
  return n;
};
const oneOf =
  <T extends string>(flag: string, values: readonly T[]) =>
  (v: string) => {
    if (!(values as readonly string[]).includes(v)) throw new UserError(`${flag} is "${v}"; expected ${values.join(", ")}`);
    return v as T;
  };

interface ServeFlags {
  config?: string;
  rules?: string;
  mergeDomains?: boolean;
  watch?: boolean;
  redis?: string;
  redisCluster?: string;
  redisPrefix?: string;
  redisTimeoutMs?: number;
  redisTls?: boolean;
  redisTlsCa?: string;
  redisTlsServerName?: string;
  redisUsernameFile?: string;
  redisPasswordFile?: string;
  redisGcpIamToken?: string;
  failureMode?: "unavailable" | "local" | "closed" | "open";
  instances?: number;
  chargePolicy?: "independent" | "atomic";
  maxDescriptors?: number;
  nearLimitRatio?: number;
  globalShadowMode?: boolean;
  responseDynamicMetadata?: boolean;
  localCacheEntries?: number;
  region?: string;
  globalPrefetch?: number;
  port?: number;
  grpcPort?: number;
  host?: string;
}

type ClusterAccessFlags = Pick<ServeFlags, "redisTls" | "redisTlsCa" | "redisTlsServerName" | "redisUsernameFile" | "redisPasswordFile">;

/** TLS and credentials towards a Redis Cluster: the secrets as files (a mounted Secret), never their values on the command line. */
function clusterAccessFlags(c: Command): Command {
  return c
    .option("--redis-tls", "reach the Redis Cluster over TLS, verified against the system's CAs (or --redis-tls-ca)")
    .option("--redis-tls-ca <file>", "PEM CA bundle the Redis Cluster's certificates are verified against (implies --redis-tls)")
    .option("--redis-tls-server-name <name>", "the name the Redis Cluster's certificates carry, when nodes are reached by address (implies --redis-tls)")
    .option("--redis-username-file <file>", "the Redis Cluster's ACL user name, from a file (a mounted Secret)")
    .option("--redis-password-file <file>", "the Redis Cluster's password or AUTH token, from a file (a mounted Secret)");
}

type RedisFlags = Pick<ServeFlags, "redis" | "redisCluster" | "redisPrefix" | "redisGcpIamToken"> & ClusterAccessFlags;

/** The Redis (or Redis Cluster) a command's flags name, with its TLS and credentials: serve's and allocator's overrides alike. */
function redisOverrides(o: RedisFlags) {
  if (o.redisUsernameFile && !o.redisPasswordFile) throw new UserError("--redis-username-file needs --redis-password-file");
  if (o.redisGcpIamToken && o.redisPasswordFile && o.redisPasswordFile !== o.redisGcpIamToken)
    throw new UserError("--redis-gcp-iam-token writes the password file the client reads: give it alone, or the same file as --redis-password-file");
  const tls = o.redisTls || o.redisTlsCa || o.redisTlsServerName ? { caFile: o.redisTlsCa, serverName: o.redisTlsServerName } : undefined;
  const passwordFile = o.redisPasswordFile ?? o.redisGcpIamToken;
  const auth = passwordFile ? { usernameFile: o.redisUsernameFile, passwordFile } : undefined;
  return { redis: o.redis, redisCluster: o.redisCluster?.split(",").filter(Boolean), redisPrefix: o.redisPrefix, redisTls: tls, redisAuth: auth };
}

/** MERIDIAN_HLC_MAX_OFFSET_MS (as deployed, it turns on HLC propagation), a bad value as a UserError. */
async function hlcMaxOffset(): Promise<number | undefined> {
  const { hlcMaxOffsetFromEnv } = await import("../../runtime/clock/env.js");
  try {
    return hlcMaxOffsetFromEnv();
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

/**
 * `--redis-gcp-iam-token FILE` (Memorystore for Redis Cluster with IAM authentication): the pod's Google access token
 * written to FILE before the service starts and before each one expires; the service follows FILE as its password.
 */
async function gcpIamToken(o: RedisFlags): Promise<void> {
  if (!o.redisGcpIamToken) return;
  const { startGcpTokenSource } = await import("../../runtime/ratelimit/store/gcp-token.js");
  const report = (level: "info" | "warn", message: string) => process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg: message })}\n`);
  try {
    await startGcpTokenSource({ file: o.redisGcpIamToken, report });
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

const fraction = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new UserError(`--global-prefetch is "${v}"; expected a fraction in [0, 1]`);
  return n;
};
const ratio = (v: string) => {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new UserError(`--near-limit-ratio is "${v}"; expected a number in (0, 1]`);
  return n;
};

export function register(program: Command): void {
  const rl = program.command("ratelimit").description("rate limiting: the envoyproxy/ratelimit-compatible rate limit service");
  clusterAccessFlags(rl.command("serve"))
    .description("serve Envoy RLS v3 (gRPC), an HTTP API with RateLimit headers, the operator admin API and /metrics")
    .option("--config <file>", "service config, JSON or YAML: rules, redis, failureMode, … and the kit's `server` section")
    .option("-r, --rules <path>", "envoyproxy/ratelimit YAML: a file or a directory of *.yaml (reloaded when it changes)")
    .option("--merge-domains", "merge a domain defined in several files (envoyproxy/ratelimit MERGE_DOMAIN_CONFIG)")
    .option("--no-watch", "do not reload when the rules change on disk")
    .option("--redis <url>", "share counters through Redis (e.g. redis://127.0.0.1:6379/0); default: in memory")
    .option("--redis-cluster <nodes>", "share counters through a Redis Cluster: host:port,host:port,…")
    .option("--redis-prefix <prefix>", "Redis key prefix (default mrl:)")
    .option("--redis-timeout-ms <ms>", "a Redis call slower than this fails and the failure policy decides (default 500)", int("--redis-timeout-ms", 10))
    .option(
      "--failure-mode <mode>",
      "when Redis does not answer: unavailable (gRPC UNAVAILABLE; Envoy's failure_mode_deny decides) | local | closed | open",
      oneOf("--failure-mode", ["unavailable", "local", "closed", "open"] as const),
    )
    .option("--instances <n>", "replicas sharing the Redis (sizes the local fallback share)", int("--instances", 1))
    .option(
      "--charge-policy <policy>",
      "independent (envoyproxy/ratelimit: passing descriptors keep their hits) | atomic (an OVER_LIMIT request charges nothing)",
      oneOf("--charge-policy", ["independent", "atomic"] as const),
    )
    .option("--max-descriptors <n>", "most descriptors one request may carry (default 256)", int("--max-descriptors", 1))
    .option("--near-limit-ratio <r>", "near_limit threshold as a fraction of the limit (default 0.8)", ratio)
    .option("--global-shadow-mode", "answer OK whatever the limits say, counting what would be rejected")
    .option("--response-dynamic-metadata", "return envoyproxy/ratelimit's dynamic metadata (descriptors, rule metadata)")
    .option("--local-cache-entries <n>", "over-limit counters remembered locally (0 disables; default 100000)", int("--local-cache-entries", 0))
    .option("--region <name>", "this replica's region at the global allocator (for `global: true` limits); default: host name")
    .option("--global-prefetch <fraction>", "global limits: budget asked for beyond a request's cost, as a fraction of the limit (default 0.05)", fraction)
    .option("-p, --port <port>", "HTTP port (default 8080)", port("--port"))
    .option("--grpc-port <port>", "gRPC port (default 8081)", port("--grpc-port"))
    .option("--host <host>", "listen address (default 127.0.0.1)")
    .action(async (o: ServeFlags) => {
      if (!o.config && !o.rules) throw new UserError("give the rules: --rules <file or directory> (or `rules:` in --config)");
      if (o.redis && o.redisCluster) throw new UserError("--redis and --redis-cluster are exclusive; give one");
      const maxOffsetMs = await hlcMaxOffset();
      const { runService } = await import("../../runtime/kit/index.js");
      const { ratelimitService } = await import("../../runtime/ratelimit/service/service.js");
      await runService(ratelimitService, {
        command: "meridian ratelimit serve",
        configFile: o.config,
        overrides: {
          server: { port: o.port, host: o.host },
          rules: o.rules,
          mergeDomains: o.mergeDomains,
          watch: o.watch === false ? false : undefined,
          ...redisOverrides(o),
          redisTimeoutMs: o.redisTimeoutMs,
          failureMode: o.failureMode,
          instances: o.instances,
          chargePolicy: o.chargePolicy,
          maxDescriptors: o.maxDescriptors,
          nearLimitRatio: o.nearLimitRatio,
          globalShadowMode: o.globalShadowMode,
          responseDynamicMetadata: o.responseDynamicMetadata,
          localCacheEntries: o.localCacheEntries,
          region: o.region,
          globalPrefetch: o.globalPrefetch,
          grpc: o.grpcPort === undefined ? undefined : { port: o.grpcPort },
          maxOffsetMs,
        },
      });
    });
  rl.command("quota")
    .description("serve multi-dimensional quotas on the service kit: PostgreSQL or embedded state, verified principals, approvals from above, every decision in the proof log")
    .requiredOption("--config <file>", "quota tree (dimensions, authorities, tenants → applications → users with hard/soft limits and owners), postgres or dir, log, and the kit's `server` section")
    .option("--postgres <url>", "PostgreSQL holding usage, overrides and delegations (overrides the file)")
    .option("--data <dir>", "keep them in this directory instead: the embedded store (snapshot + fsynced journal; overrides the file)")
    .option("--replica <url>", "a hot standby of --postgres for follower reads of usage (overrides the file)")
    .option("--log <url>", "proof log base URL (overrides the file)")
    .option("-p, --port <port>", "HTTP port (default 8080)", port("--port"))
    .option("--host <host>", "listen address (default 127.0.0.1)")
    .action(async (o: { config: string; postgres?: string; data?: string; replica?: string; log?: string; port?: number; host?: string }) => {
      if (o.postgres && o.data) throw new UserError("--postgres and --data are alternatives: give one");
      const { runService } = await import("../../runtime/kit/index.js");
      const { quotaService } = await import("../../runtime/quota/service.js");
      await runService(quotaService, {
        command: "meridian ratelimit quota",
        configFile: o.config,
        overrides: { server: { port: o.port, host: o.host }, postgres: o.postgres, dir: o.data, replica: o.replica, log: o.log },
      });
    });
  clusterAccessFlags(rl.command("allocator"))
    .description("serve the global allocator on the service kit: Doorman-style capacity leases over HTTP and NATS request/reply, in memory or shared by replicas through Redis")
    .requiredOption(
      "-c, --config <file>",
      "resources: [{ id, capacity, algorithm: static|proportional|fair, lease_ms, refresh_ms, … }], store, redis, redisPrefix, nats, subject, callers, and the kit's `server` section",
    )
    .option("--store <store>", "where leases live: memory (this process) | redis (shared by every replica on that Redis)", oneOf("--store", ["memory", "redis"] as const))
    .option("--redis <url>", "the Redis of --store redis (e.g. redis://127.0.0.1:6379/0; implies --store redis; overrides the file)")
    .option("--redis-cluster <nodes>", "the Redis Cluster of --store redis: host:port,host:port,… (implies --store redis)")
    .option("--redis-prefix <prefix>", "Redis key prefix; replicas sharing leases use the same one (default mrl:alloc:)")
    .option(
      "--redis-gcp-iam-token <file>",
      "Memorystore IAM auth: write the pod's Google access token (GKE metadata server, or GCE_METADATA_HOST) to <file> now and before each expires, and use it as the Redis Cluster's password",
    )
    .option("--nats <url>", "also answer GetCapacity on NATS (e.g. nats://127.0.0.1:4222; overrides the file)")
    .option("--subject <subject>", "NATS subject prefix (default meridian.ratelimit)")
    .option("-p, --port <port>", "HTTP port (default 8080)", port("--port"))
    .option("--host <host>", "listen address (default 127.0.0.1)")
    .action(
      async (
        o: {
          config: string;
          store?: "memory" | "redis";
          nats?: string;
          subject?: string;
          port?: number;
          host?: string;
        } & RedisFlags,
      ) => {
        // As deployed (MERIDIAN_HLC_MAX_OFFSET_MS), HTTP answers and NATS messages carry the HLC and its epoch; older epochs are refused.
        const maxOffsetMs = await hlcMaxOffset();
        const overrides = redisOverrides(o);
        await gcpIamToken(o);
        const { runService } = await import("../../runtime/kit/index.js");
        const { allocatorService } = await import("../../runtime/ratelimit/global/server.js");
        await runService(allocatorService, {
          command: "meridian ratelimit allocator",
          configFile: o.config,
          overrides: {
            server: { port: o.port, host: o.host },
            store: o.store ?? (o.redis || o.redisCluster ? "redis" : undefined),
            ...overrides,
            nats: o.nats,
            subject: o.subject,
            maxOffsetMs,
          },
        });
      },
    );
  rl.command("validate")
    .description("check envoyproxy/ratelimit rules (a file or directory) and print the limits they define")
    .requiredOption("-r, --rules <path>", "envoyproxy/ratelimit YAML file or directory")
    .option("--merge-domains", "merge a domain defined in several files")
    .action(async (o: { rules: string; mergeDomains?: boolean }) => {
      const { loadConfig } = await import("../../runtime/ratelimit/config/load.js");
      const { ConfigError } = await import("../../runtime/ratelimit/config/schema.js");
      const { describeDomain } = await import("../../runtime/ratelimit/config/describe.js");
      try {
        for (const d of loadConfig(o.rules, o.mergeDomains).parsed) process.stdout.write(describeDomain(d));
      } catch (err) {
        if (err instanceof ConfigError) throw new UserError(err.message);
        throw err;
      }
    });
}
