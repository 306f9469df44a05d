/** Wiring for `meridian log serve`: pick the store, open the log, start the HTTP server. */
import type { FastifyInstance } from "fastify";
import { installHlc } from "../clock/http.js";
import type { ClockNode } from "../clock/node.js";
import { TransparencyLog } from "./log.js";
import { newSigner } from "./note.js";
import { buildLogServer } from "./server.js";
import { FileStore } from "./storage/file.js";
import type { LogStore } from "./storage/store.js";
import { WitnessPool, type WitnessEndpoint } from "./witness/pool.js";

export interface ServeOptions {
  origin: string;
  signerKey: string;
  dataDir?: string;
  postgresUrl?: string;
  port: number;
  host?: string;
  checkpointIntervalMs?: number;
  dedupeCapacity?: number;
  maxEntrySize?: number;
  /** Witnesses asked to cosign every checkpoint. */
  witnesses?: WitnessEndpoint[];
  /** HLC propagation (x-meridian-hlc in and out) with this service's clock node. */
  hlc?: ClockNode;
}

export async function startLogServer(o: ServeOptions): Promise<{ app: FastifyInstance; log: TransparencyLog; url: string }> {
  const signer = newSigner(o.signerKey);
  let store: LogStore;
  if (o.postgresUrl) {
    const { PostgresStore } = await import("./storage/postgres.js");
    store = new PostgresStore(o.postgresUrl, o.origin);
  } else if (o.dataDir) {
    store = new FileStore(o.dataDir);
  } else {
    throw new Error("either a data directory or a PostgreSQL URL is required");
  }
  const pool = o.witnesses?.length ? new WitnessPool(o.witnesses) : null;
  const log = await TransparencyLog.open({
    origin: o.origin,
    signer,
    store,
    dedupeCapacity: o.dedupeCapacity,
    maxEntrySize: o.maxEntrySize,
    cosign: pool ? (note, size, proof) => pool.cosign(note, size, proof) : undefined,
  });
  const app = await buildLogServer({ log, checkpointIntervalMs: o.checkpointIntervalMs ?? 1000, closeLog: true });
  if (o.hlc) installHlc(app, o.hlc);
  const url = await app.listen({ port: o.port, host: o.host ?? "127.0.0.1" });
  return { app, log, url };
}
