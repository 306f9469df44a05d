/**
 * What each runtime service runs in a region (spec.ts assembles the rest): its `meridian … serve` command line,
 * its config files (model/workloads/config.ts), the secrets it mounts, its readiness probe, the stores it reaches
 * and the durable state it keeps. Store URLs are assembled by Kubernetes from Secret and ConfigMap refs (storeEnv).
 */
import type { EstateSpec } from "../estate.js";
import { allowedCallerIds, callerSpiffeIds, regionIdentity, RUNTIME_SERVICES, runtimeService, spiffeId, type ServiceName } from "../services.js";
import { meshServerSection } from "../security/mesh-identity.js";
import {
  attestServiceConfig,
  clockRegionConfig,
  escrowMapSection,
  mapServiceConfig,
  certchainServiceConfig,
  monitorServiceConfig,
  proofLogConfig,
  quotaServiceConfig,
  regionTimeReference,
  witnessServiceConfig,
} from "./config.js";
import { escrowRegionConfig } from "./escrow-region.js";
import {
  ALLOCATOR_REDIS_SECRET_DIR,
  allocatorServiceConfig,
  allocatorTokenArgs,
  allocatorUrl,
  GKE_METADATA_PORTS,
  rateLimitEstateConfig,
  MANAGED_CLUSTER_ACCESS,
  managedClusterCloud,
  type PortOrRange,
} from "./ratelimit-config.js";
import { CONFIG_DIR, hasWork, HTTP_PORT, SIZING, STATE_DIR, WORKLOAD_OBJECTS, type EnvVar, type WorkloadSpec } from "./workload-shape.js";

const listen = ["--port", String(HTTP_PORT), "--host", "0.0.0.0"];
const secretEnv = (name: string, secret: string, key: string): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });
const configEnv = (name: string, key: string): EnvVar => ({ name, valueFrom: { configMapKeyRef: { name: WORKLOAD_OBJECTS.endpoints, key } } });

/** node-postgres reads PGUSER/PGPASSWORD when the URL names neither, so the password never enters args. */
const POSTGRES_ENV: EnvVar[] = [
  secretEnv("PGUSER", WORKLOAD_OBJECTS.postgresSecret, "username"),
  secretEnv("PGPASSWORD", WORKLOAD_OBJECTS.postgresSecret, "password"),
  configEnv("PGHOST", "postgres-host"),
  configEnv("PGPORT", "postgres-port"),
  configEnv("PGDATABASE", "postgres-database"),
  { name: "MERIDIAN_POSTGRES_URL", value: "postgresql://$(PGHOST):$(PGPORT)/$(PGDATABASE)?sslmode=require" },
];
const REDIS_ENV: EnvVar[] = [secretEnv("MERIDIAN_REDIS_URL", WORKLOAD_OBJECTS.redisSecret, "url")];

/** The environment that assembles a workload's store URLs from Secret and ConfigMap refs (never in clear). */
export function storeEnv(stores: WorkloadSpec["stores"]): EnvVar[] {
  return [...(stores.postgres ? POSTGRES_ENV : []), ...(stores.redis ? REDIS_ENV : []), ...(stores.redisClusterFromSecret ? ALLOCATOR_CLUSTER_ENV : [])];
}
/** A managed cluster's configuration endpoint (host:port), which the kubelet expands into `--redis-cluster`. */
const ALLOCATOR_CLUSTER_ENV: EnvVar[] = [secretEnv("MERIDIAN_ALLOCATOR_REDIS_NODES", WORKLOAD_OBJECTS.allocatorRedisSecret, "nodes")];

/**
 * The catalogued callers of the proof log that append (model/services.ts), each as itself: an audit event it appends
 * names its own SPIFFE ID as the actor (runtime/prooflog/submitters.ts) — except quota's, which name the tenant
 * administrators whose JWTs it verified (never a workload). The monitors and the certificate chain only read.
 */
const LOG_APPENDERS: readonly { service: ServiceName; actors: "self" | "principals" }[] = [
  { service: "escrow", actors: "self" },
  { service: "quota", actors: "principals" },
  { service: "attest", actors: "self" },
  { service: "map", actors: "self" },
];

function proofLogSubmitters(trustDomain: string): { spiffe: string; actors: "self" | "principals" }[] {
  return LOG_APPENDERS.map((a) => ({ spiffe: spiffeId(trustDomain, runtimeService(a.service)), actors: a.actors }));
}

