/**
 * The quota service on the kit (`meridian ratelimit quota --config quota.yaml`): multi-dimensional quotas
 * over tenant → application → user, persistent in PostgreSQL (or the embedded store, `dir`), with every override, approval, rejection,
 * delegation and revocation appended to the proof log inside the transaction that stores it — so nothing
 * is acknowledged that the log does not hold.
 *
 * The caller is the verified identity only (mTLS peer SPIFFE ID, or a JWT's `sub` verified against the
 * keys in `server.auth.jwt`); no header names a principal. Authority is per node: owners administer their
 * node and below; approving an override needs someone above the node (tree.ts `isAbove`).
 *
 *   GET  /v1/quota/nodes/:id                          chain, usage, effective limits
 *   GET  /v1/quota/nodes/:id/usage                    usage from PostgreSQL, standby or primary by staleness (usage-reads.ts)
 *   POST /v1/quota/nodes/:id/reserve|release          {amounts}   (an authority over the node)
 *   GET  /v1/quota/conflicts
 *   POST /v1/quota/overrides                          {node, dimension, hard, reason, expires_at, emergency?}
 *   POST /v1/quota/overrides/:id/approve|reject|revoke
 *   GET  /v1/quota/overrides
 *   POST /v1/quota/delegations                        {from, to, kind, amounts, owners}
 *   POST /v1/quota/delegations/:id/revoke             → revoked delegations and the usage reclaimed
 *   GET  /v1/quota/delegations
 *   POST /v1/quota/fair/drf|max-min                   DRF / weighted max-min over given demands (pure)
 *
 * Mutations are serialised: each runs on the in-memory domain, its changed rows are committed (with the
 * audit append), and only then answered; a failed commit rebuilds the domain from the last committed state.
 * Each commit is stamped with the service's HLC and closes that timestamp; with a `replica`, an idle service
 * closes one every `closedTimestampIntervalMs`, so the hot standby's watermark stays fresh. Write responses carry a
 * consistency token (the kit's `x-meridian-consistency`) that later reads use as their floor.
 *
 * With `map` set, every node's usage and effective limits are published to that verifiable map service (map
 * `quota`, map-publisher.ts) after the commits that change them — batched, off the decision path: a map outage
 * delays the map, never a quota decision.
 */
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { ClockNode, hlcParts, hlcRequireEpochFromEnv, referenceSync, StalenessPolicy, stalenessPolicySchema, TimeMetrics, timeReferenceSchema, type Timestamp } from "../clock/index.js";
import { PostgresFollowerReads } from "../clock/services.js";
import { defineService, HttpError, parseInput, PRINCIPAL_RULE, wellFormedPrincipal, type Identity } from "../kit/index.js";
import { AuditTrail, LogClient, monotonicTimestamps } from "../prooflog/index.js";
import { quotaTreeKeys } from "./config.js";
import { dominantResourceFairness } from "./drf.js";
import { QuotaError } from "./errors.js";
import { maxMinFair } from "./max-min.js";
import { diffState, isEmpty, openDomain, snapshot, type QuotaDomain, type QuotaState } from "./state.js";
import { PostgresQuotaStore } from "./store.js";
import { FileQuotaStore } from "./store-file.js";
import type { QuotaStore } from "./store-port.js";
import { usageReadHandler, type UsageRead } from "./usage-reads.js";
import { MapClient } from "../vmap/index.js";
import { fetchWithTimeout, quotaMapEntries, QuotaMapPublisher, withBearerFile } from "./map-publisher.js";

