/**
 * The estate-wide services of `meridian local`, run by the supervisor: the time grandmaster every region
 * synchronises to (NTP on loopback), the proof log with three witnesses signing its checkpoints as one threshold
 * group (witnesses.ts: their DKG, then one BLS signature under the group key per checkpoint) — in a process of
 * their own with the monitor and the certificate chain (prooflog-process.ts), the BLS work off the proxies' loop —, and the
 * escrow store every region's escrow shares — the embedded store served to the region processes over
 * loopback (escrow-pool.ts), or Redis/PostgreSQL when given, which the regions then reach directly.
 * The supervisor reads the store too (inventory panels, drill invariants), never through a region. The
 * attestation verifier, the quota service and the verifiable map quota and every region's escrow publish to
 * (trust-services.ts) record in the proof log; a monitor follows it from outside (monitor.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { escrowAllocations } from "../../model/escrow/estate.js";
import type { EstateSpec } from "../../model/estate.js";
import { systemClock } from "../common/clock.js";
import { Grandmaster } from "../clock/index.js";
import { escrowServiceConfig, type EscrowServiceConfig } from "../../model/escrow/config.js";
import { generateBuyerKeys, MemoryEscrowStore, mintBuyerToken, openEscrowStore, type EscrowStore } from "../escrow/index.js";
import { escrowPoolService } from "./escrow-pool.js";
import { runKeys } from "./run-keys.js";
import { ledgerRegion, mapServiceConfig } from "../../model/workloads/config.js";
import { join } from "node:path";
import { localLogSubmitters, localSupervisorId, logSubmitterScope, mapWriterScope, renewedTokenFile, startAttest, startMap, startQuota, type LocalService } from "./trust-services.js";
import { startService, type LocalOperatorAuth, type ServerConfigInput } from "../kit/index.js";
import { LocalLog, ProoflogProcess } from "./prooflog-host.js";
import { allStarted } from "./all-started.js";
import type { FollowersStarted } from "./prooflog-process.js";
import type { LocalWitnesses } from "./witnesses.js";

export interface GlobalServicesOptions {
  spec: EstateSpec;
  redisUrl?: string;
  postgresUrl?: string;
  /** The `server.auth` section trusting the supervisor's operator tokens (the escrow pool's callers). */
  auth: NonNullable<ServerConfigInput["auth"]>;
  /** Mints tokens from the same issuer (quota's and escrow's credentials for the map; each log appender's, the supervisor's too). */
  token: LocalOperatorAuth["token"];
  /** The proof-log process ended without being asked to. */
  onProoflogExit?: (detail: string) => void;
}

/** Buyers prove who they are with tokens from a local identity provider: a key pair made for this run. */
async function localBuyers(id: EscrowServiceConfig["identity"]): Promise<GlobalServices["buyers"]> {
  const issuer = await generateBuyerKeys("meridian-local");
  return { publicJwk: issuer.publicJwk, token: (user, tier) => mintBuyerToken(issuer.privateJwk, { issuer: id.issuer, audience: id.audience, sub: user, tier }) };
}

