/**
 * The certificate chain of `meridian local`, as the estate deploys it (catalogue entry `certchain`,
 * model/workloads/config.ts certchainServiceConfig): an issuer certifies the local log's group-signed checkpoints,
 * each certificate signed by the local witnesses' threshold group as one BLS signature (they sign with their DKG
 * shares on `POST /certify`), and a follower — the light client another region runs — syncs from its first
 * certificate under the group key and reports its head and any equivocation evidence (`/v1/status`, `/v1/evidence`).
 */
import { join } from "node:path";
import { systemClock } from "../common/clock.js";
import { certService } from "../certchain/index.js";
import { startService } from "../kit/index.js";
import type { LocalWitnesses } from "./witnesses.js";
import type { LocalService } from "./trust-services.js";

export interface LocalCertchainOptions {
  log: { url: string; verifierKey: string };
  witnesses: LocalWitnesses["witnesses"];
  threshold: LocalWitnesses["threshold"];
  /** Where the issuer and follower keep their chains (the run's data directory). */
  dir: string;
  /** Round interval (the estate's is 30 s). */
  intervalMs: number;
}

export async function startCertchain(o: LocalCertchainOptions): Promise<{ issuer: LocalService; follower: LocalService }> {
  const opts = { clock: systemClock, processMetrics: false };
  const server = { host: "127.0.0.1", port: 0 };
  const issuer = await startService(
    certService,
    {
      committee: o.threshold.groupFile,
      data: join(o.dir, "certchain-issuer"),
      issue: { log: o.log.url, logKey: o.log.verifierKey, name: o.threshold.name, witnesses: o.witnesses.map((w) => w.url), intervalMs: o.intervalMs },
      server,
    },
    opts,
  );
  try {
    const follower = await startService(
      certService,
      { committee: o.threshold.groupFile, data: join(o.dir, "certchain-follower"), follow: { url: issuer.url, intervalMs: o.intervalMs }, server },
      opts,
    );
    const store = (d: string) => `file (${join(o.dir, d)}/chain.jsonl)`;
    return {
      issuer: { url: issuer.url, store: store("certchain-issuer"), close: () => issuer.close() },
      follower: { url: follower.url, store: store("certchain-follower"), close: () => follower.close() },
    };
  } catch (e) {
    await issuer.close();
    throw e;
  }
}
