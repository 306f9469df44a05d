/**
 * `attest serve`'s registry (core/registry.ts) with its store and, when configured, the proof log. Every change is
 * appended to the log first (enrolments and revocations as signed events; results are logged by the service),
 * then written to the store, then applied in memory — so the log is never behind the store, and the store never
 * behind what was acknowledged.
 *
 * At start (`openRegistry`) the store is loaded and, with a log, caught up from it: the verifier appends a
 * resume event and waits for a checkpoint that covers it (the log acknowledges entries before a checkpoint covers
 * them, so only such a checkpoint is sure to cover every change acknowledged before the restart), then replays
 * this verifier's entries after the size the store was last caught up to. A store restored from a stale snapshot
 * thus gets back the revocations, enrolments and clock readings made after the snapshot; a store that claims
 * more of the log than the log holds stops the start.
 */
import { randomBytes } from "node:crypto";
import type { Clock } from "../common/clock.js";
import { LogClient, parseCheckpoint, parseSignedNote } from "../prooflog/index.js";
import { applyChange, changesOfLogEntry, signRegistryEvent, type RegistryChange, type RegistryState, type Revoked } from "./core/registry.js";
import { akFingerprint, attestationKey } from "./core/quote.js";
import type { RegistryStore } from "./store/registry-port.js";

export class RegistryError extends Error {
  override name = "RegistryError";
}

export interface RegistryOptions {
  store: RegistryStore;
  log?: LogClient;
  signerKey: string;
  verifierKey: string;
  clock: Clock;
  /** How long to wait at start for a checkpoint covering the resume event. */
  checkpointWaitMs?: number;
}

export class Registry {
  private constructor(
    readonly state: RegistryState,
    private readonly o: RegistryOptions,
  ) {}

  /** The store's registry, caught up from the log when there is one. */
  static async open(o: RegistryOptions): Promise<Registry> {
    const state = await o.store.load();
    const r = new Registry(state, o);
    if (o.log) await r.catchUp(o.log, o.checkpointWaitMs ?? 10_000);
    return r;
  }

  private async catchUp(log: LogClient, waitMs: number): Promise<void> {
    const barrier = (await log.add(Buffer.from(signRegistryEvent({ kind: "resume", at: this.o.clock.now(), id: randomBytes(12).toString("hex") }, this.o.signerKey)))).index;
    let size: number;
    for (const deadline = Date.now() + waitMs; ; await new Promise((r) => setTimeout(r, 50))) {
      size = parseCheckpoint(parseSignedNote(await log.checkpoint()).text).size;
      if (size > barrier) break;
      if (Date.now() >= deadline)
        throw new RegistryError(
          `the proof log published no checkpoint covering this verifier's resume event (entry ${barrier}) within ${waitMs} ms: refusing to serve a registry that may miss revocations`,
        );
    }
    const from = this.state.logSize;
    if (from > size) throw new RegistryError(`${this.o.store.description} was caught up to log size ${from}, but ${log.base} holds ${size} entries: the store belongs to another log`);
    const entries = from < size ? await log.entries(from, size, size) : [];
    for (const e of entries) for (const c of changesOfLogEntry(e, this.o.verifierKey, this.state.clocks)) await this.write(c);
    await this.write({ kind: "caught-up", logSize: size });
  }

  private async write(c: RegistryChange): Promise<void> {
    await this.o.store.write(c);
    applyChange(this.state, c);
  }

  private async logged(c: Extract<RegistryChange, { kind: "enrol" | "revoke" }>): Promise<void> {
    if (this.o.log) await this.o.log.add(Buffer.from(signRegistryEvent(c, this.o.signerKey)));
    await this.write(c);
  }

  enrolledAk(node: string): string | undefined {
    return this.state.enrolled.get(node)?.ak;
  }

  revocation(ak: string): Revoked | undefined {
    return this.state.revoked.get(akFingerprint(attestationKey(ak)));
  }

  /** Endorse a node's AK (after credential activation). Throws when the AK was revoked: the node needs a new one. */
  async enrol(node: string, ak: string): Promise<void> {
    const fingerprint = akFingerprint(attestationKey(ak));
    const r = this.state.revoked.get(fingerprint);
    if (r) throw new RegistryError(`AK ${fingerprint.slice(0, 16)}… was revoked by ${r.by} at ${new Date(r.at).toISOString()} (${r.reason}); enrol a new AK (tpm2_createak)`);
    await this.logged({ kind: "enrol", node, ak, fingerprint, at: this.o.clock.now() });
  }

  /** Revoke the AK `ak` (PEM) of `node`: never endorsed again; its enrolment, clock and the node's latest result go. */
  async revoke(node: string, ak: string, by: string, reason: string): Promise<{ fingerprint: string; at: number }> {
    const fingerprint = akFingerprint(attestationKey(ak));
    const at = this.o.clock.now();
    await this.logged({ kind: "revoke", node, fingerprint, at, by, reason });
    return { fingerprint, at };
  }

  /** After a result is logged: it is the node's latest, and the AK's clock (as the verifier left it) is kept. */
  async recordResult(node: string, note: string, ak: string): Promise<void> {
    await this.write({ kind: "result", node, note });
    const anchor = this.state.clocks.get(ak);
    if (anchor) await this.write({ kind: "clock", fingerprint: ak, anchor });
  }

  close(): Promise<void> {
    return this.o.store.close();
  }
}
