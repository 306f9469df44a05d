/**
 * The estate-wide services of `meridian local`, run by the supervisor: the time grandmaster every region
 * synchronises to (NTP on loopback), the proof log with two witnesses cosigning its checkpoints, and the
 * escrow service for every region (embedded memory store by default; Redis/PostgreSQL when given).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { escrowServiceConfig } from "../../model/escrow/config.js";
import { escrowAllocations } from "../../model/escrow/estate.js";
import type { EstateSpec } from "../../model/estate.js";
import { systemClock } from "../common/clock.js";
import { Grandmaster } from "../clock/grandmaster.js";
import { ClockNode } from "../clock/node.js";
import { generateBuyerKeys, mintBuyerToken, parseEscrowConfig, startEscrowServer, type EscrowServer } from "../escrow/index.js";
import { ALG_COSIGNATURE_V1, generateKey, newVerifier, openNote } from "../prooflog/note.js";
import { startLogServer } from "../prooflog/serve.js";
import { newCosignatureVerifier } from "../prooflog/witness/cosignature.js";
import { witnessService } from "../prooflog/witness/service.js";
import { startService } from "../kit/index.js";
import type { TransparencyLog } from "../prooflog/log.js";

export interface GlobalServicesOptions {
  spec: EstateSpec;
  redisUrl?: string;
  postgresUrl?: string;
}

export class GlobalServices {
  private constructor(
    private readonly spec: EstateSpec,
    readonly grandmaster: { port: number; source: Grandmaster },
    readonly log: { url: string; origin: string; verifierKey: string; instance: TransparencyLog; witnesses: { name: string; url: string }[] },
    readonly escrow: EscrowServer,
    /** A buyer token from the estate's (ephemeral, local) identity provider, which escrow trusts. */
    readonly buyerToken: (user: string, tier?: string) => Promise<string>,
    private readonly closers: (() => Promise<void>)[],
  ) {}

  static async start(o: GlobalServicesOptions): Promise<GlobalServices> {
    const closers: (() => Promise<void>)[] = [];
    try {
      const gm = new Grandmaster({ primary: o.spec.time.grandmaster.source });
      const { ntp } = await gm.listen(0, "127.0.0.1");
      closers.push(() => gm.close());

      const origin = o.spec.runtime.prooflog.origin;
      const logKey = generateKey(origin);
      const witnesses = await Promise.all(
        ["witness-a", "witness-b"].map(async (name) => {
          const key = generateKey(`${name}.${origin}`, ALG_COSIGNATURE_V1);
          const witness = await startService(
            witnessService,
            { key: key.signerKey, logs: [logKey.verifierKey], data: ":memory:", server: { host: "127.0.0.1", port: 0 } },
            { clock: systemClock, processMetrics: false },
          );
          closers.push(() => witness.close());
          return { name, url: witness.url, verifierKey: key.verifierKey };
        }),
      );
      const dataDir = mkdtempSync(join(tmpdir(), "meridian-local-log-"));
      closers.push(async () => rmSync(dataDir, { recursive: true, force: true }));
      const log = await startLogServer({
        origin,
        signerKey: logKey.signerKey,
        dataDir: o.postgresUrl ? undefined : dataDir,
        postgresUrl: o.postgresUrl,
        port: 0,
        host: "127.0.0.1",
        checkpointIntervalMs: 500,
        witnesses: witnesses.map((w) => ({ url: w.url, verifier: newCosignatureVerifier(w.verifierKey) })),
        hlc: new ClockNode({ clock: systemClock, maxOffsetMs: o.spec.time.maxOffsetMs }),
      });
      closers.unshift(() => log.app.close());

      // Buyers authenticate with tokens from a local identity provider: a key pair made for this run.
      const issuer = await generateBuyerKeys("meridian-local");
      const rendered = escrowServiceConfig(o.spec);
      const config = parseEscrowConfig({ ...rendered, identity: { ...rendered.identity, jwksUri: undefined, jwks: { keys: [issuer.publicJwk] } } }, "local escrow config");
      const escrow = await startEscrowServer({ config, port: 0, redisUrl: o.redisUrl, postgresUrl: o.postgresUrl });
      closers.unshift(() => escrow.close());
      const buyerToken = (user: string, tier?: string) => mintBuyerToken(issuer.privateJwk, { issuer: config.identity.issuer, audience: config.identity.audience, sub: user, tier });
      return new GlobalServices(
        o.spec,
        { port: ntp, source: gm },
        { url: log.url, origin, verifierKey: logKey.verifierKey, instance: log.log, witnesses: witnesses.map(({ name, url }) => ({ name, url })) },
        escrow,
        buyerToken,
        closers,
      );
    } catch (err) {
      for (const close of closers) await close().catch(() => undefined);
      throw err;
    }
  }

  /** The dashboard's estate-wide panels: the proof log's latest checkpoint and cosigners, escrow stock. */
  async state(): Promise<Record<string, unknown>> {
    const { note, checkpoint } = this.log.instance.checkpoint();
    const cosigners = openNote(note, [newVerifier(this.log.verifierKey)]).sigs.map((s) => s.name).filter((n) => n !== this.log.origin);
    const inventory: Record<string, unknown> = {};
    for (const { sku, regions: allocation } of escrowAllocations(this.spec)) {
      const view = await this.escrow.service.inventory(sku).catch((e: Error) => ({ error: e.message }));
      // The model's starting allocation beside the live holdings: a region leases its share on first sale.
      inventory[sku] = { ...(view ?? { error: "unknown item" }), allocation };
    }
    return {
      "proof log": { origin: this.log.origin, size: checkpoint.size, root: Buffer.from(checkpoint.root).toString("base64"), cosigned_by: cosigners.join(", ") || "(none yet)" },
      escrow: inventory,
      grandmaster: { ntp: `udp://127.0.0.1:${this.grandmaster.port}`, primary: this.spec.time.grandmaster.source },
    };
  }

  async close(): Promise<void> {
    for (const close of this.closers) await close().catch(() => undefined);
  }
}
