/**
 * The log as a kit service (`meridian log serve`, and in-process `startLogServer` for `meridian local` and tests):
 * pick the store, gather the checkpoints held apart from it (a checkpoint file, the witnesses' latest cosigned
 * checkpoints), open the log — which refuses to start if it would fork, on a corrupt store, or beside a second
 * writer — and serve its routes (server.ts) on the kit's app, with the kit's limits, errors, /healthz, /readyz
 * (ready: the log writable and a checkpoint published), /metrics, HLC hooks, drain and one-line failures.
 * Checkpoints are signed on an interval once the listener is bound, and once more on close (not with witnesses:
 * shutdown never waits on them; the next start signs one).
 *
 * The config file is the rendered prooflog.json (config.ts: origin, witnesses, time reference, submitters) plus the keys the
 * command's flags fill in (`key`, a store, intervals); the kit's `server` section is optional.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ClockNode, hlcNodeFromEnv, hlcParts, referenceSync, TimeMetrics, type TimeReference } from "../clock/index.js";
import { ConfigFileError, defineService, startService, type ServerConfigInput, type ServiceDefinition, type ServiceParts } from "../kit/index.js";
import { checkProofLogKeys, proofLogKeys } from "./config.js";
import { TransparencyLog } from "./log.js";
import { ALG_ED25519, NoteError, newSigner, newVerifier, parseSignerKey, parseVerifierKey, verifierKeyString, type Verifier } from "./note.js";
import { CheckpointPublisher, logRoutes } from "./server.js";
import type { Submitter } from "./submitters.js";
import { publishedSize, startPruner } from "./pruner.js";
import { AppendTokens } from "./tokens.js";
import { FileStore } from "./storage/file.js";
import type { S3StoreOptions } from "./storage/s3.js";
import type { TileStore } from "./storage/store.js";
import { newCosignatureVerifier } from "./witness/cosignature.js";
import { WitnessPool, type WitnessEndpoint } from "./witness/pool.js";
import type { ThresholdGroup } from "./witness/threshold.js";

const count = z.number().int().min(0);
const logConfigSchema = z
  .object({
    ...proofLogKeys,
    /** The log's signer key: a file holding it (a mounted Secret) or, in process, the key itself. */
    key: z.string().min(1),
    /** Exactly one store: the embedded file store's directory, a PostgreSQL URL, or an S3 bucket URL (credentials from AWS_*). */
    data: z.string().min(1).optional(),
    postgres: z.string().min(1).optional(),
    s3: z
      .string()
      .regex(/^https?:\/\//, "expected <endpoint>/<bucket>[/<prefix>]")
      .optional(),
    /** A copy of every published checkpoint, apart from the store; the log refuses to start on a store that does not extend it. */
    checkpointFile: z.string().min(1).optional(),
    checkpointIntervalMs: z.number().int().min(1).default(1000),
    /** Re-sign an idle log's checkpoint this often (ms); 0 disables. */
    republishIntervalMs: count.default(60_000),
    /** Recent entries held for duplicate detection in front of the store's index; 0 disables detection. */
    dedupe: count.default(1_000_000),
    maxEntrySize: z.number().int().min(1).max(65_535, "entry bundles frame entries with a uint16 length, so at most 65535").default(65_535),
    witnessQuorum: count.default(0),
    /** Per-witness deadline (ms): a hung witness costs only its own signature. */
    witnessTimeoutMs: z.number().int().min(1).default(5000),
    /** PostgreSQL: how long to wait for the single-writer lock (default forever: a standby). */
    lockWaitMs: count.optional(),
    /** How long GET /checkpoint with a consistency token waits for a checkpoint covering it (ms) before 503. */
    tokenWaitMs: count.default(5000),
    /** C2SP tlog-tiles pruning: full tiles and bundles that end at or below this index answer 404; the store's bundles below it are deleted. */
    minIndex: count.default(0),
  })
  .strict()
  .superRefine(checkProofLogKeys)
  .superRefine((c, ctx) => {
    if ([c.data, c.postgres, c.s3].filter((s) => s !== undefined).length !== 1)
      ctx.addIssue({ code: "custom", message: "give exactly one store: data (a directory), postgres (a URL) or s3 (a bucket URL)", path: ["data"] });
  });

type LogConfig = z.output<typeof logConfigSchema>;
type LogParts = { log: TransparencyLog; witnessFailures: readonly { url: string; error: string }[] };

/** The log's HLC max offset when neither MERIDIAN_HLC_MAX_OFFSET_MS nor the config gives one (CockroachDB's default). */
const DEFAULT_LOG_MAX_OFFSET_MS = 500;

