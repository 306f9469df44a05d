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
import type { Cluster, ClusterOptions, RedisOptions } from "ioredis";
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
    /**
     * How often the files are read again (seconds): a rotated Secret reaches the pod's files within the kubelet's
     * sync period, and every connection opened after the next read authenticates with the new credentials.
     */
    reloadSeconds: z.number().positive().max(3600).default(10),
  })
  .strict();

export interface ClusterAccess {
  nodes: readonly string[];
  tls?: z.output<typeof redisTlsSchema> | undefined;
  auth?: z.input<typeof redisAuthSchema> | undefined;
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
  if (access.auth) Object.assign(out, credentials(access.auth));
  return out;
}

function credentials(auth: NonNullable<ClusterAccess["auth"]>): { username?: string; password: string } {
  const password = secretFile(auth.passwordFile, "redisAuth.passwordFile");
  return auth.usernameFile ? { username: secretFile(auth.usernameFile, "redisAuth.usernameFile"), password } : { password };
}

/**
 * Follow the credentials' files while `client` lives: a rotated Secret (an ElastiCache AUTH token rotated with
 * ROTATE then SET, a new ACL password) replaces the mounted files, and every connection the client opens after
 * the next read — a reconnect, a node found by a slot refresh, a failover's new primary — must use it, else it is
 * refused once the old one is dropped. ioredis reads credentials at each (re)connect from the options the cluster
 * keeps for new nodes and from each node's own, so both are updated in place. Connections already authenticated
 * stay so (Redis checks a password at AUTH only). A reload is reported at info; an unreadable or empty file keeps the
 * last good credentials and is reported at warn, once per distinct problem.
 */
export function followCredentials(client: Cluster, access: ClusterAccess, report: (level: "info" | "warn", message: string) => void): () => void {
  const auth = access.auth;
  if (!auth) return () => undefined;
  let current = JSON.stringify(credentials(auth));
  let problem = "";
  const timer = setInterval(
    () => {
      if (client.status === "end") return clearInterval(timer);
      let next: { username?: string; password: string };
      try {
        next = credentials(auth);
      } catch (e) {
        const message = `Redis credentials not reloaded, keeping the last good ones: ${(e as Error).message}`;
        if (message !== problem) report("warn", (problem = message));
        return;
      }
      problem = "";
      if (JSON.stringify(next) === current) return;
      current = JSON.stringify(next);
      // The options new node connections are made from (ConnectionPool copies the cluster's at construction).
      const pool = (client as unknown as { connectionPool?: { redisOptions?: RedisOptions } }).connectionPool?.redisOptions;
      for (const o of [client.options.redisOptions, pool, ...client.nodes("all").map((n) => n.options)]) if (o) Object.assign(o, next);
      report("info", `Redis credentials reloaded from ${auth.passwordFile}: new connections authenticate with them`);
    },
    (auth.reloadSeconds ?? 10) * 1000,
  );
  timer.unref();
  return () => clearInterval(timer);
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
  nodeOptions(access); // a bad file fails the start as a config error
  return {
    kind: "custom",
    target,
    async check() {
      const { Redis } = await import("ioredis");
      const options = nodeOptions(access); // read now: the Secret may have been rotated since the start
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
