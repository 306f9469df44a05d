/**
 * What `attest serve` must not forget across restarts: the AKs nodes enrolled by credential activation, the AKs an
 * operator revoked, the TPM clocks nonce-fresh quotes registered (timestamp mode) and each node's latest signed
 * result. Every change is one `RegistryChange`, applied by `applyChange` — the one definition of its meaning that
 * the live service, the stores (store/registry-*.ts) and the replay of the proof log (recover.ts) share.
 *
 * A revoked AK stays revoked: it can never be enrolled again (the node makes a new AK), and its node's
 * enrolment, clock registration and latest result go with it. Nonces are deliberately not here: they stay in
 * memory, so a restart refuses every outstanding nonce as unknown and cannot revive a used one.
 *
 * With a proof log, enrolments and revocations are also signed notes in the log (next to the results), appended
 * before they are acknowledged: the log, not the store, is then the record, and a store restored from a stale
 * snapshot is caught up from it (recover.ts).
 */
import { newSigner, newVerifier, openNote, signNote } from "../../prooflog/index.js";
import { RESULT_TYPE, type AttestationResult } from "./result.js";
import { anchorOf, type ClockAnchor } from "./timestamp.js";

export interface Enrolled {
  /** The endorsed AK, PEM (SubjectPublicKeyInfo), and its fingerprint (SHA-256 of the SPKI, hex). */
  ak: string;
  fingerprint: string;
  at: number;
}

export interface Revoked {
  node: string;
  at: number;
  /** The operator who revoked it, from their verified credential (SPIFFE ID or JWT subject). */
  by: string;
  reason: string;
}

export interface RegistryState {
  enrolled: Map<string, Enrolled>;
  /** Revoked AKs by fingerprint. */
  revoked: Map<string, Revoked>;
  /** Registered TPM clocks by AK fingerprint. */
  clocks: Map<string, ClockAnchor>;
  /** The latest signed result per node (the note). */
  results: Map<string, string>;
  /** The proof-log size up to which the store has been caught up from the log (0: never). */
  logSize: number;
}

export type RegistryChange =
  | { kind: "enrol"; node: string; ak: string; fingerprint: string; at: number }
  | { kind: "revoke"; node: string; fingerprint: string; at: number; by: string; reason: string }
  | { kind: "clock"; fingerprint: string; anchor: ClockAnchor }
  | { kind: "result"; node: string; note: string }
  | { kind: "caught-up"; logSize: number };

export const emptyRegistry = (): RegistryState => ({ enrolled: new Map(), revoked: new Map(), clocks: new Map(), results: new Map(), logSize: 0 });

/** Apply one change in place. Idempotent, and order-faithful: replaying a log suffix over a newer state converges. */
export function applyChange(s: RegistryState, c: RegistryChange): void {
  switch (c.kind) {
    case "enrol":
      // Recorded, so it replaced the node's earlier AK when it happened. Replayed after its AK's revocation (a
      // stale store caught up from the log), it must still retire that earlier AK, else the node would keep it.
      if (s.revoked.has(c.fingerprint)) s.enrolled.delete(c.node);
      else s.enrolled.set(c.node, { ak: c.ak, fingerprint: c.fingerprint, at: c.at });
      return;
    case "revoke": {
      s.revoked.set(c.fingerprint, { node: c.node, at: c.at, by: c.by, reason: c.reason });
      for (const [node, e] of s.enrolled) if (e.fingerprint === c.fingerprint) s.enrolled.delete(node);
      s.clocks.delete(c.fingerprint);
      s.results.delete(c.node);
      return;
    }
    case "clock":
      if (!s.revoked.has(c.fingerprint)) s.clocks.set(c.fingerprint, c.anchor);
      return;
    case "result":
      s.results.set(c.node, c.note);
      return;
    case "caught-up":
      s.logSize = Math.max(s.logSize, c.logSize);
      return;
  }
}

const REGISTRY_TYPE = "meridian.attest-registry/v1";

/** A registry event as the proof-log entry: a note signed by the verifier, one JSON line. */
export function signRegistryEvent(c: Extract<RegistryChange, { kind: "enrol" | "revoke" }> | { kind: "resume"; at: number; id: string }, signerKey: string): string {
  return signNote(`${JSON.stringify({ type: REGISTRY_TYPE, ...c })}\n`, [newSigner(signerKey)]);
}

/**
 * The registry changes a proof-log entry carries, when it is signed by this verifier: an enrolment or
 * revocation event, or a result (its node's latest, and for an accepted TPM quote the clock it registered or
 * advanced — what verifier.ts did when it accepted it). Entries by anyone else carry none.
 */
export function changesOfLogEntry(entry: Uint8Array, verifierKey: string, clocks: ReadonlyMap<string, ClockAnchor>): RegistryChange[] {
  let text: string;
  try {
    text = openNote(Buffer.from(entry).toString("utf8"), [newVerifier(verifierKey)]).text;
  } catch {
    return [];
  }
  const doc = JSON.parse(text) as { type?: string; kind?: string } & Record<string, unknown>;
  if (doc.type === REGISTRY_TYPE && (doc.kind === "enrol" || doc.kind === "revoke")) {
    const { type: _type, ...change } = doc;
    return [change as unknown as RegistryChange];
  }
  if (doc.type !== RESULT_TYPE) return [];
  const r = doc as unknown as AttestationResult;
  const out: RegistryChange[] = r.node !== undefined ? [{ kind: "result", node: r.node, note: Buffer.from(entry).toString("utf8") }] : [];
  if (!r.accepted || (r.format ?? "tpm") !== "tpm" || !r.clock) return out;
  const at = Date.parse(r.appraisedAt);
  if (r.nonce !== "") out.push({ kind: "clock", fingerprint: r.ak, anchor: anchorOf(r.clock, at) });
  else {
    const anchor = clocks.get(r.ak);
    if (anchor) out.push({ kind: "clock", fingerprint: r.ak, anchor: { ...anchor, last: r.clock.clock, restartCount: r.clock.restartCount } });
  }
  return out;
}