function configPath(service: ServiceName, file: string): string {
  return `${CONFIG_DIR}/${service}/${file}`;
}

export function serviceParts(spec: EstateSpec, regionId: string, name: ServiceName): Pick<WorkloadSpec, "args" | "config" | "secretMounts" | "readiness" | "stores" | "state"> {
  switch (name) {
    case "escrow": {
      // A scheduled sale queues buyers in the waiting room, whose tokens need the estate-wide signing secret.
      const queue = escrowRegionConfig(spec, regionId).skus.some((k) => k.opensAt !== undefined) ? configPath("escrow", "queue") : undefined;
      // Behind its sidecar (model/security/mesh-identity.ts): buyers' and admins' requests must arrive through a
      // catalogued caller (the gateway, the other regions' escrow), which the kit reads from the sidecar's XFCC.
      const escrow = runtimeService("escrow");
      // The transition log's signer key, which keeps the region's log in PostgreSQL across restarts (without it, each
      // incarnation is its own log). A key per region, each in its own cluster's Secret: each region's escrow has its
      // own log (origin meridian-escrow/<region>/<id>), and one estate-wide key would let any one cluster sign
      // checkpoints of every region's log; a region's key changed starts that region's log anew, under the new key.
      const transitions = configPath("escrow", "transitions");
      const cfg = {
        ...escrowRegionConfig(spec, regionId, queue && `${queue}/secret`),
        transitionsKeyFile: `${transitions}/signer.key`,
        callers: allowedCallerIds(spec.pki.trustDomain, "escrow"),
        server: meshServerSection(spec.pki.trustDomain, escrow),
        // Balances published to the verifiable map (off the sale path), while the estate runs it.
        ...(hasWork(spec, "map") ? escrowMapSection() : {}),
        // The ledger primary streams to the replication topology's cross-region read replicas, which are asynchronous:
        // without this the service refuses to start on it. They are read replicas, not an automatic failover target;
        // promoting one is the cross-region failover runbook's step, which loses the replica's lag — the escrow's
        // acknowledged sales in it as every other write (runtime/escrow/README.md, guarantees).
        acceptAsyncStandbys: true,
      };
      return {
        // Everything the service runs with is in its config file (runtime/escrow's schema); the store URL is a secret.
        args: ["escrow", "serve", "--config", configPath("escrow", "escrow.json"), ...listen, "--postgres", "$(MERIDIAN_POSTGRES_URL)"],
        config: { "escrow.json": JSON.stringify(cfg, null, 2) },
        secretMounts: [{ secret: WORKLOAD_OBJECTS.escrowTransitionsSigner, mountPath: transitions }, ...(queue ? [{ secret: WORKLOAD_OBJECTS.escrowQueueSecret, mountPath: queue }] : [])],
        // The service kit's readiness: PostgreSQL answering and the clock trustworthy (and not draining).
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: true },
      };
    }
    case "ratelimit": {
      const cfg = rateLimitEstateConfig(spec);
      const grpc = RUNTIME_SERVICES.find((s) => s.name === "ratelimit")!.ports.find((p) => p.appProtocol === "grpc")!;
      // runtime/ratelimit's service config (ratelimitConfigSchema); the rules are the YAML beside it.
      // Behind its sidecar (model/security/mesh-identity.ts): callers are the mesh peers the sidecar verified. `callers`
      // gates the gRPC check, so it lists every catalogued caller: the gateway (Envoy's rate-limit filter) and the
      // services; `httpCallers` (the HTTP check, whose body names the buckets it charges) and `outcomesCallers` (the
      // reported outcomes) the services alone — as the mesh admits the gateway to neither.
      const ratelimit = runtimeService("ratelimit");
      const regionIds = spec.regions.map((r) => r.id);
      const serviceCallers = [...new Set(ratelimit.callers.filter((c) => "service" in c).flatMap((c) => callerSpiffeIds(spec.pki.trustDomain, c, regionIds)))].sort();
      const { anomaly } = spec.runtime.ratelimit;
      const service = {
        rules: configPath("ratelimit", "config.yaml"),
        region: regionId,
        instances: spec.runtime.replicas,
        maxOffsetMs: spec.time.maxOffsetMs,
        grpc: { port: grpc.port },
        timeReference: regionTimeReference(spec, regionId),
        callers: allowedCallerIds(spec.pki.trustDomain, "ratelimit", regionIds),
        httpCallers: serviceCallers,
        outcomesCallers: serviceCallers,
        // This region's limiter has its own identity (regionIdentity): its sidecar writes that ID as XFCC's By.
        server: meshServerSection(spec.pki.trustDomain, regionIdentity(ratelimit, regionId)),
        // The estate-wide limit is global: its budgets come from the allocator. While it does not answer, each replica
        // spends limit / instances per second of its own, with instances every region's most replicas together: the
        // regions then admit at most twice the limit in a second (the allocator's grants from before, plus that).
        globalAllocator: { url: allocatorUrl(), failureMode: "local", instances: spec.regions.length * spec.runtime.replicas * SIZING.ratelimit.burstFactor },
        ...(anomaly.enabled
          ? { anomaly: { intervalMs: anomaly.intervalMs, halfLifeIntervals: anomaly.halfLifeIntervals, threshold: anomaly.threshold, warmupIntervals: anomaly.warmupIntervals } }
          : {}),
      };
      return {
        args: ["ratelimit", "serve", "--config", configPath("ratelimit", "ratelimit.json"), ...listen, "--redis", "$(MERIDIAN_REDIS_URL)"],
        config: { "ratelimit.json": JSON.stringify(service, null, 2), "config.yaml": cfg.yaml },
        secretMounts: [],
        // The service kit's readiness: rules loaded (and Redis answering, under the default failure policy).
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: true, postgres: false },
      };
    }
    case "prooflog": {
      // Checkpoints commit-wait on the log's clock, measured by its node's chrony through the time agent (runtime/prooflog/commit-wait.ts).
      // In threshold mode the group's public part is a file beside the config (the log reads group.json, as `log serve --witness-threshold` does).
      const { witnessThreshold, ...log } = proofLogConfig(spec);
      const cfg = {
        ...log,
        ...(witnessThreshold && { witnessThreshold: { name: witnessThreshold.name, group: configPath("prooflog", "group.json") } }),
        maxOffsetMs: spec.time.maxOffsetMs,
        timeReference: regionTimeReference(spec, regionId),
        submitters: proofLogSubmitters(spec.pki.trustDomain),
        // Behind its sidecar (model/security/mesh-identity.ts): the submitters are the mesh peers the sidecar verified.
        server: meshServerSection(spec.pki.trustDomain, runtimeService("prooflog")),
      };
      return {
        // Origin and witnesses come from the config file (runtime/prooflog's schema); the key is a mounted secret.
        args: ["log", "serve", "--config", configPath("prooflog", "prooflog.json"), "--postgres", "$(MERIDIAN_POSTGRES_URL)", ...listen, "--key", configPath("prooflog", "signer/signer.key")],
        config: { "prooflog.json": JSON.stringify(cfg, null, 2), ...(witnessThreshold && { "group.json": JSON.stringify(witnessThreshold.group, null, 2) }) },
        secretMounts: [{ secret: WORKLOAD_OBJECTS.prooflogSigner, mountPath: configPath("prooflog", "signer") }],
        // The kit's readiness: the log writable, a checkpoint published, PostgreSQL answering.
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: true },
      };
    }
    case "quota": {
      // The tree, schema, log and identity are in the file (runtime/quota's schema); the store URL is a secret.
      // Its clock is measured by its node's chrony through the time agent, with the estate's max offset (runtime/clock/reference.ts).
      const base = quotaServiceConfig(spec);
      const mesh = meshServerSection(spec.pki.trustDomain, runtimeService("quota"));
      const cfg = { ...base, maxOffsetMs: spec.time.maxOffsetMs, timeReference: regionTimeReference(spec, regionId), server: { ...mesh, auth: { ...base.server?.auth, ...mesh.auth } } };
      return {
        args: ["ratelimit", "quota", "--config", configPath("quota", "quota.json"), ...listen, "--postgres", "$(MERIDIAN_POSTGRES_URL)"],
        config: { "quota.json": JSON.stringify(cfg, null, 2) },
        secretMounts: [],
        // The kit's readiness: PostgreSQL answering and the writer lock held.
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: true },
      };
    }
    case "attest": {
      // Runtime/attest's config plus the kit's mesh identity (revocation is an operator route); the key is a mounted
      // secret, the registry's PostgreSQL URL a flag the kubelet expands from the pod's env.
      const cfg = { ...attestServiceConfig(spec, regionId, configPath("attest", "signer/signer.key")), server: meshServerSection(spec.pki.trustDomain, runtimeService("attest")) };
      return {
        args: ["attest", "serve", "--config", configPath("attest", "attest.json"), ...listen, "--postgres", "$(MERIDIAN_POSTGRES_URL)"],
        config: { "attest.json": JSON.stringify(cfg, null, 2) },
        secretMounts: [{ secret: WORKLOAD_OBJECTS.attestSigner, mountPath: configPath("attest", "signer") }],
        // The kit's readiness: the registry's PostgreSQL answering (the registry caught up from the log before it listens).
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: true },
      };
    }
    case "map": {
      // Maps, log and writers in the file (runtime/vmap's schema); the store URL is a secret, as for the others.
      const cfg = { ...mapServiceConfig(spec), server: meshServerSection(spec.pki.trustDomain, runtimeService("map")) };
      return {
        args: ["map", "serve", "--config", configPath("map", "map.json"), ...listen, "--postgres", "$(MERIDIAN_POSTGRES_URL)"],
        config: { "map.json": JSON.stringify(cfg, null, 2) },
        secretMounts: [],
        // The kit's readiness: every map restored from its store and caught up from the log.
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: true },
      };
    }
    case "allocator": {
      // Its config file (runtime/ratelimit/global/server.ts's schema) plus the kit's mesh identity; the Redis URL is a
      // secret the kubelet expands into `--redis`, which puts the budgets in Redis (store: redis).
      // With a Redis Cluster in the stack, the config names its nodes and neither the secret URL nor its env is rendered.
      // Its TLS and credentials are files of the Secret meridian-allocator-redis, mounted beside the config.
      const cfg = { ...allocatorServiceConfig(spec), server: meshServerSection(spec.pki.trustDomain, runtimeService("allocator")) };
      const cluster = spec.runtime.ratelimit.allocatorRedisCluster;
      const store = cluster?.managed ? ["--redis-cluster", "$(MERIDIAN_ALLOCATOR_REDIS_NODES)", ...allocatorTokenArgs(spec)] : cluster ? [] : ["--redis", "$(MERIDIAN_REDIS_URL)"];
      const ports: PortOrRange[] = cluster?.managed
        ? [...MANAGED_CLUSTER_ACCESS[managedClusterCloud(spec)].nodePorts, ...(allocatorTokenArgs(spec).length ? GKE_METADATA_PORTS : [])]
        : [...new Set((cluster?.nodes ?? []).map((n) => Number(n.slice(n.lastIndexOf(":") + 1))))].sort((a, b) => a - b);
      return {
        args: ["ratelimit", "allocator", "--config", configPath("allocator", "allocator.json"), ...listen, ...store],
        config: { "allocator.json": JSON.stringify(cfg, null, 2) },
        secretMounts: cluster && (cluster.managed || cluster.auth !== "none" || cluster.ca) ? [{ secret: WORKLOAD_OBJECTS.allocatorRedisSecret, mountPath: ALLOCATOR_REDIS_SECRET_DIR }] : [],
        // The kit's readiness: Redis answering (the store:redis probe, on a Cluster every node and all slots, and this process's connection).
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: cluster ? { redis: false, postgres: false, redisCluster: ports, ...(cluster.managed ? { redisClusterFromSecret: true } : {}) } : { redis: true, postgres: false },
      };
    }
    case "monitor": {
      // The log's key, witness policy and threshold group, and the other regions' monitors as peers: all in the file
      // (runtime/prooflog/monitor's schema); the group's public part is a file beside it, as for the log.
      const monitor = monitorServiceConfig(spec, regionId, configPath("monitor", "group.json"));
      if (monitor === null) throw new Error("monitor: the stack names no verifier key for the log (meridian:runtime.prooflog.verifierKey)");
      const group = proofLogConfig(spec).witnessThreshold?.group;
      // Its evidence and last verified checkpoint outlive the pod (a claim per pod): a restarted monitor still alerts on
      // what it saw and refuses a log that rolled back while it was down.
      const cfg = { ...monitor, stateFile: `${STATE_DIR}/monitor/state.json`, server: meshServerSection(spec.pki.trustDomain, runtimeService("monitor")) };
      return {
        args: ["log", "monitor", "--config", configPath("monitor", "monitor.json"), ...listen],
        config: { "monitor.json": JSON.stringify(cfg, null, 2), ...(monitor.threshold && group && { "group.json": JSON.stringify(group, null, 2) }) },
        secretMounts: [],
        // The kit's readiness: listening (a stale or failing monitor stays up to serve its evidence; its metrics alert).
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: false },
        state: { size: "1Gi" },
      };
    }
    case "witness": {
      // Its keys are a mounted Secret (the signer key and the DKG share); the log's key and the pinned group are in the
      // files (runtime/prooflog/witness's schema), the group's public part beside the config, as for the log.
      const signer = configPath("witness", "signer");
      const cfg = witnessServiceConfig(spec, regionId, {
        key: `${signer}/signer.key`,
        group: configPath("witness", "group.json"),
        share: `${signer}/share.json`,
        next: configPath("witness", "next-group.json"),
      });
      if (cfg === null) throw new Error(`witness: the stack deploys no witness in ${regionId} (meridian:runtime.prooflog.witnesses)`);
      const { group, next } = spec.runtime.prooflog.witnessThreshold ?? {};
      return {
        args: ["log", "witness", "--config", configPath("witness", "witness.json"), ...listen],
        config: {
          "witness.json": JSON.stringify({ ...cfg, server: meshServerSection(spec.pki.trustDomain, runtimeService("witness")) }, null, 2),
          ...(cfg.threshold && group && { "group.json": JSON.stringify(group, null, 2) }),
          ...(cfg.threshold?.next && next && { "next-group.json": JSON.stringify(next, null, 2) }),
        },
        secretMounts: [{ secret: WORKLOAD_OBJECTS.witnessSigner, mountPath: signer }],
        // The kit's readiness: listening, its state read and its share checked against the group's commitments.
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: false },
        // What it cosigned per log outlives the pod: a restarted witness still refuses a checkpoint that rolls back.
        state: { size: "1Gi" },
      };
    }
    case "certchain": {
      // The committee (the stack's pinned witness group) beside the config; issuer or follower by region, all in the file
      // (runtime/certchain/service.ts's schema). Nothing secret: certificates are signed by the witnesses' shares.
      const cfg = certchainServiceConfig(spec, regionId, configPath("certchain", "group.json"), configPath("certchain", "next-group.json"));
      const next = cfg && "issue" in cfg && cfg.issue.next ? spec.runtime.prooflog.witnessThreshold!.next : undefined;
      if (cfg === null) throw new Error("certchain: the stack's log is not signed by a threshold group of witnesses the estate deploys (meridian:runtime.prooflog)");
      return {
        args: ["cert", "serve", "--config", configPath("certchain", "certchain.json"), ...listen],
        config: {
          "certchain.json": JSON.stringify({ ...cfg, server: meshServerSection(spec.pki.trustDomain, runtimeService("certchain")) }, null, 2),
          "group.json": JSON.stringify(spec.runtime.prooflog.witnessThreshold!.group, null, 2),
          // The issuer's hand-over target during a rotation; followers need none (the old group signs the hand-over).
          ...(next && { "next-group.json": JSON.stringify(next, null, 2) }),
        },
        secretMounts: [],
        // The kit's readiness: listening, its chain replayed and re-verified (a failing round stays up to serve; its metrics alert).
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: false },
        // The chain outlives the pod: a restarted issuer continues at the next height, never re-issuing one.
        state: { size: "1Gi" },
      };
    }
    case "clock": {
      const cfg = { ...clockRegionConfig(spec, regionId), server: meshServerSection(spec.pki.trustDomain, runtimeService("clock")) };
      return {
        // Region, max offset, skew thresholds and the node time agent: all in the file (runtime/clock's schema).
        args: ["time", "serve", "--config", configPath("clock", "clock.json"), ...listen],
        config: { "clock.json": JSON.stringify(cfg, null, 2) },
        secretMounts: [],
        // The kit's readiness: out of the Service while strong operations are refused (frozen skew, ε beyond
        // its bound, a forward clock jump).
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: false },
        // The HLC's persisted wall-time upper bound (clock.json's dataDir) must outlive the pod: a killed,
        // evicted or rescheduled pod then waits only until its clock passes the bound, and a clock that went
        // backwards past it refuses to start. An emptyDir dies with the pod; hostPath is per node and
        // forbidden in the restricted runtime namespace. A volume per pod: a StatefulSet's claim.
        state: { size: "1Gi" },
      };
    }
  }
}
