/**
 * The supervisor's side of the proof-log process (prooflog-process.ts): spawn `meridian local-prooflog` as the
 * regions are spawned (its stdout and stderr are the supervisor's, an IPC channel that is also its lifeline), ask it
 * to start its services, and stop it. The supervisor then reaches the log over HTTP only (`LocalLog`), as the
 * attestation verifier, quota and the map do.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { LogClient, newCosignatureVerifier, newVerifier, openCheckpoint, openNote, type Checkpoint, type Verifier } from "../prooflog/index.js";
import type { FollowersRequest, FollowersStarted, LogRequest, LogStarted, ProoflogReply } from "./prooflog-process.js";
import { MERIDIAN_BIN } from "./supervisor.js";

/** A request waits this long for its answer (the witnesses' DKG on a loaded machine included). */
const REQUEST_TIMEOUT_MS = 120_000;

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

export class ProoflogProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  private exited: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly onUnexpectedExit: (detail: string) => void,
  ) {
    child.on("message", (m: ProoflogReply) => {
      const p = this.pending.get(m?.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`the proof-log process: ${m.error}`));
    });
    child.once("exit", (code, signal) => {
      this.exited = signal ?? `exit code ${code}`;
      for (const p of this.pending.values()) p.reject(new Error(`the proof-log process exited (${this.exited})`));
      this.pending.clear();
      if (!this.stopping) this.onUnexpectedExit(this.exited);
    });
  }

  private stopping = false;

  get pid(): number {
    return this.child.pid!;
  }

  /** Spawn it and wait until it listens on its IPC channel. */
  static async spawn(o: { onUnexpectedExit?: (detail: string) => void } = {}): Promise<ProoflogProcess> {
    const child = spawn(process.execPath, [MERIDIAN_BIN, "local-prooflog"], { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
    const host = new ProoflogProcess(child, o.onUnexpectedExit ?? (() => undefined));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the proof-log process did not start within ${REQUEST_TIMEOUT_MS / 1000} s`)), REQUEST_TIMEOUT_MS);
        child.on("message", (m: { event?: string }) => {
          if (m?.event !== "ready") return;
          clearTimeout(timer);
          resolve();
        });
        child.once("exit", (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`the proof-log process exited before it was ready (${signal ?? `exit code ${code}`})`));
        });
      });
    } catch (e) {
      await host.stop(0);
      throw e;
    }
    return host;
  }

  private request<T>(r: LogRequest | FollowersRequest): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`the proof-log process exited (${this.exited})`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the proof-log process did not answer "${r.op}" within ${REQUEST_TIMEOUT_MS / 1000} s`));
      }, REQUEST_TIMEOUT_MS);
      const done =
        <A extends unknown[]>(f: (...a: A) => void) =>
        (...a: A) => (clearTimeout(timer), f(...a));
      this.pending.set(id, { resolve: done(resolve as (r: unknown) => void), reject: done(reject) });
      this.child.send({ ...r, id }, (e) => e && this.pending.get(id)?.reject(e));
    });
  }

  startLog(r: Omit<LogRequest, "op">): Promise<LogStarted> {
    return this.request({ op: "log", ...r });
  }

  startFollowers(r: Omit<FollowersRequest, "op">): Promise<FollowersStarted> {
    return this.request({ op: "followers", ...r });
  }

  /** SIGTERM (it closes its services in order), SIGKILL what is left after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (!alive(this.child)) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill(graceMs > 0 ? "SIGTERM" : "SIGKILL");
    const force = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(force);
  }
}

/**
 * The supervisor's handle on the proof log: its HTTP API, as every other writer and reader uses it. It appends as the
 * supervisor's submitter, with the token in `tokenFile` (trust-services.ts), read at each append.
 */
export class LocalLog {
  private readonly client: LogClient;
  private readonly verifiers: Verifier[];
  /** The log's key and the witnesses' cosignature keys. */
  private readonly cosignatureVerifiers: Verifier[];
  /**
   * The last note read and what it verified to: the dashboard reads the checkpoint every second, and an idle log serves
   * the same bytes, which verify the same under the same keys (a note that does not verify is never kept).
   */
  private last: { note: string; checkpoint: Checkpoint; cosigners?: string[] } | undefined;

  constructor(
    url: string,
    private readonly origin: string,
    verifierKey: string,
    tokenFile: string,
    witnessVerifierKeys: readonly string[] = [],
  ) {
    this.client = new LogClient(url, { tokenFile });
    this.verifiers = [newVerifier(verifierKey)];
    this.cosignatureVerifiers = [...this.verifiers, ...witnessVerifierKeys.map((k) => newCosignatureVerifier(k))];
  }

  private async latest(): Promise<NonNullable<LocalLog["last"]>> {
    const note = await this.client.checkpoint();
    if (this.last?.note !== note) this.last = { note, checkpoint: openCheckpoint(note, this.verifiers, this.origin).checkpoint };
    return this.last;
  }

  /** The latest checkpoint, and the witnesses whose cosignature on it verifies under their key (the dashboard's panel). */
  async cosigned(): Promise<{ checkpoint: Checkpoint; cosigners: string[] }> {
    const last = await this.latest();
    last.cosigners ??= openNote(last.note, this.cosignatureVerifiers)
      .sigs.map((s) => s.name)
      .filter((n) => n !== this.origin);
    return { checkpoint: last.checkpoint, cosigners: last.cosigners };
  }

  /** Append an entry; resolves once it is durable, with its index. */
  add(entry: Uint8Array): Promise<{ index: number; duplicate?: boolean }> {
    return this.client.add(entry);
  }

  /** The latest published checkpoint, its log signature checked. */
  async checkpoint(): Promise<{ note: string; checkpoint: Checkpoint }> {
    const { note, checkpoint } = await this.latest();
    return { note, checkpoint };
  }
}
