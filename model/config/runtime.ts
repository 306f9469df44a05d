/**
 * Runtime services deployed onto every regional cluster: escrow, rate limiting, proof log, clock, quota and the
 * attestation verifier.
 * Each service issue owns its block.
 */
import { z } from "zod";
import { azureSubnetName, nonNegative, port, positive } from "./vocabulary.js";
import { escrowSchema } from "./escrow.js";

/** Managed Redis per region (ElastiCache / Memorystore / Azure Cache for Redis), always on private networking. */
const redisSchema = z
  .object({
    aws: z
      .object({
        nodeType: z.string().min(1).default("cache.r7g.large"),
        replicasPerNodeGroup: z.number().int().min(0).max(5).default(1),
        /** ElastiCache subnet group (private subnets) of this name in every AWS region the estate uses. */
        subnetGroupName: z.string().min(1).default("meridian-cache"),
        securityGroupIds: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    gcp: z
      .object({ tier: z.enum(["BASIC", "STANDARD_HA"]).default("STANDARD_HA"), memorySizeGb: z.number().int().min(1).default(5) })
      .strict()
      .prefault({}),
    azure: z
      .object({
        family: z.enum(["C", "P"]).default("P"),
        capacity: z.number().int().min(0).max(6).default(1),
        /** The subnet of the region's VNet (meridian:replication.network.azure) for the cache's private endpoint. */
        privateEndpointSubnetName: azureSubnetName.default("private-endpoints"),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

const hostPort = z.string().regex(/^\[?[^\s\]]+\]?:\d{1,5}$/, "expected host:port");

/**
 * A managed allocator cluster's settings, per cloud: the component builds it on the ledger region's cloud and reads that
 * cloud's settings only (stacks/semantic.ts refuses settings given for another cloud).
 */
const managedClusterSchema = z
  .object({
    aws: z
      .object({
        nodeType: z.string().min(1).default("cache.r7g.large"),
        /** Node groups (shards): the cluster's hash slots are spread over them. */
        shards: z.number().int().min(1).max(500).default(3),
        /** Replicas of each shard (ElastiCache's default limit is 5); failover is automatic in cluster mode. */
        replicasPerShard: z.number().int().min(0).max(5).default(1),
      })
      .strict()
      .prefault({}),
    gcp: z
      .object({
        /** A Memorystore for Redis Cluster node type (the provider rule gcp-redis-cluster-shape lists them). */
        nodeType: z.string().min(1).default("REDIS_HIGHMEM_MEDIUM"),
        shards: z.number().int().min(1).default(3),
        /** Replicas per shard, spread over the region's zones; failover is automatic. */
        replicasPerShard: z.number().int().min(0).default(1),
        /** The replication VPC's subnetwork (in the ledger region) the cluster's PSC endpoints take addresses from. */
        pscSubnetwork: z.string().min(1).default("meridian-redis-psc"),
      })
      .strict()
      .prefault({}),
    azure: z
      .object({
        /** An Azure Managed Redis SKU (Balanced_B5, MemoryOptimized_M10, ComputeOptimized_X5, …). */
        sku: z.string().min(1).default("Balanced_B5"),
        /** The subnet of the region's VNet (meridian:replication.network.azure) for the cluster's private endpoint. */
        privateEndpointSubnetName: azureSubnetName.default("private-endpoints"),
      })
      .strict()
      .prefault({}),
  })
  .strict();
/** The settings a stack gets when it gives none (what a cloud's settings are compared against). */
export const MANAGED_CLUSTER_DEFAULTS = managedClusterSchema.parse({});

/**
 * The allocator's Redis Cluster. Its credentials (and a private CA) are keys of the Secret `meridian-allocator-redis`
 * mounted into the allocator's pods: `password`, `username` with `auth: user`, `ca.crt` with `ca: true` — created by
 * operators for `nodes`, by the component for `managed` (with `nodes`, the configuration endpoint, for the args).
 */
const allocatorRedisClusterSchema = z.union([
  z
    .array(hostPort)
    .min(1)
    .transform((nodes) => ({ nodes, managed: undefined, tls: false, serverName: undefined, ca: false, auth: "none" as const })),
  z
    .object({
      /** An existing cluster's seed nodes. */
      nodes: z.array(hostPort).min(1).optional(),
      /**
       * Or a cluster the component creates in the ledger region, where the allocator runs, on that region's cloud
       * (settings given for another cloud are refused): on AWS an ElastiCache replication group in cluster mode (TLS
       * in transit, an AUTH token, encrypted at rest) in the managed Redis's subnet group and security groups
       * (runtime.ratelimit.redis.aws); on GCP a Memorystore for Redis Cluster reached through Private Service Connect
       * in the replication VPC (TLS with its own CA; IAM authentication with the allocator's own token; standbys off GCP refused); on Azure
       * an Azure Managed Redis cluster (OSS cluster policy, TLS, access keys) behind a private endpoint.
       */
      managed: managedClusterSchema.optional(),
      tls: z.boolean().default(true),
      /** The name the nodes' certificates carry, when they are reached by address. */
      serverName: z.string().min(1).optional(),
      /** The Secret carries `ca.crt`, the CA the nodes' certificates chain to (default: the system's CAs). */
      ca: z.boolean().default(false),
      /** `password`: an AUTH token (`requirepass`); `user`: an ACL user (`username` and `password`); `none`. */
      auth: z.enum(["none", "password", "user"]).default("password"),
    })
    .strict()
    .superRefine((c, ctx) => {
      if (!c.nodes === !c.managed) ctx.addIssue({ code: "custom", path: ["nodes"], message: "give nodes (an existing cluster) or managed (one the component creates), exactly one" });
      if (c.managed && (!c.tls || c.auth !== "password" || c.ca || c.serverName))
        ctx.addIssue({ code: "custom", path: ["managed"], message: "a managed cluster is reached over TLS as its cloud requires (leave tls, auth, ca and serverName unset: the component sets them)" });
      if (!c.tls && (c.ca || c.serverName)) ctx.addIssue({ code: "custom", path: ["tls"], message: "ca and serverName are TLS settings: set tls: true" });
    }),
]);

/** A C2SP tlog-witness the log asks to cosign: its base URL and cosignature/v1 verifier key (named `name`). */
const witnessSchema = z
  .object({
    name: z.string().min(1),
    url: z.string().regex(/^https?:\/\//, "expected an http(s) URL"),
    vkey: z.string().regex(/^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/, "expected a note verifier key <name>+<hash>+<base64>"),
  })
  .strict()
  .refine((w) => w.vkey.startsWith(`${w.name}+`), { message: "the verifier key's name must be the witness name", path: ["vkey"] });

/**
 * A witness the estate deploys (`meridian log witness`, catalogue entry `witness`) in one of its regions: its URL is
 * that region's witness Service, its signer key and threshold share are Secrets the operator creates from the
 * ceremony's output (docs/workloads.md#witnesses); only its public verifier key is in the stack.
 */
const deployedWitnessSchema = z
  .object({
    name: z.string().min(1),
    region: z.string().min(1),
    vkey: z.string().regex(/^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/, "expected a note verifier key <name>+<hash>+<base64>"),
  })
  .strict()
  .refine((w) => w.vkey.startsWith(`${w.name}+`), { message: "the verifier key's name must be the witness name", path: ["vkey"] });

const hex96 = z.string().regex(/^[0-9a-f]{192}$/, "expected a 96-byte BLS12-381 G2 point as 192 lower-case hex digits");

/**
 * The public part of the witnesses' threshold group: `meridian tbls dkg`'s group.json, verbatim (t, n, the Feldman
 * commitments, the group key). The log combines the witnesses' partial signatures under it (runtime/prooflog
 * witness/threshold.ts); the shares stay with the witnesses.
 */
const thresholdGroupSchema = z
  .object({ scheme: z.literal("meridian-tbls/v1"), t: z.number().int().min(1), n: z.number().int().min(1), groupPublicKey: hex96, commitments: z.array(hex96).min(1) })
  .strict()
  .refine((g) => g.commitments.length === g.t && g.commitments[0] === g.groupPublicKey && g.t <= g.n, "expected t commitments, the first being the group key, and t <= n");

/** Container defaults a tenant namespace's LimitRange sets (cores, GiB). */
const containerSize = z.object({ cpu: positive, memory: positive }).strict();

/**
 * A tenant's multi-dimensional quota on each regional cluster: the quota service's tree (runtime/quota)
 * and the tenant namespace's ResourceQuota / LimitRange (model/workloads/tenants.ts) come from it.
 * cpu in cores, memory and storage in GiB, ingressKbps / egressKbps in KiB/s (Envoy's limit_kbps: each tenant
 * pod's sidecar throttles HTTP bodies to and from the tenant's services, and of the calls they make — model/workloads/
 * tenant-bandwidth.ts), the rest are object counts.
 */
const tenantQuotaSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/, "expected a DNS label of at most 40 characters (the namespace is tenant-<id>)"),
    /** Principals (SPIFFE IDs or JWT subjects) who administer the tenant at the quota service. */
    owners: z.array(z.string().min(1)).default([]),
    hard: z
      .object({
        cpu: positive,
        memory: positive,
        storage: nonNegative.optional(),
        pods: z.number().int().nonnegative().optional(),
        services: z.number().int().nonnegative().optional(),
        persistentvolumeclaims: z.number().int().nonnegative().optional(),
        ingressKbps: z.number().int("expected whole KiB/s (Envoy's limit_kbps is an integer)").min(1, "expected at least 1 KiB/s (Envoy refuses a limit of 0)").optional(),
        egressKbps: z.number().int("expected whole KiB/s (Envoy's limit_kbps is an integer)").min(1, "expected at least 1 KiB/s (Envoy refuses a limit of 0)").optional(),
      })
      .strict(),
    container: z
      .object({ defaultRequest: containerSize.default({ cpu: 0.1, memory: 0.125 }), default: containerSize.default({ cpu: 0.5, memory: 0.5 }) })
      .strict()
      .prefault({}),
  })
  .strict();

export const runtimeSchema = z
  .object({
    image: z.string().min(1).default("ghcr.io/meridian/runtime:latest"),
    replicas: z.number().int().min(1).default(2),
    escrow: escrowSchema,
    ratelimit: z
      .object({
        domain: z.string().default("meridian"),
        /** The estate-wide limit; each region enforces its capacity-weighted share (model/workloads). */
        requestsPerSecond: positive.default(1000),
        /** The managed Redis each region's rate-limit counters live in (issue 10, workloads). */
        redis: redisSchema,
        /**
         * The global allocator's per-window budgets in a Redis Cluster instead of the ledger region's managed Redis:
         * rendered into the allocator's config (`redisCluster`, `redisTls`, `redisAuth`), its pods' egress opened to
         * its ports. `[host:port, …]` names an existing cluster reached in plaintext without a password; the object
         * form names one (`nodes`) or has the component create it (`managed`), TLS and credentials by default.
         */
        allocatorRedisCluster: allocatorRedisClusterSchema.optional(),
        /**
         * Anomaly detection on each rule's request rate (runtime/ratelimit/adaptive/anomaly.ts): spikes and drops
         * beyond `threshold` deviations of a baseline with this half-life; alerts page on repeated ones.
         */
        anomaly: z
          .object({
            enabled: z.boolean().default(true),
            intervalMs: z.number().int().min(100).max(3_600_000).default(10_000),
            halfLifeIntervals: z.number().min(1).max(100_000).default(30),
            threshold: positive.default(6),
            warmupIntervals: z.number().int().min(0).max(100_000).default(30),
            /** Anomalous intervals within `alertWindowMinutes` that page (model/workloads/alerts.ts). */
            alertIntervals: z.number().int().min(1).default(3),
            alertWindowMinutes: z.number().int().min(1).max(1_440).default(5),
          })
          .strict()
          .refine((a) => a.alertIntervals * a.intervalMs <= a.alertWindowMinutes * 60_000, {
            message: "alertIntervals intervals do not fit in alertWindowMinutes: the alert could never fire",
            path: ["alertIntervals"],
          })
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /**
     * GB a month each region sends each other region through the peer's east-west gateway, per service whose calls
     * cross regions by design (model/mesh/multi-primary.ts REGION_ADDRESSED: escrow forwards an operation on a
     * reservation to the region holding it): a call's request counts for the caller's region, its response for the
     * callee's. `meridian cost` prices it as egress on the same meters as replication (model/cost/east-west.ts). The
     * default is an estimate (about a million forwarded calls of 1 KB each way); measure it with Istio's
     * istio_request_bytes and istio_response_bytes by source_cluster and destination_cluster (docs/cost.md).
     * The proof log monitors' gossip (one checkpoint note, well under 1 KB with its HTTP exchange, per peer and
     * interval) is about 0.2 GB a month per pair of regions, and the log's add-checkpoint calls to each deployed witness
     * (a checkpoint, a consistency proof and the cosignature back, per checkpoint) about as much: unpriced unless set.
     * The certificate chain's followers read the ledger region's certificates (about 1 KB each, one per 30 s round) and its
     * issuer asks each deployed witness to sign one: well under 0.1 GB a month per region, unpriced unless set.
     */
    eastWestGBPerMonth: z
      .object({ escrow: nonNegative.default(1), monitor: nonNegative.default(0), witness: nonNegative.default(0), certchain: nonNegative.default(0) })
      .strict()
      .prefault({}),
    prooflog: z
      .object({
        origin: z.string().min(1).default("meridian.example/log"),
        /**
         * The log's note verifier key (`meridian note keygen --name <origin>` prints it beside the signer key the
         * operator puts in the log's Secret). Public: the monitors check every checkpoint against it, so without it
         * no monitor is deployed.
         */
        verifierKey: z
          .string()
          .regex(/^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/, "expected a note verifier key <origin>+<hash>+<base64>")
          .optional(),
        /**
         * Witness names, or witnesses the log asks to cosign every checkpoint: outside ones `{ name, url, vkey }`, or
         * ones the estate deploys `{ name, region, vkey }` (at most one per region; the log's verifierKey is needed).
         */
        witnesses: z.array(z.union([z.string().min(1), witnessSchema, deployedWitnessSchema])).default([]),
        /**
         * Threshold mode: the cosigning witnesses hold shares of one BLS key (`meridian tbls dkg`), and the log
         * publishes only checkpoints whose partial signatures combined into one signature under `group`'s key,
         * named `name` in the note. Clients then check one 48-byte signature (`meridian log verify --threshold`).
         */
        witnessThreshold: z
          .object({
            name: z.string().regex(/^[^\s+]+$/, "a note key name: no spaces or '+'"),
            group: thresholdGroupSchema,
            /**
             * Rotation of the certificate chain to a new group key (a new `meridian tbls dkg` ceremony among the deployed
             * witnesses): its group.json, public parts only. Rendered into every witness's config (`threshold.next`: the
             * only group its share signs a hand-over to) and the issuer's (`issue.next`): the issuer's next certificate
             * names it, signed by `group`. Once the followers hold that certificate, the operator makes it `group` (new
             * shares in the witnesses' Secrets) and removes `next` (docs/proofs.md, Certificate chains and finality).
             */
            next: thresholdGroupSchema.optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({})
      .superRefine((p, ctx) => {
        if (p.verifierKey !== undefined && !p.verifierKey.startsWith(`${p.origin}+`))
          ctx.addIssue({ code: "custom", message: `the verifier key's name must be the log's origin ${p.origin}`, path: ["verifierKey"] });
        const cosigning = p.witnesses.filter((w) => typeof w !== "string").length;
        const deployed = p.witnesses.flatMap((w, i) => (typeof w !== "string" && "region" in w ? [{ region: w.region, i }] : []));
        if (deployed.length > 0 && p.verifierKey === undefined)
          ctx.addIssue({ code: "custom", message: "a witness the estate deploys checks the log's signature: set the log's verifierKey", path: ["verifierKey"] });
        for (const d of deployed)
          if (deployed.some((o) => o.region === d.region && o.i < d.i))
            ctx.addIssue({ code: "custom", message: `one deployed witness per region: ${d.region} already has one`, path: ["witnesses", d.i, "region"] });
        const next = p.witnessThreshold?.next;
        if (next && next.groupPublicKey === p.witnessThreshold!.group.groupPublicKey)
          ctx.addIssue({
            code: "custom",
            message: "the next group is the group in force (same group key): a rotation needs a new key from a new ceremony; resharing keeps the key and needs no rotation",
            path: ["witnessThreshold", "next", "groupPublicKey"],
          });
        if (next && next.t > cosigning)
          ctx.addIssue({
            code: "custom",
            message: `the next group needs ${next.t} partial signatures; only ${cosigning} cosigning witnesses are configured to hold its shares`,
            path: ["witnessThreshold", "next", "t"],
          });
        if (p.witnessThreshold && p.witnessThreshold.group.t > cosigning)
          ctx.addIssue({
            code: "custom",
            message: `the group needs ${p.witnessThreshold.group.t} partial signatures; only ${cosigning} cosigning witnesses (with url and vkey) are configured`,
            path: ["witnessThreshold", "group", "t"],
          });
      }),
    quota: z
      .object({
        /** Principals above every tenant: they approve tenants' increases (runtime/quota). */
        authorities: z.array(z.string().min(1)).default([]),
        /**
         * The issuer whose JWTs name principals at the quota service (besides mTLS peers). Its keys over https: the kit
         * fetches plain http only from loopback (whoever is on the path could swap the keys and mint any principal).
         */
        identity: z
          .object({ issuer: z.url(), audience: z.string().min(1), jwksUri: z.url({ protocol: /^https$/, error: "expected an https URL: the issuer's keys must not travel in clear" }) })
          .strict()
          .optional(),
        tenants: z.array(tenantQuotaSchema).default([]),
      })
      .strict()
      .prefault({})
      .refine((q) => new Set(q.tenants.map((t) => t.id)).size === q.tenants.length, { message: "tenant ids must be unique", path: ["tenants"] }),
    /**
     * The attestation verifier (runtime/attest) each region runs: the TPM nodes whose attestation key (AK, PEM as
     * `tpm2_readpublic -f pem` writes it) and reference PCR values (`meridian attest reference`) the operator
     * endorses, how long a nonce lives, and how old an accepted result may be for SPIRE to admit the node.
     */
    attest: z
      .object({
        nonceTtlSeconds: z.number().int().min(1).max(86_400).default(300),
        maxResultAgeSeconds: z.number().int().min(1).max(86_400).default(600),
        nodes: z
          .record(
            z.string().regex(/^[A-Za-z0-9._:/-]{1,200}$/, "expected a node id (letters, digits, . _ : / -)"),
            z
              .object({
                ak: z.string().includes("BEGIN PUBLIC KEY", { message: "expected the AK's public key in PEM (tpm2_readpublic -f pem)" }),
                reference: z
                  .partialRecord(
                    z.enum(["sha1", "sha256", "sha384", "sha512"]),
                    z.record(z.string().regex(/^(?:[0-9]|1[0-9]|2[0-3])$/, "expected a PCR index 0-23"), z.string().regex(/^(?:[0-9a-fA-F]{2})+$/, "expected hex")),
                  )
                  .refine((r) => Object.values(r).some((bank) => Object.keys(bank ?? {}).length > 0), "names no PCR: an empty reference would accept any platform state"),
              })
              .strict(),
          )
          .default({}),
        /**
         * SPIRE's `plugin_checksum` for the meridian_attest plugins in the runtime image this stack pins: the hex
         * SHA-256 lines of the image's /app/spire-plugins/SHA256SUMS (runtime/attest/spire-plugin/build.sh writes it;
         * the build is reproducible). SPIRE refuses to load a binary that differs. The policy pack refuses a spire release
         * loading a plugin without one (meridian-spire-plugin-checksum); `meridian local` runs no SPIRE and needs none.
         */
        /**
         * The GID owning the nodes' /dev/tpmrm0 (tpm2-tss's udev rule: group `tss`, mode 0660; 59 on Fedora/SLES, the
         * node image's /etc/group elsewhere). The device plugin lets SPIRE's agent past the device cgroup, but the agent
         * runs as UID/GID 1000, so the file mode still decides: with it, the agent pod gets it as a supplemental group.
         * Unset, the nodes' container runtime must hand devices to the pod's user (containerd's and CRI-O's
         * `device_ownership_from_security_context = true`).
         */
        tpmGroup: z.number().int().min(1).max(2_147_483_647).optional(),
        pluginChecksums: z
          .object({ server: z.string().regex(/^[0-9a-f]{64}$/, "expected a hex SHA-256"), agent: z.string().regex(/^[0-9a-f]{64}$/, "expected a hex SHA-256") })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    /** Ports used by `meridian local` on loopback. */
    local: z
      .object({ basePort: port.default(7100), dnsPort: port.default(8053), dashboardPort: port.default(7000) })
      .strict()
      .prefault({}),
  })
  .strict();

export type RuntimeConfig = z.output<typeof runtimeSchema>;
