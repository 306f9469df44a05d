/**
 * Wiring for `meridian log serve` (and `meridian local`): pick the store, gather the checkpoints held apart from
 * it (a checkpoint file, the witnesses' latest cosigned checkpoints), open the log — which refuses to start if it
 * would fork — and start the HTTP server.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { installHlc, referenceSync, type ClockNode, type TimeReference } from "../clock/index.js";
import { systemClock } from "../common/clock.js";
import { TransparencyLog } from "./log.js";
import { newSigner, newVerifier, parseSignerKey, verifierKeyString, ALG_ED25519 } from "./note.js";
import { buildLogServer } from "./server.js";
import { FileStore } from "./storage/file.js";
import type { TileStore } from "./storage/store.js";
import { WitnessPool, type WitnessEndpoint } from "./witness/pool.js";

export interface ServeOptions {
  origin: string;
  signerKey: string;
  dataDir?: string;
  postgresUrl?: string;
  /** An S3-compatible bucket (path-style URL and credentials). */
  s3?: import("./storage/s3.js").S3StoreOptions;
  /** A file holding a copy of the last published checkpoint, apart from the store (another volume). */
  checkpointFile?: string;
  port: number;
  host?: string;
  checkpointIntervalMs?: number;
  /** Re-sign an idle log's checkpoint this often (ms); 0 disables. */
  republishIntervalMs?: number;
  dedupeCapacity?: number;
  maxEntrySize?: number;
  /** Witnesses asked to cosign every checkpoint. */
  witnesses?: WitnessEndpoint[];
  /** Per-witness deadline (ms). */
  witnessTimeoutMs?: number;
  /** Publish only checkpoints this many witnesses cosigned. */
  witnessQuorum?: number;
  /** PostgreSQL: how long to wait for the single-writer lock (default forever: a standby). */
  lockWaitMs?: number;
  minIndex?: number;
  /** HLC propagation (x-meridian-hlc in and out) with this service's clock node. */
  hlc?: ClockNode;
  /** Where `hlc` is measured: with it, checkpoints are stamped and commit-waited, and /metrics serves the clock's series. */
  timeReference?: TimeReference;
  /** One-line notices (waiting for the writer lock, a witness that could not be asked at startup). */
  notice?: (line: string) => void;
}

/** The witness's monitoring endpoint for a log (C2SP tlog-witness): `<prefix>/<hex SHA-256 of origin>/checkpoint`. */
export function witnessCheckpointUrl(witnessUrl: string, origin: string): string {
  return `${witnessUrl.replace(/\/+$/, "")}/${createHash("sha256").update(origin).digest("hex")}/checkpoint`;
}

/** Each witness's latest cosigned checkpoint of this log; a witness that cannot be asked in time is skipped. */
async function witnessCheckpoints(witnesses: readonly WitnessEndpoint[], origin: string, timeoutMs: number, notice: (l: string) => void) {
  const out: { source: string; note: string }[] = [];
  await Promise.all(
    witnesses.map(async (w) => {
      try {
        const res = await fetch(witnessCheckpointUrl(w.url, origin), { signal: AbortSignal.timeout(timeoutMs) });
        if (res.status === 404) return; // never cosigned this log
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        out.push({ source: `witness ${w.verifier.name}'s latest cosigned checkpoint`, note: await res.text() });
      } catch (e) {
        notice(`meridian log: could not read witness ${w.url}'s checkpoint at startup (${(e as Error).message}); starting without it`);
      }
    }),
  );
  return out;
}

export async function startLogServer(o: ServeOptions): Promise<{ app: FastifyInstance; log: TransparencyLog; url: string }> {
  const notice = o.notice ?? ((l: string) => process.stderr.write(`${l}\n`));
  const signer = newSigner(o.signerKey);
  const sk = parseSignerKey(o.signerKey);
  const verifier = newVerifier(verifierKeyString(sk.name, ALG_ED25519, sk.publicKey));
  let store: TileStore;
  if (o.postgresUrl) {
    const { PostgresStore } = await import("./storage/postgres.js");
    store = new PostgresStore(o.postgresUrl, o.origin, { lockWaitMs: o.lockWaitMs, onWaiting: notice });
  } else if (o.s3) {
    const { S3Store } = await import("./storage/s3.js");
    store = new S3Store(o.s3);
  } else if (o.dataDir) {
    store = new FileStore(o.dataDir);
  } else {
    throw new Error("a data directory, a PostgreSQL URL or an S3 bucket is required");
  }
  if (o.timeReference && !o.hlc) throw new Error("a time reference measures the log's clock node: give it one (MERIDIAN_HLC_MAX_OFFSET_MS)");
  const clock = o.timeReference ? o.hlc : undefined;
  const sync = clock ? referenceSync(clock, o.timeReference!, systemClock, (e) => notice(`meridian log: time reference unreachable (${e.message})`)) : null;
  // One measurement before opening, so the first checkpoint need not wait for the poller.
  await sync?.pollOnce();
  const timeoutMs = o.witnessTimeoutMs ?? 5000;
  const mustExtend = [
    ...(o.checkpointFile && existsSync(o.checkpointFile) ? [{ source: `checkpoint file ${o.checkpointFile}`, note: readFileSync(o.checkpointFile, "utf8") }] : []),
    // Best effort and briefly: a witness that cannot answer now must not keep the log from starting.
    ...(o.witnesses?.length ? await witnessCheckpoints(o.witnesses, o.origin, Math.min(timeoutMs, 3000), notice) : []),
  ];
  const pool = o.witnesses?.length ? new WitnessPool(o.witnesses, { timeoutMs, quorum: o.witnessQuorum }) : null;
  const keepApart = o.checkpointFile;
  let log: TransparencyLog;
  try {
    log = await TransparencyLog.open({
      origin: o.origin,
      signer,
      verifier,
      store,
      dedupeCapacity: o.dedupeCapacity,
      maxEntrySize: o.maxEntrySize,
      mustExtend,
      clock,
      cosign: pool ? (note, size, proof) => pool.cosign(note, size, proof) : undefined,
      onPublish: keepApart
        ? async (note) => {
            writeFileSync(`${keepApart}.tmp`, note, { flush: true });
            renameSync(`${keepApart}.tmp`, keepApart);
          }
        : undefined,
    });
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  const app = await buildLogServer({
    log,
    checkpointIntervalMs: o.checkpointIntervalMs ?? 1000,
    republishIntervalMs: o.republishIntervalMs,
    minIndex: o.minIndex,
    closeLog: true,
    // Entries are durable without a checkpoint; the next start signs one. Never wait on a witness to shut down.
    publishOnClose: pool === null,
    beforeClose: () => pool?.close(),
  });
  if (o.hlc) installHlc(app, o.hlc);
  if (clock) {
    // Offset, skew state, ε and the commit-wait histogram (TIME_METRICS) for the clock's alert rules.
    const registry = clock.metrics.registry;
    app.get("/metrics", async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
    app.addHook("onClose", async () => sync?.stop());
  }
  const url = await app.listen({ port: o.port, host: o.host ?? "127.0.0.1" });
  sync?.start();
  return { app, log, url };
}
