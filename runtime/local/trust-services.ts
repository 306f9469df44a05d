/**
 * The attestation verifier (`meridian attest serve`) and the quota service (`meridian ratelimit quota`) of the
 * local estate, configured as the estate renders their files (model/workloads/config.ts) with the local stack's
 * own addresses: results, registry events and quota decisions go to the local proof log, and the supervisor's
 * operator tokens are the identity (`jwt:<subject>` for attest's revocations, the subject as quota's principal).
 * The estate runs one of each per region against the ledger region's database; one machine runs the ledger
 * region's. Stores as the rest of local: attest's registry in a file beside the proof log's (PostgreSQL, in its
 * region's schema, with `--postgres`); quota only keeps its state in PostgreSQL, so it runs with `--postgres`.
 */
import { join } from "node:path";
import type { EstateSpec } from "../../model/estate.js";
import { attestServiceConfig, ledgerRegion, quotaServiceConfig } from "../../model/workloads/config.js";
import { attestService } from "../attest/index.js";
import { systemClock } from "../common/clock.js";
import { startService, type ServerConfigInput } from "../kit/index.js";
import type { SignerKey } from "./run-keys.js";
import { quotaService } from "../quota/index.js";

export interface TrustServicesOptions {
  spec: EstateSpec;
  /** The local proof log's base URL. */
  logUrl: string;
  /** The run's data directory (embedded stores). */
  dataDir: string;
  postgresUrl?: string;
  auth: NonNullable<ServerConfigInput["auth"]>;
}

export interface LocalService {
  url: string;
  /** Where its state is kept, as the dashboard says it. */
  store: string;
  close(): Promise<void>;
}

/** `key`: the verifier's signer key (the estate mounts a secret; a local run makes its own, run-keys.ts). */
export async function startAttest(o: TrustServicesOptions & { key: SignerKey }): Promise<LocalService & { verifierKey: string }> {
  const region = ledgerRegion(o.spec);
  const key = o.key;
  const rendered = attestServiceConfig(o.spec, region, key.signerKey);
  const dir = join(o.dataDir, "attest");
  const store = o.postgresUrl ? { postgres: o.postgresUrl, schema: rendered.store.schema } : { dir };
  const svc = await startService(attestService, { ...rendered, log: o.logUrl, store, server: { host: "127.0.0.1", port: 0, auth: o.auth } }, { clock: systemClock, processMetrics: false });
  return { url: svc.url, verifierKey: key.verifierKey, store: o.postgresUrl ? `postgres schema ${rendered.store.schema}` : `file in ${dir}`, close: () => svc.close() };
}

export async function startQuota(o: TrustServicesOptions & { postgresUrl: string }): Promise<LocalService> {
  const rendered = quotaServiceConfig(o.spec);
  const svc = await startService(
    quotaService,
    { ...rendered, log: o.logUrl, postgres: o.postgresUrl, maxOffsetMs: o.spec.time.maxOffsetMs, server: { host: "127.0.0.1", port: 0, auth: o.auth } },
    { clock: systemClock, processMetrics: false },
  );
  return { url: svc.url, store: `postgres schema ${rendered.schema}`, close: () => svc.close() };
}