export const quotaServiceConfig = z
  .object({
    ...quotaTreeKeys,
    /** PostgreSQL holding usage, overrides and delegations; or `dir`, the embedded store (one of the two). */
    postgres: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL")
      .optional(),
    /** A directory holding them instead (store-file.ts: snapshot + fsynced journal; one writer per directory). */
    dir: z.string().min(1).optional(),
    /** Schema for this service's tables (one writer per schema). */
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, "expected a lower-case SQL identifier")
      .default("meridian_quota"),
    /** How long to wait for another process holding the schema to let go (ms); then exit. */
    lockWaitMs: z.number().int().min(0).max(600_000).default(15_000),
    /** Base URL of the proof log (`meridian log serve`) that records every authority decision. */
    log: z.url(),
    /** A file holding a bearer token for the log's appends, read at each append (renewed by its writer): where no mesh names this service to the log (`meridian local`). */
    logTokenFile: z.string().min(1).optional(),
    /** A hot standby of `postgres` (streaming replica) for follower reads; absent: reads go to the primary. */
    replica: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL")
      .optional(),
    /** Read consistency per operation (`quota.usage`), as runtime/clock's staleness policy; requests may only tighten it. */
    reads: stalenessPolicySchema.prefault({}),
    /** With a `replica`, an idle service closes a timestamp this often (ms): the standby's watermark is never older than this plus its lag. */
    closedTimestampIntervalMs: z.number().int().min(10).max(60_000).default(200),
    /** HLC max offset (ms): AS OF reads further than this in the future are refused. */
    maxOffsetMs: z.number().positive().default(250),
    /** Where this node's clock is measured: the region's grandmaster or the node's chrony (skew state, offset and ε on /metrics). */
    timeReference: timeReferenceSchema.optional(),
    /** Base URL of the verifiable map service (`meridian map serve`) the quota state is published to; absent: not published. */
    map: z.url().optional(),
    /** The map's name there, and how long one publish call may take before it counts as an outage (ms). */
    mapName: z.string().min(1).default("quota"),
    mapTimeoutMs: z.number().int().min(100).max(120_000).default(5_000),
    /** How often the state is re-published even without a mutation (ms): an override's expiry changes limits on its own. */
    mapRefreshMs: z.number().int().min(1_000).max(3_600_000).default(60_000),
    /** A file holding a bearer token for the map's writes, read at each write (so it can be rotated); absent: the mesh identity. */
    mapTokenFile: z.string().min(1).optional(),
  })
  .strict()
  .refine((c) => (c.postgres === undefined) !== (c.dir === undefined), { message: "give the store: `postgres` (a URL) or `dir` (the embedded store), exactly one", path: ["postgres"] })
  .refine((c) => c.replica === undefined || c.postgres !== undefined, { message: "`replica` is a hot standby of `postgres`; the embedded store (`dir`) has none", path: ["replica"] });
export type QuotaServiceConfig = z.output<typeof quotaServiceConfig>;

const amounts = z.record(z.string(), z.number().nonnegative());
const STATUS = { invalid: 400, forbidden: 403, "not-found": 404, conflict: 409 } as const;
const overrideBody = z
  .object({
    node: z.string().min(1),
    dimension: z.string().min(1),
    hard: z.number().nonnegative(),
    reason: z.string().min(1).max(1000),
    expires_at: z.iso.datetime(),
    emergency: z.boolean().optional(),
  })
  .strict();
/**
 * A delegation's owners are principals, and the node it creates is stored by name too: both are held to the
 * rule the kit holds a token's sub to. PostgreSQL's jsonb refuses a NUL or a lone surrogate, so such a request
 * failed its commit (503); and an owner no token may name (the kit refuses that sub) administers nothing.
 */
const storable = z.string().refine(wellFormedPrincipal, `expected ${PRINCIPAL_RULE}`);
const delegationBody = z.object({ from: z.string().min(1), to: storable.max(200), kind: z.enum(["application", "user"]), amounts, owners: z.array(storable).default([]) }).strict();
const drfBody = z
  .object({
    capacity: z.record(z.string(), z.number().positive()),
    users: z
      .array(z.object({ id: z.string().min(1), demand: amounts, weight: z.number().positive().optional(), maxTasks: z.number().int().nonnegative().optional() }).strict())
      .min(1)
      .max(10_000),
  })
  .strict();
const maxMinBody = z.object({ capacity: z.number().nonnegative(), wants: z.array(z.number().nonnegative()).min(1).max(100_000), weights: z.array(z.number().positive()).optional() }).strict();