/** What an in-process caller hands over as objects rather than config text. */
interface InProcess {
  /** Witnesses beyond the config's, with their verifiers built. */
  witnesses?: WitnessEndpoint[];
  /** The log's clock node (HLC propagation; with a time reference, commit-wait); the environment's is not read. */
  hlc?: ClockNode;
  timeReference?: TimeReference;
  s3?: S3StoreOptions;
  /** A store the caller built (tests: a MemoryStore). */
  store?: TileStore;
  notice?: (line: string) => void;
  inProcess?: true;
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

/** A key given as a file (the mounted Secret) or as the key text itself. */
function keyText(value: string): string {
  if (!existsSync(value)) return value.trim();
  const line = readFileSync(value, "utf8")
    .split("\n")
    .find((l) => l.trim() !== "");
  if (!line) throw new ConfigFileError(value, ["key: the file holds no key"]);
  return line.trim();
}

function witnessVerifier(vkey: string): Verifier {
  return parseVerifierKey(vkey).alg === ALG_ED25519 ? newVerifier(vkey) : newCosignatureVerifier(vkey);
}

function openStore(config: LogConfig, extra: InProcess, notice: (l: string) => Promise<void> | void): Promise<TileStore> | TileStore {
  if (extra.store) return extra.store;
  if (config.postgres) {
    const url = config.postgres;
    return import("./storage/postgres.js").then(({ PostgresStore }) => new PostgresStore(url, config.origin, { lockWaitMs: config.lockWaitMs, onWaiting: (l) => void notice(l) }));
  }
  if (config.s3) {
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken, AWS_REGION: region } = process.env;
    if (!extra.s3 && (!accessKeyId || !secretAccessKey)) throw new ConfigFileError("(log config)", ["s3: needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"]);
    const options = extra.s3 ?? { url: config.s3, accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey!, sessionToken, region };
    return import("./storage/s3.js").then(({ S3Store }) => new S3Store(options));
  }
  return new FileStore(config.data!);
}

/** Whether the log refused to open for a reason the operator fixes (the store modules are loaded by then). */
async function isRefusal(e: unknown): Promise<boolean> {
  const refusals = [
    (await import("./log.js")).ForkRefusedError,
    (await import("./integrate.js")).EdgeError,
    (await import("./storage/journal.js")).CorruptStoreError,
    (await import("./storage/state.js")).StateError,
    (await import("./storage/postgres.js")).WriterLockError,
    (await import("./storage/s3.js")).S3StoreError,
  ];
  return refusals.some((kind) => e instanceof kind);
}

