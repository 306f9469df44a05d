/**
 * The attestation verifier (`meridian attest serve`), the quota service (`meridian ratelimit quota`) and the
 * verifiable map it publishes to (`meridian map serve`) of the local estate, configured as the estate renders their
 * files (model/workloads/config.ts) with the local stack's own addresses: results, registry events, quota decisions
 * and every map batch's root go to the local proof log, and the supervisor's operator tokens are the identity
 * (`jwt:<subject>` for attest's revocations, the subject as quota's principal). The estate runs one of each per
 * region (map and quota: one writer, in the ledger region) against the ledger region's database; one machine runs
 * the ledger region's. Stores as the rest of local: files beside the proof log's (PostgreSQL, in their schemas,
 * with `--postgres`).
 *
 * In the estate each map accepts writes from its writer's SPIFFE ID only (the mesh's mTLS): quota's for `quota`,
 * escrow's for `escrow`. Here there is no mesh, so each map accepts a JWT scope of its own (`mapWriterScope`) that
 * only its writer's token carries (minted by the supervisor, kept in a file the writer reads at each write and
 * renewed before it expires) — still one writer per map, and quota and escrow publish exactly as deployed.
 *
 * The proof log likewise: in the estate it takes `POST /add` only from its submitters, each by the SPIFFE ID its
 * sidecar verified (runtime/prooflog/submitters.ts). Here each submitter the estate renders is also named by a JWT
 * scope of its own (`logSubmitterScope`) standing in for that ID: attest, quota and the map each append with a token
 * carrying their own scope alone (the supervisor mints it; a file the service reads at each append, `logTokenFile`,
 * renewed), so the log checks the actor of an audit event against the ID the estate would give the service — quota's
 * token naming attest is refused (403), as is an append with no token (401) or the operator's. The supervisor appends
 * too (routing changes, the drills' audit trail) as a submitter of its own that no estate workload is
 * (`localSupervisorId`: actors `principals`, so its events name end users, never a workload). Escrow appends nothing
 * to the log here (it publishes balances to the map), so no local token carries its scope.
 */
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EstateSpec } from "../../model/estate.js";
import { runtimeService, spiffeId, type ServiceName } from "../../model/services.js";
import { attestServiceConfig, escrowMapSection, ledgerRegion, mapServiceConfig, quotaServiceConfig } from "../../model/workloads/config.js";
import { serviceParts } from "../../model/workloads/service-parts.js";
import { attestService } from "../attest/index.js";
import { systemClock } from "../common/clock.js";
import { startService, type LocalOperatorAuth, type ServerConfigInput } from "../kit/index.js";
import type { SignerKey } from "./run-keys.js";
import { quotaService } from "../quota/index.js";
import { mapService } from "../vmap/services.js";

export interface TrustServicesOptions {
  spec: EstateSpec;
  /** The local proof log's base URL. */
  logUrl: string;
  /** The run's data directory (embedded stores). */
  dataDir: string;
  postgresUrl?: string;
  auth: NonNullable<ServerConfigInput["auth"]>;
  /** Mints each service's token for its log appends (the supervisor's operator auth: the issuer `auth` trusts). */
  token: LocalOperatorAuth["token"];
}

/** A log submitter (runtime/prooflog/submitters.ts), as the log's config takes it. */
export interface LocalSubmitter {
  spiffe: string;
  actors: "self" | "principals";
  scope: string;
}

/** The JWT scope that stands in for a log submitter's SPIFFE ID locally (by its service account): only that submitter's token carries it. */
export const logSubmitterScope = (spiffe: string) => `meridian.log.${spiffe.slice(spiffe.lastIndexOf("/") + 1)}`;

/** The supervisor's own submitter ID: no estate workload's (namespace `meridian-local`), so it can speak for no service. */
export const localSupervisorId = (spec: EstateSpec) => spiffeId(spec.pki.trustDomain, { namespace: "meridian-local", serviceAccount: "supervisor" });

/**
 * Who may append to the local proof log: the submitters the estate's log renders (model/workloads: each appending
 * service's SPIFFE ID and the actors it may name), each also by its scope, and the supervisor (routing changes, the
 * drills' audit trail: end users only).
 */
export function localLogSubmitters(spec: EstateSpec): LocalSubmitter[] {
  const rendered = JSON.parse(serviceParts(spec, ledgerRegion(spec), "prooflog").config["prooflog.json"]!) as { submitters?: Omit<LocalSubmitter, "scope">[] };
  if (!rendered.submitters?.length) throw new Error("the estate's proof log renders no submitters: meridian local would take appends from anyone");
  return [...rendered.submitters, { spiffe: localSupervisorId(spec), actors: "principals" as const }].map((s) => ({ spiffe: s.spiffe, actors: s.actors, scope: logSubmitterScope(s.spiffe) }));
}

/** The token one local service appends to the log with: its own submitter scope alone. */
function logToken(o: Pick<TrustServicesOptions, "spec" | "token">, service: ServiceName): Promise<string> {
  return o.token({ subject: `local-${service}`, scope: logSubmitterScope(spiffeId(o.spec.pki.trustDomain, runtimeService(service))), ttlSeconds: TOKEN_TTL_SECONDS });
}

const TOKEN_TTL_SECONDS = 24 * 3600;
const TOKEN_RENEW_MS = 3600_000;

/**
 * A token kept in `file` for a writer that reads it at each write: minted now, renewed every hour (each valid a day),
 * each written whole (a temporary file renamed over it: a read never sees half a token). Returns what stops the renewals.
 */