/** The principal a verified identity speaks for: the SPIFFE ID of an mTLS peer, or a JWT's subject. */
function principalOf(identity: Identity | undefined): string {
  if (!identity) throw new HttpError(401, "unauthenticated", "present an X.509-SVID (mTLS) or a bearer JWT");
  if (identity.kind === "spiffe") return identity.id.uri;
  if (!identity.subject) throw new HttpError(403, "forbidden", "the bearer token has no subject (sub), so it names no principal");
  // Workloads and people share the principal namespace (owners, authorities), so a token's subject must not be able to
  // name a workload: whatever the issuer lets a user be called, only an SVID speaks for a SPIFFE ID.
  if (/^spiffe:\/\//i.test(identity.subject)) throw new HttpError(403, "forbidden", "a bearer token's subject cannot be a SPIFFE ID: a workload is named by its X.509-SVID (mTLS), not by a token");
  return identity.subject;
}

function asHttp(err: unknown): never {
  if (err instanceof QuotaError) throw new HttpError(STATUS[err.kind], err.kind === "not-found" ? "not found" : err.kind === "invalid" ? "invalid request" : err.kind, err.message);
  if (err instanceof RangeError) throw new HttpError(400, "invalid request", err.message);
  throw err;
}

export const quotaService = defineService({
  name: "quota",
  config: quotaServiceConfig,
  stores: (c) => ({ postgres: c.postgres ? { kind: "postgres", url: c.postgres } : undefined }),
  async start({ config, clock, log, metrics }) {
    const store: QuotaStore = config.postgres
      ? new PostgresQuotaStore({ url: config.postgres, schema: config.schema, lockWaitMs: config.lockWaitMs })
      : new FileQuotaStore({ dir: config.dir!, lockWaitMs: config.lockWaitMs });
    // The service's clock node, measured against the config's reference like every service's (runtime/clock/reference.ts).
    const node = new ClockNode({ clock, maxOffsetMs: config.maxOffsetMs, requireEpoch: hlcRequireEpochFromEnv(), metrics: new TimeMetrics(metrics) });
    const hlc = node.hlc;
    const sync = config.timeReference ? referenceSync(node, config.timeReference, clock, (err) => log.warn({ err: err.message }, "time reference unreachable")) : null;
    let committed: QuotaState;
    let domain: QuotaDomain;
    try {
      const { closed, ...state } = await store.open();
      committed = state;
      // Never commit at or below what an earlier process closed (its clock may have run ahead of ours).
      hlc.update(closed);
      domain = openDomain(config, clock, committed);
    } catch (e) {
      await store.close().catch(() => undefined);
      throw e;
    }
    const trail = new AuditTrail(new LogClient(config.log, { tokenFile: config.logTokenFile }), monotonicTimestamps(clock));
    let queue: Promise<unknown> = Promise.resolve();
    // The committed state's map entries are read between mutations (serialized), never mid-commit.
    const publisher = config.map
      ? new QuotaMapPublisher({
          client: new MapClient(config.map, { fetch: withBearerFile(fetchWithTimeout(config.mapTimeoutMs), config.mapTokenFile) }),
          map: config.mapName,
          view: () => serialized(async () => quotaMapEntries(domain.tree)),
          onError: (err) => log.warn({ err: err.message, map: config.map }, "verifiable map unavailable: quota state not yet published (quota decisions are unaffected; retrying)"),
          metrics,
        })
      : null;
    let mapRefresh: NodeJS.Timeout | undefined;

    /** Run one mutation: apply in memory, commit the changed rows (and the audit event) before answering. */
    function mutate<T>(fn: (d: QuotaDomain) => T, audit?: (result: T) => { actor: string; action: string; subject: string; detail?: Record<string, unknown> }): Promise<T & { logIndex?: number }> {
      const run = queue.then(async () => {
        let result: T;
        try {
          result = fn(domain);
        } catch (e) {
          if (!isEmpty(diffState(committed, snapshot(domain)))) domain = openDomain(config, clock, committed);
          return asHttp(e);
        }
        const after = snapshot(domain);
        const changes = diffState(committed, after);
        if (isEmpty(changes) && !audit) return result as T & { logIndex?: number };
        let logIndex: number | undefined;
        try {
          await store.commit(changes, hlc.now(), audit ? async () => void (logIndex = (await trail.record(audit(result))).index) : undefined);
        } catch (e) {
          domain = openDomain(config, clock, committed);
          throw new HttpError(503, "quota state not stored", `nothing changed: ${(e as Error).message}`);
        }
        committed = after;
        publisher?.poke();
        return (audit ? { ...result, logIndex } : result) as T & { logIndex?: number };
      });
      queue = run.catch(() => undefined);
      return run;
    }
    /** Run after every mutation queued so far (nothing commits meanwhile below what `fn` reads). */
    function serialized<T>(fn: () => Promise<T>): Promise<T> {
      const run = queue.then(fn);
      queue = run.catch(() => undefined);
      return run;
    }
    // AS OF t on the primary: later commits land above t, and those queued before it have committed.
    const primaryAsOf = <T>(asOf: Timestamp, read: () => Promise<T>) => {
      hlc.update(asOf);
      return serialized(read);
    };
    const reads = store instanceof PostgresQuotaStore ? new PostgresFollowerReads({ primary: store.pool, replicaUrl: config.replica, schema: store.s, clock, primaryAsOf }) : null;
    const readUsage: UsageRead = async (r, node) => {
      if (reads && store instanceof PostgresQuotaStore) return reads.read(r, (c, asOf) => store.usage(c, node, asOf));
      const asOf = r.consistency.consistency === "exact" ? r.asOf : undefined;
      try {
        const value = asOf === undefined ? await store.readUsage(node) : await primaryAsOf(asOf, () => store.readUsage(node, asOf));
        return { value, servedBy: "primary", fallback: r.consistency.consistency === "strong" ? "strong reads are served by the primary" : "the embedded store has no replica" };
      } catch (e) {
        return asHttp(e);
      }
    };
    let heartbeat: NodeJS.Timeout | undefined;
    const read = <T>(fn: (d: QuotaDomain) => T): T => {
      try {
        return fn(domain);
      } catch (e) {
        return asHttp(e);
      }
    };
    const id = (req: FastifyRequest) => (req.params as { id: string }).id;
    const who = (req: FastifyRequest) => principalOf(req.identity);
    const mustAdminister = (d: QuotaDomain, p: string, node: string) => {
      if (!d.tree.isAuthority(p, node)) throw new QuotaError(`${p} has no authority over ${node}`, "forbidden");
    };
    const auth = { config: { auth: "authenticated" as const } };

    return {
      store,
      publisher,
      clock: node,
      domain: () => domain,
      // x-meridian-hlc in and out, its epoch, physical time from clients without an HLC, and consistency
      // tokens with their epoch: the time headers every service gets from runtime/clock (hlcParts).
      ...hlcParts(node),
      routes(app) {
        app.get("/v1/quota/nodes/:id", auth, async (req) =>
          read(({ tree }) => {
            const n = id(req);
            return {
              id: n,
              kind: tree.kindOf(n),
              chain: tree.chain(n),
              closed: tree.isClosed(n),
              usage: tree.usage(n),
              effective: Object.fromEntries(tree.dimensions.map((d) => [d, Number.isFinite(tree.effectiveHard(n, d)) ? tree.effectiveHard(n, d) : null])),
            };
          }),
        );
        app.post("/v1/quota/nodes/:id/reserve", auth, async (req) => {
          const p = who(req);
          const body = parseInput(z.object({ amounts }).strict(), req.body, "body");
          return mutate((d) => {
            mustAdminister(d, p, id(req));
            const r = d.tree.reserve(id(req), body.amounts);
            if (!r.ok)
              throw new HttpError(
                409,
                "quota exceeded",
                r.violations.map((v) => (v.dimension === "*" ? `${v.node} is closed` : `${v.node} ${v.dimension}: ${v.usage} used + ${v.requested} requested > ${v.limit}`)).join("; "),
              );
            return { ok: true, warnings: r.warnings, usage: d.tree.usage(id(req)) };
          });
        });
        app.post("/v1/quota/nodes/:id/release", auth, async (req) => {
          const p = who(req);
          const body = parseInput(z.object({ amounts }).strict(), req.body, "body");
          return mutate((d) => {
            mustAdminister(d, p, id(req));
            d.tree.release(id(req), body.amounts);
            return { ok: true, usage: d.tree.usage(id(req)) };
          });
        });
        app.get("/v1/quota/nodes/:id/usage", auth, usageReadHandler({ read: readUsage, policy: StalenessPolicy.of(config.reads), hlc, clock, exists: (n) => read(({ tree }) => tree.chain(n)) }));
        app.get("/v1/quota/conflicts", auth, async () => ({ conflicts: domain.tree.conflicts() }));

        app.post("/v1/quota/overrides", auth, async (req, reply) => {
          const p = who(req);
          const b = parseInput(overrideBody, req.body, "body");
          const o = await mutate(
            ({ tree }) => {
              tree.chain(b.node);
              if (!tree.dimensions.includes(b.dimension)) throw new QuotaError(`"${b.dimension}" is not a dimension (${tree.dimensions.join(", ")})`);
              const o = tree.overrides.request({ node: b.node, dimension: b.dimension, hard: b.hard, reason: b.reason, requestedBy: p, expiresAt: Date.parse(b.expires_at), emergency: b.emergency });
              return { ...o, state: tree.overrides.state(o) };
            },
            (o) => ({
              actor: p,
              action: o.emergency ? "quota.override.emergency" : "quota.override.request",
              subject: o.id,
              detail: { node: o.node, dimension: o.dimension, hard: o.hard, reason: o.reason, expiresAt: o.expiresAt },
            }),
          );
          void reply.status(201);
          return o;
        });
        app.get("/v1/quota/overrides", auth, async () => ({ overrides: domain.tree.overrides.list() }));
        for (const action of ["approve", "reject", "revoke"] as const)
          app.post(`/v1/quota/overrides/:id/${action}`, auth, async (req) => {
            const p = who(req);
            return mutate(
              ({ tree }) => {
                const o = tree.overrides[action](id(req), p);
                return { ...o, state: tree.overrides.state(o) };
              },
              (o) => ({ actor: p, action: `quota.override.${action}`, subject: o.id, detail: { node: o.node, dimension: o.dimension, hard: o.hard, requestedBy: o.requestedBy } }),
            );
          });

        app.post("/v1/quota/delegations", auth, async (req, reply) => {
          const p = who(req);
          const b = parseInput(delegationBody, req.body, "body");
          const d = await mutate(
            ({ delegations }) => ({ ...delegations.delegate({ ...b, by: p }) }),
            (d) => ({ actor: p, action: "quota.delegation.create", subject: d.id, detail: { from: d.from, to: d.to, amounts: d.amounts, owners: d.owners } }),
          );
          void reply.status(201);
          return d;
        });
        app.get("/v1/quota/delegations", auth, async () => ({ delegations: domain.delegations.list() }));
        app.post("/v1/quota/delegations/:id/revoke", auth, async (req) => {
          const p = who(req);
          return mutate(
            ({ delegations }) => {
              const revoked = delegations.revoke(id(req), p);
              return { revoked, reclaimed: revoked[0]!.reclaimed ?? {} };
            },
            (r) => ({ actor: p, action: "quota.delegation.revoke", subject: id(req), detail: { cascade: r.revoked.map((d) => d.id), reclaimed: r.reclaimed } }),
          );
        });

        // The fair-sharing cores, reachable through the service (pure: nothing stored).
        app.post("/v1/quota/fair/drf", auth, async (req) => {
          const b = parseInput(drfBody, req.body, "body");
          try {
            return { allocations: dominantResourceFairness(b.capacity, b.users) };
          } catch (e) {
            return asHttp(e);
          }
        });
        app.post("/v1/quota/fair/max-min", auth, async (req) => {
          const b = parseInput(maxMinBody, req.body, "body");
          try {
            return { allocations: maxMinFair(b.capacity, b.wants, b.weights) };
          } catch (e) {
            return asHttp(e);
          }
        });
      },
      ready: { [config.postgres ? "postgres" : "store"]: () => store.ping() },
      started: () => {
        sync?.start();
        if (publisher) {
          publisher.poke();
          mapRefresh = setInterval(() => publisher.poke(), config.mapRefreshMs);
          mapRefresh.unref();
        }
        // An idle writer closes timestamps so the standby's watermark keeps up; a failure waits for the next beat.
        // Without a standby to read from there is nothing to keep fresh (and no WAL to write every beat).
        if (config.replica === undefined) return;
        heartbeat = setInterval(() => void serialized(() => store.heartbeat(hlc.now())).catch(() => undefined), config.closedTimestampIntervalMs);
        heartbeat.unref();
      },
      close: async () => {
        sync?.stop();
        clearInterval(heartbeat);
        clearInterval(mapRefresh);
        await publisher?.close();
        await queue.catch(() => undefined);
        await reads?.close();
        await store.close();
      },
    };
  },
});