export class GlobalServices {
  private constructor(
    private readonly spec: EstateSpec,
    readonly grandmaster: { port: number; source: Grandmaster },
    /** The proof log, and the monitor following it (monitor.ts). */
    readonly log: {
      url: string;
      origin: string;
      verifierKey: string;
      /** Its HTTP API (the log runs in the proof-log process, prooflog-process.ts). */
      client: LocalLog;
      /** The proof-log process (the log, witnesses, monitor and certificate chain). */
      pid: number;
      witnesses: { name: string; url: string; verifierKey: string }[];
      /** The witnesses' threshold group: every published checkpoint carries one signature under its key. */
      threshold: LocalWitnesses["threshold"];
      monitor: FollowersStarted["monitor"];
      /** The certificate chain (certchain.ts): its issuer, and the light client following it. */
      certchain: FollowersStarted["certchain"];
    },
    /**
     * The estate's escrow config (the model's, worked out once: regions narrow it with regionEscrowConfig), its
     * store, and the URL regions reach the store at (embedded defaults only).
     */
    readonly escrow: { config: EscrowServiceConfig; store: EscrowStore; poolUrl?: string },
    /** The estate's (ephemeral, local) buyer identity provider: its public key, which every region's escrow trusts, and tokens. */
    readonly buyers: { publicJwk: object; token: (user: string, tier?: string) => Promise<string> },
    /** The attestation verifier (trust-services.ts), and its results' verifier key. */
    readonly attest: LocalService & { verifierKey: string },
    readonly quota: LocalService,
    /** The verifiable map holding the tenants' quota state (map `quota`) and every region's escrow balances (map `escrow`), its roots in the proof log. */
    readonly map: LocalService,
    private readonly closers: (() => Promise<void>)[],
  ) {}

  static async start(o: GlobalServicesOptions): Promise<GlobalServices> {
    const closers: (() => Promise<void>)[] = [];
    try {
      const gm = new Grandmaster({ primary: o.spec.time.grandmaster.source });
      const { ntp } = await gm.listen(0, "127.0.0.1");
      closers.push(() => gm.close());

      const origin = o.spec.runtime.prooflog.origin;
      const keys = await runKeys(o.postgresUrl);
      closers.push(() => keys.close());
      const logKey = await keys.key(origin);
      const dataDir = mkdtempSync(join(tmpdir(), "meridian-local-log-"));
      closers.push(async () => rmSync(dataDir, { recursive: true, force: true }));
      // The log, its witnesses, monitor and certificate chain in their own process (prooflog-process.ts): their BLS pairings stay off
      // this event loop, which forwards every region's traffic. It stops after the log's writers (closed first).
      const prooflog = await ProoflogProcess.spawn({ onUnexpectedExit: o.onProoflogExit });
      closers.unshift(() => prooflog.stop());
      // Escrow's durable record is PostgreSQL (alone, or journaling Redis); without it, the embedded store. Set up on
      // this loop while the proof-log process's witnesses make their group key.
      const escrowConfig = escrowServiceConfig(o.spec);
      const escrowStore = async (): Promise<GlobalServices["escrow"]> => {
        const durable = o.postgresUrl !== undefined;
        const store = durable ? await openEscrowStore({ redisUrl: o.redisUrl, postgresUrl: o.postgresUrl }) : new MemoryEscrowStore();
        closers.push(() => store.close());
        // The stack's inventory, allocated by the model, before any region sells (regions find it there).
        for (const sku of escrowConfig.skus) await store.createItem(sku.sku, sku.total, sku.allocation, Date.now());
        if (durable) return { config: escrowConfig, store };
        const pool = await startService(escrowPoolService(store), { server: { host: "127.0.0.1", port: 0, auth: o.auth } }, { clock: systemClock, processMetrics: false });
        closers.unshift(() => pool.close());
        return { config: escrowConfig, store, poolUrl: pool.url };
      };
      const [started, escrow, buyers] = await allStarted([
        // Appends only from the estate's submitters, each by its token's scope (trust-services.ts), and the supervisor.
        prooflog.startLog({
          spec: o.spec,
          signerKey: logKey.signerKey,
          verifierKey: logKey.verifierKey,
          dir: dataDir,
          postgresUrl: o.postgresUrl,
          submitters: localLogSubmitters(o.spec),
          auth: o.auth,
        }),
        escrowStore(),
        localBuyers(escrowConfig.identity),
      ] as const);
      const { witnesses, threshold } = started;
      // The supervisor appends (routing changes, the drills' audit trail) as its own submitter, with a token file as the services.
      const supervisorToken = join(dataDir, "supervisor-log.token");
      const stopSupervisorToken = await renewedTokenFile(supervisorToken, () => o.token({ subject: "local-supervisor", scope: logSubmitterScope(localSupervisorId(o.spec)), ttlSeconds: 24 * 3600 }));
      closers.push(async () => stopSupervisorToken());
      const log = {
        url: started.url,
        client: new LocalLog(
          started.url,
          origin,
          logKey.verifierKey,
          supervisorToken,
          witnesses.map((w) => w.verifierKey),
        ),
      };
      // Attest, quota and the map write to the log: they stop before it (quota before the map it publishes to). Attest
      // and the map start together: each waits for a checkpoint covering its resume record, and one checkpoint covers both.
      const trust = { spec: o.spec, logUrl: log.url, dataDir, postgresUrl: o.postgresUrl, auth: o.auth, token: o.token };
      const attestKey = await keys.key(`attest.${ledgerRegion(o.spec)}.${origin}`);
      const running = <S extends LocalService>(s: S): S => (closers.unshift(() => s.close()), s);
      const mintToken = () => o.token({ subject: "local-quota", scope: mapWriterScope("quota"), ttlSeconds: 24 * 3600 });
      const mapAndQuota = async () => {
        const map = running(await startMap(trust));
        return [map, running(await startQuota({ ...trust, map: { url: map.url, mintToken } }))] as const;
      };
      const [attest, [map, quota]] = await allStarted([startAttest({ ...trust, key: attestKey }).then(running), mapAndQuota()] as const);
      // The monitor, and certificates of the log's checkpoints signed by the witnesses' group (after the log's writers
      // are up: their pairings then never hold up the checkpoints those writers wait for at start).
      // Rounds every 2 s (the estate's: 30 s), as before the pairings moved off the proxies' loop.
      const { monitor, certchain } = await prooflog.startFollowers({ intervalMs: 2000 });
      return new GlobalServices(
        o.spec,
        { port: ntp, source: gm },
        { url: log.url, origin, verifierKey: logKey.verifierKey, client: log.client, pid: prooflog.pid, witnesses, threshold, monitor, certchain },
        escrow,
        buyers,
        attest,
        quota,
        map,
        closers,
      );
    } catch (err) {
      for (const close of closers) await close().catch(() => undefined);
      throw err;
    }
  }

