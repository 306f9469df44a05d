/**
 * The proof-log process of `meridian local` (`meridian local-prooflog`, spawned by the supervisor beside the
 * regions): the witnesses (their DKG, then a partial BLS signature per checkpoint and per certificate), the log that
 * combines and checks their partials, the monitor checking every checkpoint's group signature, and the certificate
 * chain's issuer and follower. Every BLS pairing of the estate is here, on this process's event loop — on the
 * supervisor's, each pairing (tens of ms) held up the regions' proxies with it.
 *
 * The supervisor asks over the IPC channel (requests below, answered with the services' URLs) and stops it with
 * SIGTERM, after the log's writers. Like a region it ignores Ctrl-C (the supervisor stops it in order) and exits at
 * once when the supervisor is gone, however it died (the channel closes, or the parent pid changes).
 */
import { ClockNode } from "../clock/index.js";
import { systemClock } from "../common/clock.js";
import { newCosignatureVerifier } from "../prooflog/index.js";
import { startLogServer } from "../prooflog/services.js";
import type { EstateSpec } from "../../model/estate.js";
import { startCertchain } from "./certchain.js";
import { startMonitor } from "./monitor.js";
import type { ServerConfigInput } from "../kit/index.js";
import type { LocalService, LocalSubmitter } from "./trust-services.js";
import { startThresholdWitnesses, type LocalWitnesses } from "./witnesses.js";

/** Start the witnesses and the log they cosign; answered once the log has published its first checkpoint. */
export interface LogRequest {
  op: "log";
  spec: EstateSpec;
  signerKey: string;
  verifierKey: string;
  /** The run's data directory (witness shares and group, the log's files without PostgreSQL). */
  dir: string;
  postgresUrl?: string;
  /** Who may append: the estate's submitters, each also by a JWT scope (no mesh here), and the supervisor (trust-services.ts). */
  submitters: LocalSubmitter[];
  /** The `server.auth` section trusting the supervisor's tokens, which carry those scopes. */
  auth: NonNullable<ServerConfigInput["auth"]>;
}

/**
 * Start the log's followers — the monitor and the certificate chain — once the log's writers are up: their pairings
 * then never slow the checkpoints those writers wait for at start (each gives up after 10 s).
 */
export interface FollowersRequest {
  op: "followers";
  /** The certificate chain's round interval. */
  intervalMs: number;
}

export type ProoflogRequest = LogRequest | FollowersRequest;

type Described = Omit<LocalService, "close">;
export interface LogStarted {
  url: string;
  witnesses: LocalWitnesses["witnesses"];
  threshold: LocalWitnesses["threshold"];
}
export interface FollowersStarted {
  monitor: Described;
  certchain: { issuer: Described; follower: Described };
}

export type ProoflogReply = { id: number; ok: true; result: LogStarted | FollowersStarted } | { id: number; ok: false; error: string };

const describe = (s: LocalService): Described => ({ url: s.url, store: s.store });

async function firstCheckpoint(url: string): Promise<void> {
  for (;;) {
    const res = await fetch(`${url}/checkpoint`).catch(() => null);
    await res?.arrayBuffer();
    if (res?.ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function runProoflogProcess(life: { parentPollMs?: number; graceMs?: number } = {}): void {
  if (!process.send || !process.connected) {
    process.stderr.write("meridian local-prooflog runs under `meridian local` only (no IPC channel)\n");
    process.exit(2);
  }
  const parent = process.ppid;
  // Closed newest first: the certificate chain and the monitor before the log, the log before its witnesses.
  const closers: (() => Promise<void>)[] = [];
  let log: { spec: EstateSpec; url: string; verifierKey: string; witnesses: LocalWitnesses["witnesses"]; threshold: LocalWitnesses["threshold"]; dir: string } | undefined;
  let stopping = false;
  const stop = (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    if (reason) process.stderr.write(`meridian local-prooflog: ${reason}; stopping\n`);
    setTimeout(() => process.exit(code), life.graceMs ?? 3000).unref();
    void (async () => {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    })().finally(() => process.exit(code));
  };
  process.on("SIGINT", () => undefined);
  process.once("SIGTERM", () => stop("", 0));
  process.once("disconnect", () => stop("the supervisor is gone (IPC channel closed)", 1));
  setInterval(() => {
    if (process.ppid !== parent) stop(`the supervisor (pid ${parent}) is gone`, 1);
  }, life.parentPollMs ?? 500).unref();

  const handle = async (r: ProoflogRequest): Promise<LogStarted | FollowersStarted> => {
    if (r.op === "log") {
      if (log) throw new Error("the log is already running");
      const origin = r.spec.runtime.prooflog.origin;
      const quorum = await startThresholdWitnesses({ origin, logVerifierKey: r.verifierKey, dir: r.dir, name: r.spec.runtime.prooflog.witnessThreshold?.name });
      closers.push(() => quorum.close());
      const { witnesses, threshold } = quorum;
      const server = await startLogServer({
        origin,
        signerKey: r.signerKey,
        dataDir: r.postgresUrl ? undefined : r.dir,
        postgresUrl: r.postgresUrl,
        port: 0,
        host: "127.0.0.1",
        checkpointIntervalMs: 500,
        witnesses: witnesses.map((w) => ({ url: w.url, verifier: newCosignatureVerifier(w.verifierKey) })),
        witnessThreshold: { name: threshold.name, group: threshold.groupFile },
        hlc: new ClockNode({ clock: systemClock, maxOffsetMs: r.spec.time.maxOffsetMs }),
        submitters: r.submitters,
        server: { auth: r.auth },
      });
      closers.push(() => server.app.close());
      log = { spec: r.spec, url: server.url, verifierKey: r.verifierKey, witnesses, threshold, dir: r.dir };
      // Its first checkpoint, cosigned and group-signed, warms the whole path (the witnesses' routes, the combiner's
      // first pairings) before a writer's first entry waits on it.
      await firstCheckpoint(server.url);
      return { url: server.url, witnesses, threshold };
    }
    if (!log) throw new Error("the monitor and the certificate chain follow the log: start it first");
    // Polling at twice the local log's checkpoint interval (the estate's monitors poll every 10 s).
    const monitor = await startMonitor({ spec: log.spec, log, intervalMs: 1000 });
    closers.push(() => monitor.close());
    const chain = await startCertchain({ log, witnesses: log.witnesses, threshold: log.threshold, dir: log.dir, intervalMs: r.intervalMs });
    closers.push(
      () => chain.issuer.close(),
      () => chain.follower.close(),
    );
    return { monitor: describe(monitor), certchain: { issuer: describe(chain.issuer), follower: describe(chain.follower) } };
  };

  process.on("message", (m: ProoflogRequest & { id: number }) => {
    if (stopping) return;
    handle(m).then(
      (result) => process.send?.({ id: m.id, ok: true, result } satisfies ProoflogReply, () => undefined),
      (e: Error) => process.send?.({ id: m.id, ok: false, error: e.message } satisfies ProoflogReply, () => undefined),
    );
  });
  // Requests sent before a listener is attached are lost: the supervisor sends its first once it hears this.
  process.send({ event: "ready" });
}