function defineLogService(extra: InProcess) {
  return defineService({
    name: "prooflog",
    config: logConfigSchema,
    // Probed before start (unreachable: one line, exit 1) and on every /readyz. In process, callers own their stores.
    stores: (c) => ({ postgres: c.postgres && !extra.store ? { kind: "postgres" as const, url: c.postgres } : undefined }),
    async start({ config, server, clock, log: logger, metrics }) {
      // A submitter named by a scope is named by a verified token: without an issuer to verify against, nobody could be.
      if (config.submitters?.some((s) => s.scope !== undefined) && !server.auth.jwt)
        throw new ConfigFileError("(log config)", ["submitters: a submitter named by a JWT scope needs server.auth.jwt (the issuer whose tokens carry it)"]);
      // Notices during start (a witness that could not be asked) wait for the bind, so a failed start stays one line;
      // waiting for the writer lock is said at once (a standby waits for as long as the writer lives).
      const held: string[] = [];
      const notice = extra.notice ?? ((l: string) => logger.warn(l));
      let signer, verifier;
      try {
        const key = keyText(config.key);
        signer = newSigner(key);
        const sk = parseSignerKey(key);
        verifier = newVerifier(verifierKeyString(sk.name, ALG_ED25519, sk.publicKey));
      } catch (e) {
        if (e instanceof NoteError) throw new ConfigFileError("(log config)", [`key: ${e.message}`]);
        throw e;
      }
      const witnesses: WitnessEndpoint[] = [...config.witnesses.flatMap((w) => (w.url && w.vkey ? [{ url: w.url, verifier: witnessVerifier(w.vkey) }] : [])), ...(extra.witnesses ?? [])];
      // The clock node: the caller's, else MERIDIAN_HLC_MAX_OFFSET_MS's (as deployed), else the config's maxOffsetMs.
      const fromEnv = extra.inProcess ? undefined : hlcNodeFromEnv();
      const maxOffsetMs = fromEnv ? fromEnv.hlc.maxOffsetMicros / 1000 : config.maxOffsetMs;
      // Always a node: its HLC is what the log's consistency tokens are made of (tokens.ts).
      const node = extra.hlc ?? new ClockNode({ clock, maxOffsetMs: maxOffsetMs ?? DEFAULT_LOG_MAX_OFFSET_MS, requireEpoch: fromEnv?.requireEpoch ?? false, metrics: new TimeMetrics(metrics) });
      const reference = extra.timeReference ?? config.timeReference;
      const measured = reference ? node : undefined;
      if (config.witnessQuorum > witnesses.length) throw new ConfigFileError("(log config)", [`witnessQuorum: ${config.witnessQuorum} exceeds the ${witnesses.length} cosigning witnesses configured`]);
      const sync = measured ? referenceSync(measured, reference!, clock, (e) => notice(`meridian log: time reference unreachable (${e.message})`)) : null;
      // One measurement before opening, so the first checkpoint need not wait for the poller.
      await sync?.pollOnce();
      const store = await openStore(config, extra, notice);
      const mustExtend = [
        ...(config.checkpointFile && existsSync(config.checkpointFile) ? [{ source: `checkpoint file ${config.checkpointFile}`, note: readFileSync(config.checkpointFile, "utf8") }] : []),
        // Best effort and briefly: a witness that cannot answer now must not keep the log from starting.
        ...(witnesses.length ? await witnessCheckpoints(witnesses, config.origin, Math.min(config.witnessTimeoutMs, 3000), (l) => held.push(l)) : []),
      ];
      let threshold: ThresholdGroup | undefined;
      if (config.witnessThreshold) {
        const { readGroup, ThresholdError } = await import("../tbls/index.js"); // BLS loads only in threshold mode
        try {
          threshold = { ...readGroup(config.witnessThreshold.group), name: config.witnessThreshold.name };
        } catch (e) {
          if (e instanceof ThresholdError) throw new ConfigFileError("(log config)", [`witnessThreshold: ${e.message}`]);
          throw e;
        }
        if (threshold.t > witnesses.length)
          throw new ConfigFileError("(log config)", [`witnessThreshold: the group needs ${threshold.t} partial signatures; only ${witnesses.length} cosigning witnesses are configured`]);
      }
      const pool = witnesses.length
        ? new WitnessPool(witnesses, { timeoutMs: config.witnessTimeoutMs, quorum: config.witnessQuorum, threshold, onFailure: (url, error) => logger.warn({ witness: url }, error) })
        : null;
      const keepApart = config.checkpointFile;
      let log: TransparencyLog;
      try {
        log = await TransparencyLog.open({
          origin: config.origin,
          signer,
          verifier,
          store,
          dedupeCapacity: config.dedupe,
          maxEntrySize: config.maxEntrySize,
          mustExtend,
          clock: measured,
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
        // A log that would fork, a corrupt store, a second writer: the operator's to fix, said in one line (exit 1).
        if (await isRefusal(e)) throw new Error(`refusing to start: ${(e as Error).message}`, { cause: e });
        throw e;
      }
      const publisher = new CheckpointPublisher(log, {
        intervalMs: config.checkpointIntervalMs,
        republishIntervalMs: config.republishIntervalMs,
        clock,
        onError: (e) => logger.error({ err: e }, "publishing a checkpoint"),
      });
      // --min-index on a store that can prune (pruner.ts).
      const pruner = config.minIndex > 0 && store.prune ? startPruner(log, config.minIndex, config.checkpointIntervalMs, logger) : null;
      let closing: Promise<void> | undefined;
      // Entries are durable without a checkpoint; the next start signs one. Never wait on a witness to shut down.
      const close = () =>
        (closing ??= (async () => {
          sync?.stop();
          pruner?.stop();
          pool?.close();
          await publisher.close(pool === null);
          await log.close();
        })());
      const tokens = new AppendTokens(node, () => publishedSize(log));
      const parts = {
        log,
        /** The witness pool's recent failures (a refusal, a timeout, a forged partial naming its witness). */
        witnessFailures: pool?.failures ?? [],
        ...hlcParts(node),
        // A caller's clock node keeps its own registry: its offset, skew state, ε and commit-wait series (TIME_METRICS).
        registries: extra.hlc ? [extra.hlc.metrics.registry] : [],
        routes(app: FastifyInstance) {
          logRoutes(app, log, { minIndex: config.minIndex, tokens, tokenWaitMs: config.tokenWaitMs, submitters: config.submitters });
          // In process the app may be closed directly (app.close()): the log closes with it.
          app.addHook("onClose", close);
        },
        ready: {
          writable: () => (log.failed === undefined || log.failed === null ? true : `storage failed: ${String(log.failed)}`),
          checkpoint: () => {
            try {
              log.checkpoint();
              return true;
            } catch (e) {
              return `no checkpoint published yet (${(e as Error).message})`;
            }
          },
        },
        started() {
          for (const l of held) notice(l);
          publisher.start();
          sync?.start();
          logger.info({ origin: config.origin, size: log.size }, `serving ${config.origin} (${log.size} entries)`);
        },
        close,
      } satisfies ServiceParts & LogParts;
      return parts;
    },
  });
}

/** `meridian log serve`. */
export const logService = defineLogService({});

export interface ServeOptions {
  origin: string;
  signerKey: string;
  dataDir?: string;
  postgresUrl?: string;
  /** An S3-compatible bucket (path-style URL and credentials). */
  s3?: S3StoreOptions;
  /** A store built by the caller (a MemoryStore in tests). */
  store?: TileStore;
  /** A file holding a copy of the last published checkpoint, apart from the store (another volume). */
  checkpointFile?: string;
  port: number;
  host?: string;
  checkpointIntervalMs?: number;
  /** Re-sign an idle log's checkpoint this often (ms); 0 (the default here) disables. */
  republishIntervalMs?: number;
  dedupeCapacity?: number;
  maxEntrySize?: number;
  /** Witnesses asked to cosign every checkpoint. */
  witnesses?: WitnessEndpoint[];
  /** Per-witness deadline (ms). */
  witnessTimeoutMs?: number;
  /** Publish only checkpoints this many witnesses cosigned. */
  witnessQuorum?: number;
  /** Threshold mode: publish only checkpoints carrying this group's combined signature (its name and group.json path). */
  witnessThreshold?: { name: string; group: string };
  /** PostgreSQL: how long to wait for the single-writer lock (default forever: a standby). */
  lockWaitMs?: number;
  minIndex?: number;
  /** How long GET /checkpoint with a consistency token waits for a checkpoint covering it (ms). */
  tokenWaitMs?: number;
  /**
   * Who may append, by verified SPIFFE ID (the `server.tls` peer, or `server.identity`'s XFCC) or, with a `scope` (no
   * mesh: meridian local), a `server.auth.jwt` token carrying it; absent: anyone (submitters.ts).
   */
  submitters?: Submitter[];
  /** HLC propagation (x-meridian-hlc in and out) with this service's clock node. */
  hlc?: ClockNode;
  /** Where `hlc` is measured: with it, checkpoints are stamped and commit-waited, and /metrics serves the clock's series. */
  timeReference?: TimeReference;
  /** One-line notices (waiting for the writer lock, a witness that could not be asked at startup). */
  notice?: (line: string) => void;
  /** The kit's `server` section beyond host and port (limits, timeouts, auth). */
  server?: ServerConfigInput;
}

/**
 * The log service in process (tests, `meridian local`): the same service as `meridian log serve`, started with
 * startService. `app.close()` drains it and closes the log and its store.
 */
export async function startLogServer(o: ServeOptions): Promise<{ app: FastifyInstance; url: string } & LogParts> {
  if (o.timeReference && !o.hlc) throw new Error("a time reference measures the log's clock node: give it one (MERIDIAN_HLC_MAX_OFFSET_MS)");
  const notice = o.notice ?? ((l: string) => process.stderr.write(`${l}\n`));
  const extraWitnesses = o.witnesses ?? [];
  const definition: ServiceDefinition<typeof logConfigSchema, ServiceParts & LogParts> = defineLogService({
    inProcess: true,
    witnesses: extraWitnesses,
    hlc: o.hlc,
    timeReference: o.timeReference,
    s3: o.s3,
    store: o.store,
    notice,
  });
  // A caller's store stands in for the config's (which must name one).
  const store = o.store ? { data: "(the caller's store)" } : o.postgresUrl ? { postgres: o.postgresUrl } : o.s3 ? { s3: o.s3.url } : o.dataDir ? { data: o.dataDir } : null;
  if (!store) throw new Error("a data directory, a PostgreSQL URL or an S3 bucket is required");
  const running = await startService(
    definition,
    {
      origin: o.origin,
      key: o.signerKey,
      ...store,
      checkpointFile: o.checkpointFile,
      checkpointIntervalMs: o.checkpointIntervalMs,
      republishIntervalMs: o.republishIntervalMs ?? 0,
      dedupe: o.dedupeCapacity,
      maxEntrySize: o.maxEntrySize,
      witnessQuorum: o.witnessQuorum,
      witnessThreshold: o.witnessThreshold,
      witnessTimeoutMs: o.witnessTimeoutMs,
      lockWaitMs: o.lockWaitMs,
      minIndex: o.minIndex,
      tokenWaitMs: o.tokenWaitMs,
      submitters: o.submitters,
      server: { ...o.server, host: o.host ?? "127.0.0.1", port: o.port },
    },
    { processMetrics: false },
  );
  return { app: running.app, log: running.parts.log, witnessFailures: running.parts.witnessFailures, url: running.url };
}