  /** The dashboard's estate-wide panels: the proof log's latest checkpoint and cosigners, escrow stock. */
  async state(): Promise<Record<string, unknown>> {
    // Cosigners: the witnesses whose cosignature on the latest checkpoint verifies under their key.
    const { checkpoint, cosigners } = await this.log.client.cosigned();
    const inventory: Record<string, unknown> = {};
    for (const { sku, regions: allocation } of escrowAllocations(this.spec)) {
      const audit = await this.escrow.store.audit(sku, Date.now()).catch((e: Error) => ({ error: e.message }));
      // The model's starting allocation beside the live holdings: a region leases its share on first sale.
      inventory[sku] = { ...(audit ?? { error: "unknown item" }), allocation };
    }
    return {
      "proof log": {
        origin: this.log.origin,
        size: checkpoint.size,
        root: Buffer.from(checkpoint.root).toString("base64"),
        cosigners,
        threshold: `${this.log.threshold.name} (${this.log.threshold.group.t} of ${this.log.threshold.group.n})`,
        monitor: this.log.monitor.url,
        certificates: { issuer: this.log.certchain.issuer.url, follower: this.log.certchain.follower.url },
      },
      escrow: inventory,
      attest: { url: this.attest.url, store: this.attest.store, verifierKey: this.attest.verifierKey },
      quota: { url: this.quota.url, store: this.quota.store },
      map: { url: this.map.url, store: this.map.store, map: mapServiceConfig(this.spec).maps.join(", ") },
      grandmaster: { ntp: `udp://127.0.0.1:${this.grandmaster.port}`, primary: this.spec.time.grandmaster.source },
    };
  }

  async close(): Promise<void> {
    for (const close of this.closers) await close().catch(() => undefined);
  }
}
