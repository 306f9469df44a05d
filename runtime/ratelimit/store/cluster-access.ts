/**
 * How the rate limit service and the global allocator reach a Redis Cluster: its seed nodes, TLS (a CA
 * bundle, the name its certificates carry) and an ACL user's credentials read from files — a mounted
 * Kubernetes Secret, never the config file or the command line. Managed clusters (ElastiCache cluster mode
 * with in-transit encryption and AUTH/RBAC, Memorystore for Redis Cluster, Azure Cache for Redis) need both.
 *
 * `clusterProbe` is the kit's store probe for it: fresh connections to every seed node, PING and
 * `cluster_state:ok`, with a refused password or certificate reported as such (not as "unreachable").
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { ClusterOptions, RedisOptions } from "ioredis";
import { z } from "zod";
import { ConfigFileError, type StoreSpec } from "../../kit/index.js";

export const hostPortSchema = z.string().regex(/^\[?[^\s\]]+\]?:\d{1,5}$/, "expected host:port");

/** TLS towards the cluster; `{}` is TLS verified against the system's CAs under each node's own address. */
export const redisTlsSchema = z
  .object({
    /** PEM CA bundle the nodes' certificates are verified against (default: the system's CAs). */
    caFile: z.string().min(1).optional(),
    /**
     * The name the nodes' certificates carry, when the nodes are reached by address (a cluster announces its
     * nodes by IP). Default: the first seed given by name (ElastiCache's certificates name the configuration
     * endpoint's domain), else each node's own address.
     */
    serverName: z.string().min(1).optional(),
  })
  .strict();

/** An ACL user (Redis 6+ `AUTH username password`) or, without `usernameFile`, the `requirepass`/AUTH token. */
export const redisAuthSchema = z
  .object({
    usernameFile: z.string().min(1).optional(),
    passwordFile: z.string().min(1),
  })
  .strict();

export interface ClusterAccess {
  nodes: readonly string[];
  tls?: z.output<typeof redisTlsSchema> | undefined;
  auth?: z.output<typeof redisAuthSchema> | undefined;
}

export function hostPortOf(s: string): { host: string; port: number } {
  return { host: s.slice(0, s.lastIndexOf(":")).replace(/^\[|\]$/g, ""), port: Number(s.slice(s.lastIndexOf(":") + 1)) };
}

/** A Secret's file: its whole content less the trailing newline an editor or `kubectl create secret --from-file` leaves. */
function secretFile(path: string, key: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigFileError(path, [`${key}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
  const value = text.replace(/\r?\n$/, "");
  if (value === "") throw new ConfigFileError(path, [`${key}: the file is empty`]);
  return value;
}

/** The per-node connection options (TLS, credentials) of `access`, files read now: a bad file fails the start as a config error. */
function nodeOptions(access: ClusterAccess): RedisOptions {
  const out: RedisOptions = {};
  if (access.tls) {
    const ca = access.tls.caFile === undefined ? undefined : secretFile(access.tls.caFile, "redisTls.caFile");
    // A cluster announces its nodes by address; their certificates name the cluster's domain, which a seed given by
    // name (a managed cluster's configuration endpoint) carries: check every node against it unless told otherwise.
    const seed = access.nodes.map((n) => hostPortOf(n).host).find((h) => isIP(h) === 0);
    const servername = access.tls.serverName ?? seed;
    out.tls = { ...(ca ? { ca } : {}), ...(servername ? { servername } : {}) };
  }
  if (access.auth) {
    out.password = secretFile(access.auth.passwordFile, "redisAuth.passwordFile");
    if (access.auth.usernameFile) out.username = secretFile(access.auth.usernameFile, "redisAuth.usernameFile");
  }
  return out;
}

/** The ioredis Cluster options for `access` beyond the caller's own (`redisOptions` are merged under TLS and credentials). */
export function clusterOptions(access: ClusterAccess, redisOptions: RedisOptions = {}): ClusterOptions {
  return {
    redisOptions: { ...redisOptions, ...nodeOptions(access) },
    // With TLS, keep the seed's host name (not its resolved address) so the certificate is checked against it.
    ...(access.tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
  };
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|HOSTNAME_MISMATCH)/;

/** Why a node refused us, in words that say what to fix: the certificate, the credentials, or the network. */
function describeNodeError(node: string, err: Error & { code?: string }, access: ClusterAccess): string {
  const msg = err.message;
  if ((err.code && TLS_CODES.test(err.code)) || /certificate|altnames|ssl|tls/i.test(msg))
    return `${node}: TLS refused: ${msg} (check redisTls.caFile${access.tls?.serverName ? ` and serverName ${access.tls.serverName}` : " and redisTls.serverName"})`;
  if (/^(WRONGPASS|NOAUTH|NOPERM)/.test(msg) || /invalid password|invalid username/i.test(msg))
    return `${node}: credentials refused: ${msg.split("\n")[0]} (check the redisAuth Secret's ${access.auth?.usernameFile ? "username and " : ""}password)`;
  return `${node}: ${msg}`;
}

/** A Redis Cluster answers when every seed node answers PING (over TLS, as our user) and the cluster serves all its slots. */
export function clusterProbe(access: ClusterAccess): StoreSpec {
  const target = `Redis Cluster ${access.nodes.join(",")}${access.tls ? " (TLS)" : ""}`;
  const options = nodeOptions(access);
  return {
    kind: "custom",
    target,
    async check() {
      const { Redis } = await import("ioredis");
      // Fresh connections each time: a probe reports the cluster now, not a client's reconnect state.
      const nodes = access.nodes.map((spec) => {
        const n = new Redis({ ...hostPortOf(spec), ...options, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
        let cause: Error | undefined;
        // connect() rejects with "Connection is closed."; the socket's (or AUTH's) own error says why.
        n.on("error", (e: Error) => (cause ??= e));
        return {
          n,
          async ping() {
            try {
              await n.connect();
              await n.ping();
            } catch (e) {
              const why = cause ?? (e as Error);
              throw new Error(describeNodeError(spec, why, access), { cause: e });
            }
          },
        };
      });
      try {
        await Promise.all(nodes.map((x) => x.ping()));
        const info = String(await nodes[0]!.n.call("CLUSTER", "INFO"));
        if (!/cluster_state:ok/.test(info)) throw new Error(`cluster_state is not ok: ${/cluster_state:(\w+)/.exec(info)?.[1] ?? "unknown"}`);
      } finally {
        for (const x of nodes) x.n.disconnect();
      }
    },
  };
}