export async function renewedTokenFile(file: string, mint: () => Promise<string>): Promise<() => void> {
  const renew = async () => {
    writeFileSync(`${file}.tmp`, await mint(), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  };
  await renew();
  const renewal = setInterval(() => void renew().catch(() => undefined), TOKEN_RENEW_MS).unref();
  return () => clearInterval(renewal);
}

/** Start a service with its log token file (`<dataDir>/<service>-log.token`), the renewals ending when it closes. */
function withLogToken<S extends LocalService>(o: TrustServicesOptions, service: ServiceName, start: (logTokenFile: string) => Promise<S>): Promise<S> {
  return withTokenFile(join(o.dataDir, `${service}-log.token`), () => logToken(o, service), start);
}

/** Start a service with a token `mint` makes, kept renewed in `file` (renewedTokenFile) until the service closes. */
async function withTokenFile<S extends LocalService>(file: string, mint: () => Promise<string>, start: (tokenFile: string) => Promise<S>): Promise<S> {
  const stop = await renewedTokenFile(file, mint);
  try {
    const svc = await start(file);
    return {
      ...svc,
      close: async () => {
        stop();
        await svc.close();
      },
    };
  } catch (e) {
    stop();
    throw e;
  }
}

export interface LocalService {
  url: string;
  /** Where its state is kept, as the dashboard says it. */
  store: string;
  close(): Promise<void>;
}

/**
 * One machine runs every region, the log and its witnesses: under load a checkpoint can take far longer than a
 * cluster's 10 s, and a start that gives up would take the whole estate down with it.
 */
const LOCAL_CHECKPOINT_WAIT_MS = 60_000;

/** `key`: the verifier's signer key (the estate mounts a secret; a local run makes its own, run-keys.ts). */
export async function startAttest(o: TrustServicesOptions & { key: SignerKey }): Promise<LocalService & { verifierKey: string }> {
  const region = ledgerRegion(o.spec);
  const key = o.key;
  // The estate admits only its SPIRE server's SPIFFE ID (`callers`); one machine runs no SPIRE, and the verifier
  // listens on loopback only, where its routes are open as `attest serve` documents (revocations still need the operator).
  const { callers: _spireServerOnly, ...rendered } = attestServiceConfig(o.spec, region, key.signerKey);
  const dir = join(o.dataDir, "attest");
  const store = o.postgresUrl ? { postgres: o.postgresUrl, schema: rendered.store.schema } : { dir };
  return withLogToken(o, "attest", async (logTokenFile) => {
    const svc = await startService(
      attestService,
      { ...rendered, log: o.logUrl, logTokenFile, logCheckpointWaitMs: LOCAL_CHECKPOINT_WAIT_MS, store, server: { host: "127.0.0.1", port: 0, auth: o.auth } },
      { clock: systemClock, processMetrics: false },
    );
    return { url: svc.url, verifierKey: key.verifierKey, store: o.postgresUrl ? `postgres schema ${rendered.store.schema}` : `file in ${dir}`, close: () => svc.close() };
  });
}

/** The JWT scope that stands in for a map's writer's SPIFFE ID locally: only that writer's token carries it. */
export const mapWriterScope = (map: string) => `meridian.map.${map}`;

/** The maps quota and escrow publish to, as the estate renders them; each map writable with its own scope only. */
export async function startMap(o: TrustServicesOptions): Promise<LocalService> {
  const rendered = mapServiceConfig(o.spec);
  const writers = Object.fromEntries(Object.keys(rendered.writers).map((m) => [m, { scope: mapWriterScope(m) }]));
  const dir = join(o.dataDir, "map");
  const store = o.postgresUrl ? { postgres: o.postgresUrl, schema: rendered.store.schema } : { dir };
  return withLogToken(o, "map", async (logTokenFile) => {
    const svc = await startService(
      mapService,
      { ...rendered, log: o.logUrl, logTokenFile, logCheckpointWaitMs: LOCAL_CHECKPOINT_WAIT_MS, store, writers, server: { host: "127.0.0.1", port: 0, auth: o.auth } },
      { clock: systemClock, processMetrics: false },
    );
    return { url: svc.url, store: o.postgresUrl ? `postgres schema ${rendered.store.schema}` : `files in ${dir}`, close: () => svc.close() };
  });
}

/** What every region's escrow publishes its balances with: the map (named as the estate's escrow config names it) and a token carrying its writer scope alone. */
export async function escrowMapCredential(map: LocalService, token: LocalOperatorAuth["token"]): Promise<{ url: string; name: string; token: string }> {
  const { mapName } = escrowMapSection();
  return { url: map.url, name: mapName, token: await token({ subject: "local-escrow", scope: mapWriterScope(mapName), ttlSeconds: 24 * 3600 }) };
}

/**
 * Quota on its embedded store in the run's directory (PostgreSQL with `--postgres`), publishing to `map` with the
 * token `mintToken` makes and appending to the log with its own (each written to a file beside its store and renewed
 * every hour; valid for a day).
 */
export async function startQuota(o: TrustServicesOptions & { map: { url: string; mintToken: () => Promise<string> } }): Promise<LocalService> {
  const rendered = quotaServiceConfig(o.spec);
  const dir = join(o.dataDir, "quota");
  const store = o.postgresUrl ? { postgres: o.postgresUrl } : { dir };
  return withTokenFile(join(o.dataDir, "quota-map.token"), o.map.mintToken, (mapTokenFile) =>
    withLogToken(o, "quota", async (logTokenFile) => {
      const running = await startService(
        quotaService,
        { ...rendered, ...store, log: o.logUrl, logTokenFile, map: o.map.url, mapTokenFile, maxOffsetMs: o.spec.time.maxOffsetMs, server: { host: "127.0.0.1", port: 0, auth: o.auth } },
        { clock: systemClock, processMetrics: false },
      );
      return { url: running.url, store: o.postgresUrl ? `postgres schema ${rendered.schema}` : `files in ${dir}`, close: () => running.close() };
    }),
  );
}
